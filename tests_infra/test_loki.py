"""Loki is ready, every declared log stream received entries recently, and retention is long enough.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("LOKI-READY")
def test_loki_ready(loki, facts, explain):
    seen = facts.loki_ready(loki)
    assert seen.status == 200, explain(
        expected="HTTP 200 from /ready", seen=seen.error or f"HTTP {seen.status}: {seen.body or 'empty body'}"
    )


@pytest.mark.check("LOKI-RECEIVING")
def test_loki_stream_receiving(loki_stream, facts, threshold, explain):
    server, selector = loki_stream
    window = threshold("window_s", server)
    seen = facts.loki_entries(server, selector, window)
    if seen.error is not None:
        text = seen.error
    elif seen.entries:
        text = f"{seen.entries} entries, newest {seen.newest_age_s:.0f}s ago"
    else:
        text = f"no log entries in the last {window:g}s"
    assert seen.error is None and seen.entries > 0, explain(
        expected=f"entries for {selector} within the last {window:g}s", seen=text
    )


@pytest.mark.check("LOKI-RECEIVING")
def test_loki_retention_long_enough(loki_retention, facts, explain):
    seen = facts.loki_retention(loki_retention)
    wanted = loki_retention.min_retention_h
    # 0 means "keep forever" in Loki.
    ok = seen.error is None and seen.hours is not None and (seen.hours == 0 or seen.hours >= wanted)
    assert ok, explain(
        expected=f"limits_config.retention_period >= {wanted:g}h",
        seen=seen.error or f"retention_period {seen.text} ({seen.hours:g}h): retention too short",
    )
