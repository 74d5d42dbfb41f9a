"""WebSocket endpoints (probes: websocket, ws_session, ws_socketio).

An endpoint speaks a ``protocol`` (plain WebSocket frames, or Socket.IO 5 over Engine.IO 4), may need a
token (from an auth entry or an environment variable) placed where its server reads it, and declares
what the reply to its message must look like (default: the message echoed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from infragate.inventory._validate import Invalid, LocalFile, Regex, Secret, WsUrl
from infragate.inventory.request import Condition

__all__ = ["Reply", "WebSocket", "WebSocketEndpoint"]

TOKEN = "{token}"


@dataclass(frozen=True)
class Reply:
    """What the reply to the message must be; every key given must hold (none: any reply).

    For Socket.IO the reply is the event's data (one argument: that value; several: the list), as text
    when it is a string, else as JSON. ``json`` conditions read the reply parsed as JSON (JMESPath paths).
    """

    equals: str | None = None
    prefix: str | None = None
    matches: Regex | None = None
    json: tuple[Condition, ...] = ()

    def describe(self) -> str:
        """The expectation in words (``a reply starting with 'pong'``)."""
        parts = []
        if self.equals is not None:
            parts.append(f"{self.equals!r}")
        if self.prefix is not None:
            parts.append(f"starting with {self.prefix!r}")
        if self.matches is not None:
            parts.append(f"matching /{self.matches}/")
        parts.extend(f"JSON {c.describe()}" for c in self.json)
        return "a reply " + ", ".join(parts) if parts else "any reply"


@dataclass(frozen=True)
class WebSocketEndpoint:
    """A WebSocket URL, reached directly (backend) or through the proxy."""

    name: str
    url: WsUrl
    via: Literal["direct", "proxy"] = "direct"
    # "raw": text frames as declared; "socketio": Engine.IO 4 / Socket.IO 5 (url: its path, /socket.io/)
    protocol: Literal["raw", "socketio"] = "raw"
    message: str = "ping"
    expect_reply: str | None = None  # shorthand for reply = { equals = ... }
    reply: Reply | None = None
    # Socket.IO: the namespace joined with CONNECT, the event emitted with ``message`` as its data, and the
    # event awaited as the reply (None: the acknowledgement of the emitted event)
    namespace: str = "/"
    event: str = "message"
    expect_event: str | None = None
    origin: str | None = None
    ca_bundle: LocalFile | None = None
    # service area: a token is required (WS-AUTH-REQUIRED). ``auth``: true (the first auth entry) or the
    # name of an auth entry whose access token is presented; ``token_env``: a static token instead.
    auth: Any = False
    token_env: Secret | None = None
    token_in: Literal["query", "header", "subprotocol", "auth"] = "query"
    token_param: str = "token"  # query: ?<token_param>=<token>
    token_header: str = "Authorization"  # header: <token_header>: <token_format>
    token_format: str = "Bearer {token}"
    subprotocols: tuple[str, ...] = ()  # offered in Sec-WebSocket-Protocol; subprotocol: "{token}" filled
    token_field: str = "token"  # auth: the Socket.IO CONNECT auth payload {<token_field>: <token>}
    allowed_origins: tuple[str, ...] = ()
    denied_origins: tuple[str, ...] = ()
    hold_s: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.auth, (bool, str)) or self.auth == "":
            raise Invalid("auth", "must be true, false or the name of an auth entry")
        if self.auth is not False and self.token_env is not None:
            raise Invalid("token_env", "auth and token_env are exclusive: the token comes from one of them")
        if self.reply is not None and self.expect_reply is not None:
            raise Invalid("reply", "reply and expect_reply are exclusive (expect_reply = reply.equals)")
        if self.token_in == "auth" and self.protocol != "socketio":
            raise Invalid("token_in", "'auth' is the Socket.IO CONNECT payload: needs protocol = 'socketio'")
        if self.token_in == "header" and TOKEN not in self.token_format:
            raise Invalid("token_format", f"must contain {TOKEN} (e.g. 'Bearer {TOKEN}')")
        if (
            self.token_in == "subprotocol"
            and self.subprotocols
            and not any(TOKEN in s for s in self.subprotocols)
        ):
            raise Invalid("subprotocols", f"one item must contain {TOKEN} when token_in = 'subprotocol'")
        if not self.namespace.startswith("/"):
            raise Invalid("namespace", "must start with '/' (the default namespace is '/')")

    @property
    def needs_token(self) -> bool:
        """The endpoint declares a token source: sessions without a valid token must be refused."""
        return self.auth is not False or self.token_env is not None

    @property
    def auth_name(self) -> str | None:
        """The auth entry named by ``auth`` (None: the first one, when ``auth = true``)."""
        return self.auth if isinstance(self.auth, str) else None

    @property
    def expected_reply(self) -> Reply:
        """The reply matcher: ``reply``, else ``expect_reply``, else the message echoed."""
        if self.reply is not None:
            return self.reply
        return Reply(equals=self.expect_reply if self.expect_reply is not None else self.message)

    @property
    def offered_subprotocols(self) -> tuple[str, ...]:
        """Subprotocols to offer; a token placed in the subprotocol defaults to ``["{token}"]``."""
        if self.token_in == "subprotocol" and not self.subprotocols:
            return (TOKEN,)
        return self.subprotocols


@dataclass(frozen=True)
class WebSocket:
    """WebSocket checks of a target."""

    endpoints: tuple[WebSocketEndpoint, ...] = ()
