"""Auth flow under load: login, authenticated calls and refresh stay within the SLO.

Runbook 002 § Token JWT invalide: users log in (on_start), call authenticated endpoints with the bearer
token and refresh it before it expires; a 401 or 5xx counts as an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest

from infragate.inventory import LoadScenario
from infragate.load import LoadOutcome, LoadRegressionWarning, RegressionVerdict, Verdict

Explain = Callable[..., str]


@pytest.mark.check("LOAD-AUTH-FLOW")
@pytest.mark.slo("max_error_ratio")
def test_load_auth_error_ratio_within_slo(
    load_auth: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """Auth flow under load: the share of failed requests stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-AUTH-FLOW")
@pytest.mark.slo("max_avg_ms")
def test_load_auth_avg_within_slo(
    load_auth: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """Auth flow under load: the average response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-AUTH-FLOW")
@pytest.mark.slo("max_p50_ms")
def test_load_auth_p50_within_slo(
    load_auth: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """Auth flow under load: the median response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-AUTH-FLOW")
@pytest.mark.slo("max_p95_ms")
def test_load_auth_p95_within_slo(
    load_auth: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """Auth flow under load: the 95th percentile response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-AUTH-FLOW")
@pytest.mark.slo("max_p99_ms")
def test_load_auth_p99_within_slo(
    load_auth: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """Auth flow under load: the 99th percentile response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-AUTH-FLOW")
@pytest.mark.slo("min_rps")
def test_load_auth_rps_within_slo(
    load_auth: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """Auth flow under load: throughput stays above the floor."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-AUTH-FLOW")
def test_load_auth_generator_not_saturated(
    load_auth: LoadScenario, unsaturated_outcome: LoadOutcome, explain_load: Explain
) -> None:
    """Auth flow under load: the generator kept CPU headroom, so the figures describe the target."""
    cpu = unsaturated_outcome.result.cpu
    assert not cpu.saturated, explain_load(
        expected=f"generator CPU <= {cpu.limit_pct:.0f}%", seen=cpu.describe()
    )


@pytest.mark.check("LOAD-AUTH-FLOW")
@pytest.mark.filterwarnings("default::infragate.load.LoadRegressionWarning")
def test_load_auth_p95_no_regression(
    load_auth: LoadScenario, regression: RegressionVerdict, explain_load: Explain
) -> None:
    """Auth flow under load: p95 is not worse than the median of previous runs by more than the margin."""
    message = explain_load(expected="p95 within the regression margin", seen=regression.describe())
    if regression.is_regression and not regression.fails:
        warnings.warn(LoadRegressionWarning(message), stacklevel=1)
    assert not (regression.is_regression and regression.fails), message
