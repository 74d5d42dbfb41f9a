"""LLM chat under load: a few concurrent questions are answered within the SLO (runbook 001: < 15 s).

A handful of users ask the slow chat endpoint; a rate-limit answer (429) or a timeout is an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest

from infragate.inventory import LoadScenario
from infragate.load import LoadOutcome, LoadRegressionWarning, RegressionVerdict, Verdict

Explain = Callable[..., str]


@pytest.mark.check("LOAD-LLM-CHAT")
@pytest.mark.slo("max_error_ratio")
def test_load_llm_error_ratio_within_slo(
    load_llm: LoadScenario, slo_verdict: Verdict, explain_load: Explain
) -> None:
    """Chat under load: the share of failed requests stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-LLM-CHAT")
@pytest.mark.slo("max_avg_ms")
def test_load_llm_avg_within_slo(load_llm: LoadScenario, slo_verdict: Verdict, explain_load: Explain) -> None:
    """Chat under load: the average response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-LLM-CHAT")
@pytest.mark.slo("max_p50_ms")
def test_load_llm_p50_within_slo(load_llm: LoadScenario, slo_verdict: Verdict, explain_load: Explain) -> None:
    """Chat under load: the median response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-LLM-CHAT")
@pytest.mark.slo("max_p95_ms")
def test_load_llm_p95_within_slo(load_llm: LoadScenario, slo_verdict: Verdict, explain_load: Explain) -> None:
    """Chat under load: the 95th percentile response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-LLM-CHAT")
@pytest.mark.slo("max_p99_ms")
def test_load_llm_p99_within_slo(load_llm: LoadScenario, slo_verdict: Verdict, explain_load: Explain) -> None:
    """Chat under load: the 99th percentile response time stays under the SLO."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-LLM-CHAT")
@pytest.mark.slo("min_rps")
def test_load_llm_rps_within_slo(load_llm: LoadScenario, slo_verdict: Verdict, explain_load: Explain) -> None:
    """Chat under load: throughput stays above the floor."""
    assert slo_verdict.ok, explain_load(expected=slo_verdict.expected(), seen=slo_verdict.describe())


@pytest.mark.check("LOAD-LLM-CHAT")
def test_load_llm_generator_not_saturated(
    load_llm: LoadScenario, unsaturated_outcome: LoadOutcome, explain_load: Explain
) -> None:
    """Chat under load: the generator kept CPU headroom, so the figures describe the target."""
    cpu = unsaturated_outcome.result.cpu
    assert not cpu.saturated, explain_load(
        expected=f"generator CPU <= {cpu.limit_pct:.0f}%", seen=cpu.describe()
    )


@pytest.mark.check("LOAD-LLM-CHAT")
@pytest.mark.filterwarnings("default::infragate.load.LoadRegressionWarning")
def test_load_llm_p95_no_regression(
    load_llm: LoadScenario, regression: RegressionVerdict, explain_load: Explain
) -> None:
    """Chat under load: p95 is not worse than the median of previous runs by more than the margin."""
    message = explain_load(expected="p95 within the regression margin", seen=regression.describe())
    if regression.is_regression and not regression.fails:
        warnings.warn(LoadRegressionWarning(message), stacklevel=1)
    assert not (regression.is_regression and regression.fails), message
