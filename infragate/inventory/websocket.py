"""WebSocket endpoints (probes: websocket, ws_session)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["WebSocket", "WebSocketEndpoint"]


@dataclass(frozen=True)
class WebSocketEndpoint:
    """A WebSocket URL, reached directly (backend) or through the proxy."""

    name: str
    url: str
    via: Literal["direct", "proxy"] = "direct"
    message: str = "ping"
    expect_reply: str | None = None
    origin: str | None = None
    ca_bundle: Path | None = None
    # service area: a token from [auth] is required; Origin allow-list; idle hold (WS-KEEPALIVE)
    auth: bool = False
    token_param: str = "token"
    allowed_origins: tuple[str, ...] = ()
    denied_origins: tuple[str, ...] = ()
    hold_s: float | None = None


@dataclass(frozen=True)
class WebSocket:
    """WebSocket checks of a target."""

    endpoints: tuple[WebSocketEndpoint, ...] = ()
