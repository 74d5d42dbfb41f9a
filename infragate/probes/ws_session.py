"""WebSocket sessions beyond one echo: refused handshakes, close codes, and idle sessions held open."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import connect
from websockets.typing import Origin

from infragate.probes._base import client_context, describe_error, is_unreachable, monotonic_ms

__all__ = ["WsHold", "WsSession", "hold_idle", "session"]


@dataclass(frozen=True)
class WsSession:
    """A handshake and one message: ``accepted`` means 101 and a reply; otherwise how it was refused."""

    url: str
    accepted: bool
    status: int | None
    close_code: int | None
    close_reason: str
    reply: str | None
    elapsed_ms: float
    error: str | None = None
    unreachable: bool = False

    @property
    def refusal(self) -> str:
        """How the server refused (or 'accepted')."""
        if self.accepted:
            return f"accepted (101, reply {self.reply!r})"
        if self.status is not None and self.status != 101:
            return f"handshake refused with HTTP {self.status}"
        if self.close_code is not None:
            return f"closed with code {self.close_code} {self.close_reason!r}".rstrip()
        return self.error or "refused"


def _text(reply: str | bytes) -> str:
    return reply if isinstance(reply, str) else reply.decode("utf-8", "replace")


def session(
    url: str,
    *,
    timeout: float,
    message: str = "ping",
    origin: str | None = None,
    cafile: Path | None = None,
) -> WsSession:
    """Open ``url`` (with ``Origin`` when given), send ``message``, wait for a reply or a close."""
    start = monotonic_ms()
    ssl_ctx = client_context(cafile) if url.startswith("wss://") else None
    try:
        with connect(
            url,
            ssl=ssl_ctx,
            origin=Origin(origin) if origin is not None else None,
            open_timeout=timeout,
            close_timeout=timeout,
        ) as ws:
            try:
                ws.send(message)
                reply = _text(ws.recv(timeout=timeout))
            except ConnectionClosed as closed:
                rcvd = closed.rcvd
                return WsSession(
                    url,
                    False,
                    101,
                    rcvd.code if rcvd else None,
                    rcvd.reason if rcvd else "",
                    None,
                    monotonic_ms() - start,
                    error="closed by the server",
                )
            return WsSession(url, True, 101, None, "", reply, monotonic_ms() - start)
    except InvalidStatus as exc:
        status = exc.response.status_code
        return WsSession(url, False, status, None, "", None, monotonic_ms() - start, error=f"HTTP {status}")
    except (WebSocketException, OSError, TimeoutError) as exc:
        return WsSession(
            url,
            False,
            None,
            None,
            "",
            None,
            monotonic_ms() - start,
            error=describe_error(exc),
            unreachable=is_unreachable(exc),
        )


@dataclass(frozen=True)
class WsHold:
    """An idle session: whether it still answered after ``hold_s`` without any frame sent."""

    url: str
    hold_s: float
    connected: bool
    survived: bool
    close_code: int | None = None
    error: str | None = None
    unreachable: bool = False


def hold_idle(
    url: str, *, hold_s: float, timeout: float, message: str = "ping", cafile: Path | None = None
) -> WsHold:
    """Connect, stay idle (no data, no client pings) for ``hold_s``, then ping and exchange ``message``."""
    ssl_ctx = client_context(cafile) if url.startswith("wss://") else None
    try:
        ws = connect(url, ssl=ssl_ctx, open_timeout=timeout, close_timeout=timeout, ping_interval=None)
    except (WebSocketException, OSError, TimeoutError) as exc:
        return WsHold(url, hold_s, False, False, error=describe_error(exc), unreachable=is_unreachable(exc))
    with ws:
        time.sleep(hold_s)  # the behaviour under test is idleness itself
        try:
            if not ws.ping().wait(timeout):
                return WsHold(url, hold_s, True, False, error=f"no pong within {timeout:g} s")
            ws.send(message)
            ws.recv(timeout=timeout)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            return WsHold(url, hold_s, True, False, code, f"connection closed ({closed})")
        except (WebSocketException, OSError, TimeoutError) as exc:
            return WsHold(url, hold_s, True, False, error=describe_error(exc))
    return WsHold(url, hold_s, True, True)
