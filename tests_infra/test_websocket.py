"""WebSocket handshakes succeed (101) and a message round-trips, on the backend and through the proxy.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


def _seen(exchange):
    if not exchange.connected:
        return exchange.error
    return f"connected, sent {exchange.sent!r}, received {exchange.received!r}"


def _expected_reply(endpoint):
    return endpoint.expect_reply if endpoint.expect_reply is not None else endpoint.message


@pytest.mark.check("WS-CONNECT-DIRECT")
def test_websocket_direct_handshake(ws_direct, facts, explain):
    exchange = facts.websocket(ws_direct)
    assert exchange.connected, explain(
        expected=f"101 Switching Protocols from {ws_direct.url}", seen=_seen(exchange)
    )


@pytest.mark.check("WS-CONNECT-DIRECT")
def test_websocket_direct_round_trip(ws_direct, facts, explain):
    exchange = facts.websocket(ws_direct)
    reply = _expected_reply(ws_direct)
    assert exchange.received == reply, explain(
        expected=f"reply {reply!r} to {ws_direct.message!r}", seen=_seen(exchange)
    )


@pytest.mark.check("WS-CONNECT-PROXY")
def test_websocket_proxy_handshake(ws_proxy, facts, explain):
    exchange = facts.websocket(ws_proxy)
    seen = _seen(exchange)
    if exchange.status is not None and exchange.status != 101:
        seen += " (does the proxy location set 'Upgrade $http_upgrade' and 'Connection \"upgrade\"'?)"
    assert exchange.connected, explain(expected=f"101 Switching Protocols from {ws_proxy.url}", seen=seen)


@pytest.mark.check("WS-CONNECT-PROXY")
def test_websocket_proxy_round_trip(ws_proxy, facts, explain):
    exchange = facts.websocket(ws_proxy)
    reply = _expected_reply(ws_proxy)
    assert exchange.received == reply, explain(
        expected=f"reply {reply!r} to {ws_proxy.message!r} through the proxy", seen=_seen(exchange)
    )
