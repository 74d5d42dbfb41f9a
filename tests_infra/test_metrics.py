"""Metrics endpoints parse and expose the declared series; declared values lie within their ranges.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


def _page_seen(page):
    return page.error or f"HTTP {page.status}"


def _bounds(low, high):
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    return f">= {low:g}" if low is not None else f"<= {high:g}" if high is not None else "any number"


@pytest.mark.check("METRICS-EXPOSED")
def test_metrics_endpoint_parses(metrics_endpoint, monitoring, explain):
    page = monitoring.scrape(metrics_endpoint)
    assert page.ok, explain(
        expected=f"HTTP 200 with a {metrics_endpoint.format} metrics page at {metrics_endpoint.url}",
        seen=_page_seen(page),
    )


@pytest.mark.check("METRICS-EXPOSED")
def test_metrics_endpoint_exposes_declared_series(metrics_endpoint, monitoring, explain):
    page = monitoring.scrape(metrics_endpoint)
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
def test_metric_within_range(metrics_range, monitoring, explain):
    endpoint, bounds = metrics_range
    page = monitoring.scrape(endpoint)
    samples = page.values(bounds.series) if page.ok else ()
    outside = [
        s
        for s in samples
        if (bounds.min is not None and not s.value >= bounds.min)
        or (bounds.max is not None and not s.value <= bounds.max)
    ]
    if not page.ok:
        seen = _page_seen(page)
    elif not samples:
        seen = f"no numeric sample named {bounds.series}"
    else:
        seen = "out of range: " + ", ".join(f"{s.describe()} = {s.value:g}" for s in outside[:5])
    assert samples and not outside, explain(
        expected=f"{bounds.series} {_bounds(bounds.min, bounds.max)}", seen=seen
    )
