"""WebSocket facts: round trips (WS-CONNECT-*), sessions with a valid, missing or bad token
(WS-AUTH-REQUIRED, WS-ORIGIN-CHECK) and idle holds (WS-KEEPALIVE), in the endpoint's declared protocol.

The token comes from an auth entry (``auth = true`` or its name; one login per account per run through
the ``access_token`` fact) or from ``token_env``, and goes where the endpoint says (query, header,
subprotocol, Socket.IO auth payload). It never appears in a result: URLs and texts are scrubbed here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from infragate.facts import Context, fact, host_side
from infragate.inventory.websocket import TOKEN
from infragate.probes import websocket, ws_session
from infragate.probes.conditions import redact
from infragate.probes.ws_socketio import SocketIo

if TYPE_CHECKING:
    from infragate.inventory import Auth, WebSocketEndpoint
    from infragate.probes.websocket import Conversation, WsExchange
    from infragate.probes.ws_session import WsHold, WsSession

__all__ = ["Dial", "auth_entry", "dial"]

R = TypeVar("R")

# "bad": a token no server issued; "missing": none at all (no query parameter, header, subprotocol item
# or auth payload field).
BAD_TOKEN = "not-a-valid-token"
PRESENTED = ("valid", "missing", "bad")


def auth_entry(ctx: Context, name: str | None) -> Auth | None:
    """The auth entry called ``name`` (None: the first), whether the target declares one or several."""
    declared = ctx.target.auth
    entries: tuple[Auth, ...]
    if declared is None:
        entries = ()
    elif isinstance(declared, (tuple, list)):
        entries = tuple(declared)
    else:
        entries = (declared,)
    if name is None:
        return entries[0] if entries else None
    return next((e for e in entries if e.name == name), None)


@dataclass(frozen=True)
class Dial:
    """How to open a session on an endpoint: URL, headers, subprotocols and the conversation."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    subprotocols: tuple[str, ...] = ()
    conversation: Conversation = websocket.RAW


def dial(endpoint: WebSocketEndpoint, token: str | None) -> Dial:
    """The endpoint's session with ``token`` (None: no token) placed where the endpoint reads it."""
    url, headers = endpoint.url, {}
    subprotocols = tuple(s for s in endpoint.offered_subprotocols if TOKEN not in s)
    auth_payload: dict[str, Any] | None = None
    if token is not None:
        if endpoint.token_in == "query":
            parts = urlsplit(url)
            query = [*parse_qsl(parts.query, keep_blank_values=True), (endpoint.token_param, token)]
            url = urlunsplit(parts._replace(query=urlencode(query)))
        elif endpoint.token_in == "header":
            headers[endpoint.token_header] = endpoint.token_format.replace(TOKEN, token)
        elif endpoint.token_in == "subprotocol":
            subprotocols = tuple(s.replace(TOKEN, token) for s in endpoint.offered_subprotocols)
        else:
            auth_payload = {endpoint.token_field: token}
    conversation: Conversation = websocket.RAW
    if endpoint.protocol == "socketio":
        conversation = SocketIo(endpoint.namespace, auth_payload, endpoint.event, endpoint.expect_event)
    return Dial(url, headers, subprotocols, conversation)


def _token(ctx: Context, endpoint: WebSocketEndpoint, presented: str) -> tuple[str | None, str | None]:
    """The token to present and, when a valid one cannot be had, why (never the token's value)."""
    if presented == "missing":
        return None, None
    if presented == "bad":
        return BAD_TOKEN, None
    if endpoint.token_env is not None:
        return endpoint.token_env.value, None
    entry = auth_entry(ctx, endpoint.auth_name)
    if entry is None:
        wanted = f"auth entry {endpoint.auth_name!r}" if endpoint.auth_name else "auth entry"
        return None, f"the target declares no {wanted} to take a token from"
    token = ctx.get("access_token", entry)
    if not isinstance(token, str) or not token:
        return None, f"no access token from auth entry {entry.name!r} ({entry.login_url}) to present"
    return token, None


def _scrub(result: R, endpoint: WebSocketEndpoint, token: str | None) -> R:
    """``result`` with the declared URL and every text free of the token's value."""
    secrets = [token] if token else []
    changes: dict[str, Any] = {"url": endpoint.url}
    for name in ("error", "received", "reply", "refused", "mismatch", "close_reason"):
        value = getattr(result, name, None)
        if isinstance(value, str):
            changes[name] = redact(value, secrets)
    return dataclasses.replace(result, **changes)  # type: ignore[type-var]


