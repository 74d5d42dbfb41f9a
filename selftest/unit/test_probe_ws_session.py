"""The WebSocket session probe (refusals, close codes, idle holds) against a real loopback server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from infragate.probes import ws_session
from selftest.unit.servers import closed_port


def _handler(ws: ServerConnection) -> None:
    path = ws.request.path if ws.request else "/"
    if path.startswith("/close"):
        ws.close(code=1008, reason="MISSING_TOKEN")
        return
    for message in ws:
        ws.send("pong" if message == "ping" else message)


def _refuse_foreign(ws: ServerConnection, request: Request) -> Response | None:
    if request.headers.get("Origin") == "https://evil.example":
        return ws.respond(403, "forbidden origin\n")
    return None


@contextmanager
def ws_server() -> Iterator[int]:
    """An echo server on 127.0.0.1: /close closes with 1008, a foreign Origin gets 403."""
    with serve(_handler, "127.0.0.1", 0, process_request=_refuse_foreign) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.socket.getsockname()[1]
        finally:
            server.shutdown()


def test_session_accepted_with_reply() -> None:
    with ws_server() as port:
        s = ws_session.session(f"ws://127.0.0.1:{port}/", timeout=2)
    assert s.accepted and s.reply == "pong" and s.refusal.startswith("accepted")


def test_session_closed_with_policy_code() -> None:
    with ws_server() as port:
        s = ws_session.session(f"ws://127.0.0.1:{port}/close", timeout=2)
    assert not s.accepted and s.close_code == 1008 and "1008" in s.refusal and not s.unreachable


def test_session_refused_origin_is_http_403() -> None:
    with ws_server() as port:
        s = ws_session.session(f"ws://127.0.0.1:{port}/", timeout=2, origin="https://evil.example")
    assert not s.accepted and s.status == 403 and "HTTP 403" in s.refusal


def test_session_refused_port_is_unreachable() -> None:
    s = ws_session.session(f"ws://127.0.0.1:{closed_port()}/", timeout=1)
    assert not s.accepted and s.unreachable


def test_hold_idle_survives() -> None:
    with ws_server() as port:
        held = ws_session.hold_idle(f"ws://127.0.0.1:{port}/", hold_s=0.2, timeout=2)
    assert held.connected and held.survived


def test_hold_idle_reports_cut_session() -> None:
    with ws_server() as port:
        held = ws_session.hold_idle(f"ws://127.0.0.1:{port}/close", hold_s=0.2, timeout=2)
    assert held.connected and not held.survived and held.close_code == 1008
