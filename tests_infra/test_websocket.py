"""WebSocket sessions open (101, and the declared protocol's CONNECT) and a message round-trips with the
declared reply, on the backend and through the proxy.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


def _opened(exchange):
    return exchange.connected and exchange.refused is None


@pytest.mark.check("WS-CONNECT-DIRECT")
def test_websocket_direct_handshake(ws_direct, facts, explain):
    exchange = facts.websocket(ws_direct)
    assert _opened(exchange), explain(
        expected=f"a {ws_direct.protocol} session opened on {ws_direct.url} (101 Switching Protocols)",
        seen=exchange.evidence,
    )


@pytest.mark.check("WS-CONNECT-DIRECT")
def test_websocket_direct_round_trip(ws_direct, facts, explain):
    exchange = facts.websocket(ws_direct)
    assert exchange.mismatch is None, explain(
        expected=f"{ws_direct.expected_reply.describe()} to {ws_direct.message!r}",
        seen=f"{exchange.mismatch} ({exchange.evidence})",
    )


@pytest.mark.check("WS-CONNECT-PROXY")
def test_websocket_proxy_handshake(ws_proxy, facts, explain):
    exchange = facts.websocket(ws_proxy)
    seen = exchange.evidence
    if exchange.status is not None and exchange.status != 101:
        seen += " (does the proxy location set 'Upgrade $http_upgrade' and 'Connection \"upgrade\"'?)"
    assert _opened(exchange), explain(
        expected=f"a {ws_proxy.protocol} session opened on {ws_proxy.url} (101 Switching Protocols)",
        seen=seen,
    )


@pytest.mark.check("WS-CONNECT-PROXY")
def test_websocket_proxy_round_trip(ws_proxy, facts, explain):
    exchange = facts.websocket(ws_proxy)
    assert exchange.mismatch is None, explain(
        expected=f"{ws_proxy.expected_reply.describe()} to {ws_proxy.message!r} through the proxy",
        seen=f"{exchange.mismatch} ({exchange.evidence})",
    )
