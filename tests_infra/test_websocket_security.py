"""WebSocket sessions need a valid token, refuse foreign origins, and idle sessions survive the proxy.

For Socket.IO endpoints a session is the CONNECT: refused means CONNECT_ERROR (or a refused upgrade).

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

REFUSALS = "401/403, close 1008 or CONNECT_ERROR"


def _token(endpoint):
    return "valid" if endpoint.needs_token else "missing"


@pytest.mark.check("WS-AUTH-REQUIRED")
def test_websocket_accepts_valid_token(ws_secure, facts, explain):
    session = facts.ws(ws_secure, "valid", None)
    assert session.accepted and session.reply is not None, explain(
        expected=f"a session and a reply from {ws_secure.url} with a valid token", seen=session.refusal
    )


@pytest.mark.check("WS-AUTH-REQUIRED")
def test_websocket_refuses_missing_token(ws_secure, facts, explain):
    session = facts.ws(ws_secure, "missing", None)
    seen = session.refusal + (": accepted without a token" if session.accepted else "")
    assert not session.accepted and not session.unreachable, explain(
        expected=f"{ws_secure.url} to refuse a session without a token ({REFUSALS})",
        seen=seen,
    )


@pytest.mark.check("WS-AUTH-REQUIRED")
def test_websocket_refuses_bad_token(ws_secure, facts, explain):
    session = facts.ws(ws_secure, "bad", None)
    seen = session.refusal + (": accepted with a bad token" if session.accepted else "")
    assert not session.accepted and not session.unreachable, explain(
        expected=f"{ws_secure.url} to refuse a session with a bad token ({REFUSALS})",
        seen=seen,
    )


@pytest.mark.check("WS-ORIGIN-CHECK")
def test_websocket_allows_origin(ws_allowed_origin, facts, explain):
    endpoint, origin = ws_allowed_origin
    session = facts.ws(endpoint, _token(endpoint), origin)
    assert session.accepted, explain(expected=f"a session from Origin {origin}", seen=session.refusal)


@pytest.mark.check("WS-ORIGIN-CHECK")
def test_websocket_refuses_foreign_origin(ws_denied_origin, facts, explain):
    endpoint, origin = ws_denied_origin
    session = facts.ws(endpoint, _token(endpoint), origin)
    seen = session.refusal + (f": Origin {origin} accepted" if session.accepted else "")
    assert not session.accepted and not session.unreachable, explain(
        expected=f"the handshake from Origin {origin} refused (403)", seen=seen
    )


@pytest.mark.check("WS-KEEPALIVE")
def test_websocket_idle_session_survives_proxy(ws_keepalive, facts, threshold, explain):
    hold = float(threshold("hold_s"))
    held = facts.ws_hold(ws_keepalive, hold)
    seen = "survived" if held.survived else f"cut while idle: {held.error}"
    if not held.connected:
        seen = f"no session: {held.error}"
    assert held.survived, explain(
        expected=f"an idle session through {ws_keepalive.url} still answering ping and "
        f"{ws_keepalive.message!r} after {hold:g} s idle",
        seen=seen,
    )
