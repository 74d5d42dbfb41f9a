"""Rendering of every configuration file from stack/templates, for the healthy state or active faults."""

from __future__ import annotations

import json
import os
import re
import resource
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from stack.layout import TEMPLATES, Layout, Ports
from stack.tls import TlsFiles

_PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")

# The two lines of runbook 000's WebSocket location that the ws-headers-removed fault drops.
WS_UPGRADE_LINES = (
    "            proxy_set_header Upgrade $http_upgrade;\n",
    '            proxy_set_header Connection "upgrade";\n',
)
HEALTHY_SSL_PROTOCOLS = "TLSv1.2 TLSv1.3"
# OpenSSL 3 refuses TLS 1.0/1.1 at the default security level even when the protocols are enabled.
LEGACY_SSL_PROTOCOLS = "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3"
LEGACY_SSL_CIPHERS = "        ssl_ciphers DEFAULT:@SECLEVEL=0;"

DEFAULT_CORS: dict[str, Any] = {
    "mode": "allow-list",
    "allow_origins": ["https://app.example.test", "http://localhost:3000"],
    "allow_credentials": True,
    "allow_methods": ["GET", "POST", "OPTIONS"],
    "allow_headers": ["Authorization", "Content-Type"],
}
API_SLOW_MS = 1500

# Fault names whose effect is a configuration variant (the others stop a part or swap a file).
CERT_FAULTS = {"cert-expired": "expired", "cert-untrusted": "untrusted", "cert-wrong-host": "wrong-host"}
TLS10_FAULT = "tls10-enabled"
WS_HEADERS_FAULT = "ws-headers-removed"
CORS_WILDCARD_FAULT = "cors-wildcard-credentials"
CORS_ORIGIN_FAULT = "cors-origin-missing"
API_SLOW_FAULT = "api-slow"
# Service area: nginx's /ws location times out idle sessions (WS-KEEPALIVE).
WS_READ_TIMEOUT_FAULT = "ws-proxy-read-timeout"
WS_READ_TIMEOUT_LINE = "            proxy_read_timeout 3600s;\n"
WS_READ_TIMEOUT_FAULTY = "            proxy_read_timeout 1s;\n"


def render(template: str, values: Mapping[str, object]) -> str:
    """Fill @@NAME@@ placeholders of stack/templates/TEMPLATE; every placeholder must have a value."""
    text = (TEMPLATES / template).read_text()

    def fill(match: re.Match[str]) -> str:
        return str(values[match.group(1)])

    return _PLACEHOLDER.sub(fill, text)


def write_if_changed(path: Path, text: str, mode: int = 0o644) -> bool:
    """Atomically write `text` unless the file already holds it; True when written."""
    try:
        if path.read_text() == text and (path.stat().st_mode & 0o777) == mode:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True


def _nofile_limit(wanted: int = 40000) -> int:
    """Open files nginx may ask for: 40000 for 5,000+ proxied WebSockets, capped at the hard limit.

    Asking above the hard limit makes every worker log '[alert] setrlimit(RLIMIT_NOFILE) failed', which a
    log check would rightly flag; this machine's hard limit is 20000.
    """
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)


def nginx_conf(lay: Layout, ports: Ports, active: Collection[str]) -> str:
    """nginx.conf for the given set of active faults (empty set: the healthy configuration)."""
    tls = TlsFiles(lay.tls)
    cert, key = tls.server_chain, tls.server_key
    for fault, kind in CERT_FAULTS.items():
        if fault in active:
            cert, key = tls.fault_chain(kind), tls.fault_key(kind)
    legacy = TLS10_FAULT in active
    text = render(
        "nginx.conf.tmpl",
        {
            "NGINX_DIR": lay.nginx,
            "NOFILE": _nofile_limit(),
            "LOG_DIR": lay.logs,
            "SERVICE_PORT": ports.service,
            "HTTP_PORT": ports.nginx_http,
            "HTTPS_PORT": ports.nginx_https,
            "SSL_CERTIFICATE": cert,
            "SSL_CERTIFICATE_KEY": key,
            "SSL_PROTOCOLS": LEGACY_SSL_PROTOCOLS if legacy else HEALTHY_SSL_PROTOCOLS,
            "SSL_CIPHERS_LINE": LEGACY_SSL_CIPHERS if legacy else "        # ssl_ciphers: nginx's default",
        },
    )
    if WS_HEADERS_FAULT in active:
        for line in WS_UPGRADE_LINES:
            if text.count(line) != 1:
                raise RuntimeError(f"nginx template: expected exactly one {line.strip()!r}")
            text = text.replace(line, "")
    if WS_READ_TIMEOUT_FAULT in active:
        if text.count(WS_READ_TIMEOUT_LINE) != 1:
            raise RuntimeError(f"nginx template: expected exactly one {WS_READ_TIMEOUT_LINE.strip()!r}")
        text = text.replace(WS_READ_TIMEOUT_LINE, WS_READ_TIMEOUT_FAULTY)
    return text


def cors_config(active: Collection[str]) -> str:
    """cors.json of the sample service for the given set of active faults."""
    cfg = json.loads(json.dumps(DEFAULT_CORS))
    if CORS_ORIGIN_FAULT in active:
        cfg["allow_origins"] = [o for o in cfg["allow_origins"] if o != "https://app.example.test"]
    if CORS_WILDCARD_FAULT in active:
        cfg["mode"] = "wildcard-credentials"
    return json.dumps(cfg, indent=2) + "\n"


def api_latency(active: Collection[str]) -> int:
    """Injected /api/* latency in ms (0: none)."""
    return API_SLOW_MS if API_SLOW_FAULT in active else 0


def redis_quote(value: str) -> str:
    """Quote a value for redis.conf (double quotes with backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sql_literal(value: str) -> str:
    """A standard-conforming SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
