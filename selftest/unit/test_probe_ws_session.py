"""The WebSocket session probe (refusals, close codes, idle holds) against a real loopback server."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from infragate.probes import ws_session
from infragate.probes._base import Failure
from selftest.unit.servers import accept_silent, closed_port


class _Open:
    """How many sessions the server holds now, and the most it held at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.most = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *_: object) -> None:
        with self.lock:
            self.now -= 1


OPEN = _Open()


def _handler(ws: ServerConnection) -> None:
    path = ws.request.path if ws.request else "/"
    if path.startswith("/close"):
        ws.close(code=1008, reason="MISSING_TOKEN")
        return
    with OPEN, contextlib.suppress(ConnectionClosed):
        for message in ws:
            if path.startswith("/mute"):
                continue  # 101, then never a reply
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


def test_session_silent_after_101_is_ws_silent_not_unreachable() -> None:
    with ws_server() as port:
        s = ws_session.session(f"ws://127.0.0.1:{port}/mute", timeout=0.5)
    assert not s.accepted and s.status == 101 and s.failure is Failure.WS_SILENT
    assert not s.unreachable and "no reply" in (s.error or "")


def test_session_accepting_silent_port_is_silent() -> None:
    with accept_silent() as port:
        s = ws_session.session(f"ws://127.0.0.1:{port}/", timeout=0.5)
    assert s.status is None and s.failure is Failure.SILENT and not s.unreachable


def test_session_refused_port_is_refused() -> None:
    s = ws_session.session(f"ws://127.0.0.1:{closed_port()}/", timeout=1)
    assert s.failure is Failure.REFUSED


def test_hold_idle_is_capped_and_says_so() -> None:
    with ws_server() as port:
        held = ws_session.hold_idle(f"ws://127.0.0.1:{port}/", hold_s=75, timeout=2, max_hold_s=0.2)
    assert held.survived and held.capped and held.hold_s == 0.2 and held.requested_s == 75
    assert "capped" in held.bound


def test_hold_idle_silent_after_101_does_not_survive() -> None:
    with ws_server() as port:
        held = ws_session.hold_idle(f"ws://127.0.0.1:{port}/mute", hold_s=0.1, timeout=0.5)
    assert held.connected and not held.survived and held.failure is Failure.WS_SILENT
    assert not held.unreachable


def test_hold_idle_many_holds_endpoints_at_the_same_time() -> None:
    # Concurrency shown by the server, not by a clock: it held all three sessions at once.
    OPEN.most = 0
    with ws_server() as port:
        targets = [
            ws_session.HoldTarget(f"ws://127.0.0.1:{port}/a"),
            ws_session.HoldTarget(f"ws://127.0.0.1:{port}/b", message="hello"),
            ws_session.HoldTarget(f"ws://127.0.0.1:{port}/close"),
            ws_session.HoldTarget(f"ws://127.0.0.1:{closed_port()}/"),
        ]
        held = ws_session.hold_idle_many(targets, hold_s=0.5, timeout=2)
    assert [h.url for h in held] == [t.url for t in targets]
    assert [h.survived for h in held] == [True, True, False, False]
    assert held[2].close_code == 1008 and held[2].connected
    assert held[3].unreachable and held[3].failure is Failure.REFUSED
    assert OPEN.most >= 2
