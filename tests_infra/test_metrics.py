"""Metrics endpoints parse and expose the declared series; declared values lie within their ranges.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

from fixtures.describe import bounds as describe_bounds


def _page_seen(page):
    return page.error or f"HTTP {page.status}"


@pytest.mark.check("METRICS-EXPOSED")
def test_metrics_endpoint_parses(metrics_endpoint, facts, explain):
    page = facts.scrape(metrics_endpoint)
    assert page.ok, explain(
        expected=f"HTTP 200 with a {metrics_endpoint.format} metrics page at {metrics_endpoint.url}",
        seen=_page_seen(page),
    )


@pytest.mark.check("METRICS-EXPOSED")
def test_metrics_endpoint_exposes_declared_series(metrics_endpoint, facts, explain):
    page = facts.scrape(metrics_endpoint)
    missing = [s for s in metrics_endpoint.series if not page.has(s)]
    assert page.ok and not missing, explain(
        expected=f"every declared series exposed: {', '.join(metrics_endpoint.series)}",
        seen=(
            f"missing from the page: {', '.join(missing)} ({len(page.families)} families exposed)"
            if page.ok
            else _page_seen(page)
        ),
    )


@pytest.mark.check("METRICS-THRESHOLDS")
def test_metric_within_range(metrics_range, facts, explain):
    endpoint, bounds = metrics_range
    check = facts.metric_range(endpoint, bounds)
    page, samples, outside = check.page, check.samples, check.outside
    if not page.ok:
        seen = _page_seen(page)
    elif not samples:
        seen = f"no numeric sample named {bounds.series}"
    else:
        seen = "out of range: " + ", ".join(f"{s.describe()} = {s.value:g}" for s in outside[:5])
    assert samples and not outside, explain(
        expected=f"{bounds.series} {describe_bounds(bounds.min, bounds.max)}", seen=seen
    )
