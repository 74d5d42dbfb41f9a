"""WebSocket: handshake (expect 101) and one message round trip (``wscat -c``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from websockets.exceptions import InvalidHandshake, InvalidStatus, WebSocketException
from websockets.sync.client import connect

from infragate.probes._base import client_context, describe_error, is_unreachable, monotonic_ms

__all__ = ["WsExchange", "round_trip"]


@dataclass(frozen=True)
class WsExchange:
    """What a WebSocket client saw: the handshake status and the reply to one message."""

    url: str
    connected: bool
    status: int | None
    sent: str | None
    received: str | None
    elapsed_ms: float
    error: str | None = None
    unreachable: bool = False


def round_trip(
    url: str,
    *,
    message: str | None = "ping",
    timeout: float,
    cafile: Path | None = None,
    origin: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> WsExchange:
    """Open a WebSocket, send ``message``, wait for one reply, close."""
    start = monotonic_ms()
    ssl_ctx = client_context(cafile) if url.startswith("wss://") else None
    try:
        with connect(
            url,
            ssl=ssl_ctx,
            origin=origin,  # type: ignore[arg-type]
            additional_headers=dict(headers or {}),
            open_timeout=timeout,
            close_timeout=timeout,
        ) as ws:
            received = None
            if message is not None:
                ws.send(message)
                reply = ws.recv(timeout=timeout)
                received = reply if isinstance(reply, str) else reply.decode("utf-8", "replace")
            return WsExchange(url, True, 101, message, received, monotonic_ms() - start)
    except InvalidStatus as exc:
        status = exc.response.status_code
        return WsExchange(
            url,
            False,
            status,
            message,
            None,
            monotonic_ms() - start,
            error=f"handshake answered HTTP {status} instead of 101 Switching Protocols",
        )
    except (InvalidHandshake, WebSocketException, OSError, TimeoutError) as exc:
        return WsExchange(
            url,
            False,
            None,
            message,
            None,
            monotonic_ms() - start,
            error=describe_error(exc),
            unreachable=is_unreachable(exc),
        )
