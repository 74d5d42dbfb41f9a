"""Prometheus is ready, scrapes every target successfully, loads its rules, and its queries stay in bounds.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

from fixtures.describe import bounds


@pytest.mark.check("PROM-READY")
def test_prometheus_ready(prometheus, facts, explain):
    seen = facts.ready(prometheus)
    assert seen.ok, explain(
        expected="HTTP 200 from /-/ready and /-/healthy",
        seen=seen.error or f"/-/ready HTTP {seen.ready_status}, /-/healthy HTTP {seen.healthy_status}",
    )


@pytest.mark.check("PROM-TARGETS-UP")
def test_prometheus_targets_up(prometheus, facts, threshold, explain):
    confirm = threshold("confirm_down_s")
    found = facts.targets(prometheus, confirm_s=confirm)
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
def test_prometheus_declared_jobs_scraped(prometheus, facts, threshold, explain):
    found = facts.targets(prometheus, confirm_s=threshold("confirm_down_s"))
    missing = sorted(set(prometheus.jobs) - found.jobs())
    assert found.error is None and not missing, explain(
        expected=f"active targets for the jobs {', '.join(prometheus.jobs) or '(none declared)'}",
        seen=found.error
        or f"no active target for job {', '.join(missing)} (jobs: {', '.join(sorted(found.jobs()))})",
    )


@pytest.mark.check("PROM-QUERY-THRESHOLDS")
def test_prometheus_query_withinbounds(prom_query, facts, explain):
    server, q = prom_query
    check = facts.query_bounds(server, q)
    result, outside = check.result, check.outside
    if result.error is not None:
        seen = result.error
    elif not result.values:
        seen = "an empty result (no series matched)"
    else:
        seen = ", ".join(f"{s} = {v:g}" for s, v in (outside or result.values)[:5])
        if outside:
            seen = f"threshold exceeded: {seen}"
    assert result.error is None and result.values and not outside, explain(
        expected=f"{q.expr} {bounds(q.min, q.max)}", seen=seen
    )


@pytest.mark.check("PROM-RULES-LOADED")
def test_prometheus_rule_groups_loaded(prometheus, facts, explain):
    found = facts.rules(prometheus)
    missing = sorted(set(prometheus.rule_groups) - found.names())
    assert found.error is None and not missing, explain(
        expected=f"rule groups loaded: {', '.join(prometheus.rule_groups) or '(none declared)'}",
        seen=found.error
        or f"missing group {', '.join(missing)} (loaded: {', '.join(sorted(found.names())) or 'none'})",
    )


@pytest.mark.check("PROM-RULES-LOADED")
def test_prometheus_rules_evaluate_without_error(prometheus, facts, explain):
    found = facts.rules(prometheus)
    failing = found.failing()
    assert found.error is None and not failing, explain(
        expected="every rule's last evaluation healthy",
        seen=found.error
        or "rule evaluation error: "
        + "; ".join(f"{g.name}/{r.name}: {r.last_error}" for g, r in failing[:5]),
    )
