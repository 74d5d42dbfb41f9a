"""Small network probes used for readiness and to observe that a fault (or its heal) is live."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect as ws_connect

from infragate.probes import tls as tls_probe
from stack.layout import LOOPBACK

TIMEOUT = 2.0
# Never go through an HTTP proxy from the environment: every target is on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(port: int, path: str, timeout: float = TIMEOUT) -> tuple[int, bytes]:
    """Plain HTTP GET on 127.0.0.1; (status, body), HTTP errors included."""
    try:
        with _OPENER.open(f"http://{LOOPBACK}:{port}{path}", timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def http_ok_json(port: int, path: str, key: str, value: str) -> bool:
    """True when GET answers 200 with JSON whose `key` equals `value`."""
    status, body = http_get(port, path)
    return status == 200 and json.loads(body).get(key) == value


def http_status_ok(port: int, path: str) -> bool:
    """True when GET answers 200 (Prometheus and Alertmanager /-/ready)."""
    return http_get(port, path)[0] == 200


def verified_context(ca: Path) -> ssl.SSLContext:
    """A client context trusting only our root CA, with hostname checking."""
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.check_hostname = True
    return ctx


def https_get(port: int, path: str, ca: Path, server_name: str = "localhost") -> int:
    """HTTPS GET to 127.0.0.1 with SNI/hostname `server_name`, verified against our CA; returns the status."""
    ctx = verified_context(ca)
    with (
        socket.create_connection((LOOPBACK, port), timeout=TIMEOUT) as raw,
        ctx.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n".encode())
        head = tls.recv(64).decode("latin-1")
    return int(head.split()[1])


def served_leaf_der(port: int, server_name: str = "localhost") -> bytes:
    """The leaf certificate the server presents (no verification: we want to see whatever it serves)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((LOOPBACK, port), timeout=TIMEOUT) as raw,
        ctx.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if der is None:
        raise ssl.SSLError("no peer certificate")
    return der


def tls10_accepted(port: int) -> bool:
    """True when a TLS 1.0-only handshake succeeds (OpenSSL 3 needs SECLEVEL=0 on both sides for that)."""
    # infragate's probe pins the version without Python's DeprecationWarning escaping (which pytest's
    # filterwarnings=error would turn into an exception inside the self-test).
    probe = tls_probe.protocol_accepted(LOOPBACK, port, "TLSv1", server_name="localhost", timeout=TIMEOUT)
    return probe.accepted


def ws_echo(url: str, ca: Path | None = None) -> bool:
    """True when a WebSocket handshake to `url` succeeds and `ping` is answered with `pong`."""
    ctx = verified_context(ca) if ca is not None and url.startswith("wss://") else None
    try:
        with ws_connect(url, ssl=ctx, proxy=None, open_timeout=TIMEOUT, close_timeout=1) as ws:
            ws.send("ping")
            return ws.recv(timeout=TIMEOUT) == "pong"
    except (InvalidStatus, WebSocketException, OSError, TimeoutError):
        return False


def preflight_allow_origin(port: int, origin: str) -> str | None:
    """The Access-Control-Allow-Origin of a CORS preflight sent straight to the service (None if absent)."""
    req = urllib.request.Request(
        f"http://{LOOPBACK}:{port}/api/items",
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    try:
        with _OPENER.open(req, timeout=TIMEOUT) as resp:
            value = resp.headers.get("Access-Control-Allow-Origin")
    except urllib.error.HTTPError as err:
        value = err.headers.get("Access-Control-Allow-Origin")
    return str(value) if value is not None else None


def api_latency_s(port: int, timeout: float = 5.0) -> float:
    """Seconds one GET /api/items takes straight from the service."""
    start = time.monotonic()
    with contextlib.closing(_OPENER.open(f"http://{LOOPBACK}:{port}/api/items", timeout=timeout)):
        pass
    return time.monotonic() - start


def ssh_banner(port: int) -> bool:
    """True when the port greets with an SSH identification string."""
    with socket.create_connection((LOOPBACK, port), timeout=TIMEOUT) as sock:
        sock.settimeout(TIMEOUT)
        return sock.recv(64).startswith(b"SSH-")
