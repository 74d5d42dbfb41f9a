"""Every network probe returns within its deadline, with the right diagnosis, against hostile servers.

Termination, not speed: each probe runs in a thread joined with a generous limit (30 s) that fails the
test if the probe never returns. No timed assertion here (speed belongs in bench/dead_target.py).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme

from infragate.probes import cors, http, tcp, tls, websocket, ws_session
from infragate.probes._base import Attempt, Failure, Timeout, run_within, shutdown_socket
from selftest.unit.servers import accept_silent, full_backlog, http_server, reply

FAST = Timeout(connect=0.5, read=0.5)
GUARD_S = 30.0  # far above any deadline here: only a probe that never returns reaches it


def finishes(call: Callable[[], Any]) -> Any:
    """The probe's result; fails the test when the probe has not returned after GUARD_S."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(call()), daemon=True)
    thread.start()
    thread.join(GUARD_S)
    if thread.is_alive():
        pytest.fail(f"probe still running after {GUARD_S:g} s: it has no working deadline")
    assert box, "the probe raised instead of returning facts"
    return box[0]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A 'TLS' port that accepts every connection and never sends a byte."""
    with accept_silent() as port:
        yield port


SILENT_PROBES: dict[str, Callable[[int], Any]] = {
    "https": lambda port: http.request(f"https://127.0.0.1:{port}/", timeout=FAST),
    "http": lambda port: http.request(f"http://127.0.0.1:{port}/", timeout=FAST),
    "cors": lambda port: cors.preflight(
        f"https://127.0.0.1:{port}/", origin="https://a.test", method="GET", timeout=FAST
    ),
    "tls-handshake": lambda port: tls.handshake("127.0.0.1", port, timeout=0.5, read_timeout=0.5),
    "tls-version": lambda port: tls.protocol_accepted("127.0.0.1", port, "TLSv1.2", timeout=0.5),
    "wss-round-trip": lambda port: websocket.round_trip(
        f"wss://127.0.0.1:{port}/", timeout=0.5, connect_timeout=0.5
    ),
    "wss-session": lambda port: ws_session.session(f"wss://127.0.0.1:{port}/", timeout=0.5),
    "wss-hold": lambda port: ws_session.hold_idle(f"wss://127.0.0.1:{port}/", hold_s=0.1, timeout=0.5),
}


@pytest.mark.parametrize("probe", SILENT_PROBES, ids=list(SILENT_PROBES))
def test_probe_on_silent_tls_port_returns_silent(probe: str, silent_port: int) -> None:
    result = finishes(lambda: SILENT_PROBES[probe](silent_port))
    assert result.failure is Failure.SILENT, result
    assert not result.unreachable  # accepted: the endpoint is there, it does not answer
    assert result.error


def test_tcp_connect_on_silent_port_succeeds() -> None:
    with accept_silent() as port:
        result = finishes(lambda: tcp.connect("127.0.0.1", port, timeout=0.5))
    assert result.ok and result.failure is None


BLACKHOLE_PROBES: dict[str, Callable[[int], Any]] = {
    "tcp": lambda port: tcp.connect("127.0.0.1", port, timeout=0.5),
    "https": lambda port: http.request(f"https://127.0.0.1:{port}/", timeout=FAST),
    "tls-handshake": lambda port: tls.handshake("127.0.0.1", port, timeout=0.5),
    "wss-round-trip": lambda port: websocket.round_trip(f"wss://127.0.0.1:{port}/", timeout=0.5),
    "ws-session": lambda port: ws_session.session(f"ws://127.0.0.1:{port}/", timeout=0.5),
}


@pytest.mark.parametrize("probe", BLACKHOLE_PROBES, ids=list(BLACKHOLE_PROBES))
def test_probe_on_blackhole_is_connect_timeout_and_unreachable(probe: str) -> None:
    with full_backlog() as port:
        result = finishes(lambda: BLACKHOLE_PROBES[probe](port))
    assert result.failure is Failure.CONNECT_TIMEOUT, result
    assert result.unreachable


def test_websocket_505_names_proxy_http_version() -> None:
    with http_server(reply(505, "HTTP/1.0 not supported"), protocol="HTTP/1.1") as port:
        result = finishes(lambda: websocket.round_trip(f"ws://127.0.0.1:{port}/", timeout=2))
    assert result.status == 505 and result.failure is Failure.HTTP and not result.unreachable
    assert "proxy_http_version 1.1" in (result.hint or "") and "proxy_http_version 1.1" in (
        result.error or ""
    )


def test_wss_with_untrusted_certificate_is_tls_failure() -> None:
    ca = trustme.CA()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(ctx)
    with http_server(reply(200, "ok"), tls=ctx) as port:
        result = finishes(lambda: websocket.round_trip(f"wss://localhost:{port}/", timeout=2))
    assert result.failure is Failure.TLS and not result.unreachable and not result.connected


def test_run_within_abandons_a_blocked_worker_and_closes_its_socket() -> None:
    # A worker blocked in recv() without any timeout: only the deadline gets the caller back.
    left, right = socket.socketpair()
    seen: list[BaseException] = []

    def work(attempt: Attempt) -> str:
        attempt.on_abort(shutdown_socket(left))
        try:
            left.recv(1)  # the peer never writes
        except OSError as exc:  # unblocked by the abort
            seen.append(exc)
        return "unblocked"

    try:
        result = finishes(lambda: run_within(0.3, work, expired=lambda a: a.expired_text()))
    finally:
        right.close()
    assert "deadline" in result and "connect timed out" in result
    assert left.fileno() == -1  # closed by the abort


def test_run_within_reraises_the_worker_exception() -> None:
    def work(_: Attempt) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_within(5, work, expired=lambda _: None)


def test_failure_kinds_say_what_is_endpoint_level() -> None:
    assert all(k.connect_level and k.endpoint_level for k in (Failure.REFUSED, Failure.CONNECT_TIMEOUT))
    assert Failure.SILENT.endpoint_level and not Failure.SILENT.connect_level
    # a WebSocket silent after 101 is that check's failure, never the endpoint's
    assert not Failure.WS_SILENT.endpoint_level and not Failure.WS_SILENT.connect_level
    assert not any(k.endpoint_level for k in (Failure.TLS, Failure.HTTP, Failure.CLOSED))
