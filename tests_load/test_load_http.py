"""HTTP load: the health endpoint and the API mix keep their SLOs under the inventory's load.

Runbook 002 load-tests /health with `wrk -t12 -c400 -d30s`; runbook 004 sets the API baselines (average
< 200 ms, errors < 1 %, 50-200 req/s). Each scenario runs once (Locust subprocess, FastHttpUser); each SLO
is one test, skipped when the inventory and the catalog give it no threshold.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest

from infragate.inventory import LoadScenario
from infragate.load import LoadOutcome, LoadRegressionWarning, RegressionVerdict, Verdict

Explain = Callable[..., str]


@pytest.mark.check("LOAD-HTTP-HEALTH")
@pytest.mark.slo("max_error_ratio")
def test_load_health_error_ratio_within_slo(
    load_health: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """Health under load: the share of failed requests stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-HTTP-HEALTH")
@pytest.mark.slo("max_avg_ms")
def test_load_health_avg_within_slo(
    load_health: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """Health under load: the average response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-HTTP-HEALTH")
@pytest.mark.slo("max_p50_ms")
def test_load_health_p50_within_slo(
    load_health: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """Health under load: the median response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-HTTP-HEALTH")
@pytest.mark.slo("max_p95_ms")
def test_load_health_p95_within_slo(
    load_health: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """Health under load: the 95th percentile response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-HTTP-HEALTH")
@pytest.mark.slo("max_p99_ms")
def test_load_health_p99_within_slo(
    load_health: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """Health under load: the 99th percentile response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-HTTP-HEALTH")
@pytest.mark.slo("min_rps")
def test_load_health_rps_within_slo(
    load_health: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """Health under load: throughput stays above the floor."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-HTTP-HEALTH")
def test_load_health_generator_not_saturated(
    load_health: LoadScenario, unsaturated_outcome: LoadOutcome, explain_load: Explain
) -> None:
    """Health under load: the generator kept CPU headroom, so the figures describe the target."""
    cpu = unsaturated_outcome.result.cpu
    assert not cpu.saturated, explain_load(
        expected=f"generator CPU <= {cpu.limit_pct:.0f}%", seen=cpu.describe()
    )


@pytest.mark.check("LOAD-HTTP-HEALTH")
@pytest.mark.filterwarnings("default::infragate.load.LoadRegressionWarning")
def test_load_health_p95_no_regression(
    load_health: LoadScenario, regression: RegressionVerdict, explain_load: Explain
) -> None:
    """Health under load: p95 is not worse than the median of previous runs by more than the margin."""
    message = explain_load(expected="p95 within the regression margin", seen=regression.describe())
    if regression.is_regression and not regression.fails:
        warnings.warn(LoadRegressionWarning(message), stacklevel=1)
    assert not (regression.is_regression and regression.fails), message


@pytest.mark.check("LOAD-HTTP-API")
@pytest.mark.slo("max_error_ratio")
def test_load_api_error_ratio_within_slo(
    load_api: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """API mix under load: the share of failed requests stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-HTTP-API")
@pytest.mark.slo("max_avg_ms")
def test_load_api_avg_within_slo(load_api: LoadScenario, slo_verdict: Verdict, explain_load: Explain) -> None:
    """API mix under load: the average response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-HTTP-API")
@pytest.mark.slo("max_p50_ms")
def test_load_api_p50_within_slo(load_api: LoadScenario, slo_verdict: Verdict, explain_load: Explain) -> None:
    """API mix under load: the median response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-HTTP-API")
@pytest.mark.slo("max_p95_ms")
def test_load_api_p95_within_slo(load_api: LoadScenario, slo_verdict: Verdict, explain_load: Explain) -> None:
    """API mix under load: the 95th percentile response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-HTTP-API")
@pytest.mark.slo("max_p99_ms")
def test_load_api_p99_within_slo(load_api: LoadScenario, slo_verdict: Verdict, explain_load: Explain) -> None:
    """API mix under load: the 99th percentile response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-HTTP-API")
@pytest.mark.slo("min_rps")
def test_load_api_rps_within_slo(load_api: LoadScenario, slo_verdict: Verdict, explain_load: Explain) -> None:
    """API mix under load: throughput stays above the floor."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-HTTP-API")
def test_load_api_generator_not_saturated(
    load_api: LoadScenario, unsaturated_outcome: LoadOutcome, explain_load: Explain
) -> None:
    """API mix under load: the generator kept CPU headroom, so the figures describe the target."""
    cpu = unsaturated_outcome.result.cpu
    assert not cpu.saturated, explain_load(
        expected=f"generator CPU <= {cpu.limit_pct:.0f}%", seen=cpu.describe()
    )


@pytest.mark.check("LOAD-HTTP-API")
@pytest.mark.filterwarnings("default::infragate.load.LoadRegressionWarning")
def test_load_api_p95_no_regression(
    load_api: LoadScenario, regression: RegressionVerdict, explain_load: Explain
) -> None:
    """API mix under load: p95 is not worse than the median of previous runs by more than the margin."""
    message = explain_load(expected="p95 within the regression margin", seen=regression.describe())
    if regression.is_regression and not regression.fails:
        warnings.warn(LoadRegressionWarning(message), stacklevel=1)
    assert not (regression.is_regression and regression.fails), message