@fact("websocket")
def round_trip(ctx: Context, endpoint: WebSocketEndpoint) -> WsExchange:
    """A WebSocket handshake, the protocol's opening (with a valid token when the endpoint needs one) and
    one message round trip judged by the endpoint's reply matcher."""
    token, why = _token(ctx, endpoint, "valid") if endpoint.needs_token else (None, None)
    if why is not None:
        return websocket.WsExchange(endpoint.url, False, None, endpoint.message, None, 0.0, error=why)
    how = dial(endpoint, token)
    exchange = websocket.round_trip(
        how.url,
        message=endpoint.message,
        timeout=ctx.timeout.read,
        connect_timeout=ctx.timeout.connect,
        origin=endpoint.origin,
        cafile=ctx.trust(endpoint),
        headers=how.headers,
        subprotocols=how.subprotocols,
        conversation=how.conversation,
        reply=endpoint.expected_reply,
    )
    return _scrub(exchange, endpoint, token)


@fact()
def ws(ctx: Context, endpoint: WebSocketEndpoint, presented: str, origin: str | None) -> WsSession:
    """A session on the endpoint presenting a valid, missing or bad token, from ``origin`` (None: none)."""
    if presented not in PRESENTED:
        raise ValueError(f"presented must be one of {', '.join(PRESENTED)}, not {presented!r}")
    token, why = _token(ctx, endpoint, presented)
    if why is not None:
        return ws_session.WsSession(endpoint.url, False, None, None, "", None, 0.0, error=why)
    how = dial(endpoint, token)
    session = ws_session.session(
        how.url,
        timeout=ctx.timeout.read,
        connect_timeout=ctx.timeout.connect,
        message=endpoint.message,
        origin=origin if origin is not None else endpoint.origin,
        cafile=ctx.trust(endpoint),
        headers=how.headers,
        subprotocols=how.subprotocols,
        conversation=how.conversation,
    )
    return _scrub(session, endpoint, token)


def _hold_target(
    ctx: Context, endpoint: WebSocketEndpoint
) -> tuple[ws_session.HoldTarget | None, str | None]:
    token, why = _token(ctx, endpoint, "valid") if endpoint.needs_token else (None, None)
    if why is not None:
        return None, why
    how = dial(endpoint, token)
    target = ws_session.HoldTarget(
        how.url, endpoint.message, ctx.trust(endpoint), how.headers, how.subprotocols, how.conversation
    )
    return target, None


@fact(endpoint=host_side)
def ws_holds(ctx: Context, hold_s: float) -> dict[str, WsHold]:
    """Every proxied endpoint's idle session held at the same time for ``hold_s`` seconds, by name.

    WS-KEEPALIVE holds for tens of seconds (75 s on a real target): one concurrent hold for all the
    endpoints costs one hold, not one per endpoint.
    """
    # Endpoints whose own hold_s differs are held in their own group (the test resolves each one's).
    declared = ctx.target.websocket.endpoints if ctx.target.websocket else ()
    endpoints = [e for e in declared if e.via == "proxy" and e.hold_s in (None, hold_s)]
    held: dict[str, WsHold] = {}
    runnable: list[tuple[WebSocketEndpoint, ws_session.HoldTarget]] = []
    for endpoint in endpoints:
        target, why = _hold_target(ctx, endpoint)
        if target is None:
            held[endpoint.name] = ws_session.WsHold(
                endpoint.url, hold_s, False, False, error=why, requested_s=hold_s
            )
        else:
            runnable.append((endpoint, target))
    results = ws_session.hold_idle_many(
        [t for _, t in runnable], hold_s=hold_s, timeout=ctx.timeout.read, connect_timeout=ctx.timeout.connect
    )
    for (endpoint, _), result in zip(runnable, results, strict=True):
        token, _why = _token(ctx, endpoint, "valid") if endpoint.needs_token else (None, None)
        held[endpoint.name] = _scrub(result, endpoint, token)
    return held


@fact()
def ws_hold(ctx: Context, endpoint: WebSocketEndpoint, hold_s: float) -> WsHold:
    """An idle session (with a valid token when the endpoint needs one) held ``hold_s`` seconds, then
    pinged and one message exchanged: read from the run's one concurrent hold when the endpoint is
    proxied (every proxied endpoint held together), else held alone."""
    if endpoint.via == "proxy":
        together: dict[str, WsHold] = ctx.get("ws_holds", hold_s)
        if endpoint.name in together:
            return together[endpoint.name]
    target, why = _hold_target(ctx, endpoint)
    if target is None:
        return ws_session.WsHold(endpoint.url, hold_s, False, False, error=why, requested_s=hold_s)
    (held,) = ws_session.hold_idle_many(
        [target], hold_s=hold_s, timeout=ctx.timeout.read, connect_timeout=ctx.timeout.connect
    )
    token, _why = _token(ctx, endpoint, "valid") if endpoint.needs_token else (None, None)
    return _scrub(held, endpoint, token)
