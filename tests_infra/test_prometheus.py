"""Prometheus is ready, scrapes every target successfully, loads its rules, and its queries stay in bounds.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import math

import pytest


def _bounds(low, high):
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    return f">= {low:g}" if low is not None else f"<= {high:g}" if high is not None else "a number"


@pytest.mark.check("PROM-READY")
def test_prometheus_ready(prometheus, monitoring, explain):
    seen = monitoring.ready(prometheus)
    assert seen.ok, explain(
        expected="HTTP 200 from /-/ready and /-/healthy",
        seen=seen.error or f"/-/ready HTTP {seen.ready_status}, /-/healthy HTTP {seen.healthy_status}",
    )


@pytest.mark.check("PROM-TARGETS-UP")
def test_prometheus_targets_up(prometheus, monitoring, threshold, explain):
    confirm = threshold("confirm_down_s")
    found = monitoring.targets(prometheus, confirm_s=confirm)
    down = found.down()
    seen = found.error or f"{len(down)} of {len(found.targets)} targets down: " + "; ".join(
        t.describe() for t in down
    )
    assert found.error is None and not down, explain(
        expected="every active scrape target up"
        + (f" (only a target down for over {confirm:g}s fails)" if confirm else ""),
        seen=seen,
    )


@pytest.mark.check("PROM-TARGETS-UP")
def test_prometheus_declared_jobs_scraped(prometheus, monitoring, threshold, explain):
    found = monitoring.targets(prometheus, confirm_s=threshold("confirm_down_s"))
    missing = sorted(set(prometheus.jobs) - found.jobs())
    assert found.error is None and not missing, explain(
        expected=f"active targets for the jobs {', '.join(prometheus.jobs) or '(none declared)'}",
        seen=found.error
        or f"no active target for job {', '.join(missing)} (jobs: {', '.join(sorted(found.jobs()))})",
    )


@pytest.mark.check("PROM-QUERY-THRESHOLDS")
def test_prometheus_query_within_bounds(prom_query, monitoring, explain):
    server, q = prom_query
    result = monitoring.query(server, q.expr)
    outside = [
        (series, value)
        for series, value in result.values
        if math.isnan(value) or (q.min is not None and value < q.min) or (q.max is not None and value > q.max)
    ]
    if result.error is not None:
        seen = result.error
    elif not result.values:
        seen = "an empty result (no series matched)"
    else:
        seen = ", ".join(f"{s} = {v:g}" for s, v in (outside or result.values)[:5])
        if outside:
            seen = f"threshold exceeded: {seen}"
    assert result.error is None and result.values and not outside, explain(
        expected=f"{q.expr} {_bounds(q.min, q.max)}", seen=seen
    )


@pytest.mark.check("PROM-RULES-LOADED")
def test_prometheus_rule_groups_loaded(prometheus, monitoring, explain):
    found = monitoring.rules(prometheus)
    missing = sorted(set(prometheus.rule_groups) - found.names())
    assert found.error is None and not missing, explain(
        expected=f"rule groups loaded: {', '.join(prometheus.rule_groups) or '(none declared)'}",
        seen=found.error
        or f"missing group {', '.join(missing)} (loaded: {', '.join(sorted(found.names())) or 'none'})",
    )


@pytest.mark.check("PROM-RULES-LOADED")
def test_prometheus_rules_evaluate_without_error(prometheus, monitoring, explain):
    found = monitoring.rules(prometheus)
    failing = found.failing()
    assert found.error is None and not failing, explain(
        expected="every rule's last evaluation healthy",
        seen=found.error
        or "rule evaluation error: "
        + "; ".join(f"{g.name}/{r.name}: {r.last_error}" for g, r in failing[:5]),
    )
