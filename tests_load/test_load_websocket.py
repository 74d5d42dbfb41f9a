"""WebSocket sessions through the proxy: all open, exchange messages and stay open for the hold time.

Runbook 002 opens 100 `wscat` sessions; here raw WebSocket users (websocket-client under gevent) connect
through nginx, authenticate with a token, echo a message every interval and hold the session. Every
connect and message is a line in Locust's statistics (WS-CONNECT, WS-ECHO, WS-HOLD, WS-OPEN).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest

from infragate.inventory import LoadWebSocket
from infragate.load import LoadOutcome, LoadRegressionWarning, RegressionVerdict, Verdict

Explain = Callable[..., str]


@pytest.mark.check("LOAD-WS-CONCURRENT")
@pytest.mark.slo("max_failed_handshakes")
def test_load_ws_failed_handshakes_within_slo(
    load_ws: LoadWebSocket, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """WebSocket sessions: no more handshakes fail than the SLO allows."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-WS-CONCURRENT")
@pytest.mark.slo("max_message_p95_ms")
def test_load_ws_message_p95_within_slo(
    load_ws: LoadWebSocket, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """WebSocket sessions: the 95th percentile message round trip stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-WS-CONCURRENT")
@pytest.mark.slo("min_sessions_held")
def test_load_ws_sessions_held_within_slo(
    load_ws: LoadWebSocket, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """WebSocket sessions: every session (or the SLO's minimum) stays open for the hold time."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-WS-CONCURRENT")
def test_load_ws_generator_not_saturated(
    load_ws: LoadWebSocket, unsaturated_outcome: LoadOutcome, explain_load: Explain
) -> None:
    """WebSocket sessions: the generator kept CPU headroom, so the figures describe the target."""
    cpu = unsaturated_outcome.result.cpu
    assert not cpu.saturated, explain_load(
        expected=f"generator CPU <= {cpu.limit_pct:.0f}%", seen=cpu.describe()
    )


@pytest.mark.check("LOAD-WS-CONCURRENT")
@pytest.mark.filterwarnings("default::infragate.load.LoadRegressionWarning")
def test_load_ws_p95_no_regression(
    load_ws: LoadWebSocket, regression: RegressionVerdict, explain_load: Explain
) -> None:
    """WebSocket sessions: p95 is not worse than the median of previous runs by more than the margin."""
    message = explain_load(expected="p95 within the regression margin", seen=regression.describe())
    if regression.is_regression and not regression.fails:
        warnings.warn(LoadRegressionWarning(message), stacklevel=1)
    assert not (regression.is_regression and regression.fails), message
