"""The nginx access log probe: combined-format lines counted from the run's start, 5xx picked out."""

from __future__ import annotations

from datetime import UTC, datetime

from infragate.probes.access_log import parse_combined

LOG = """\
127.0.0.1 - - [01/Dec/2026:20:00:00 +0000] "GET /health HTTP/1.1" 502 150 "-" "curl/8"
127.0.0.1 - - [01/Dec/2026:20:10:00 +0000] "GET /health HTTP/1.1" 200 15 "-" "curl/8"
not a log line at all
127.0.0.1 - alice [01/Dec/2026:21:10:01 +0100] "GET /api/items HTTP/1.1" 504 0 "-" "curl/8"
127.0.0.1 - - [01/Dec/2026:20:10:02 +0000] "POST /api/chat HTTP/2.0" 500 10 "-" "curl/8"
"""


def test_lines_before_the_run_do_not_count() -> None:
    stats = parse_combined(LOG, datetime(2026, 12, 1, 20, 5, tzinfo=UTC))
    # The 502 at 20:00 is an earlier run's; the +0100 stamp is 20:10:01 UTC and counts.
    assert (stats.total, stats.server_errors) == (3, 2)
    assert stats.examples == ("504 GET /api/items HTTP/1.1", "500 POST /api/chat HTTP/2.0")


def test_no_answers_is_a_zero_ratio() -> None:
    stats = parse_combined(LOG, datetime(2027, 1, 1, tzinfo=UTC))
    assert stats.total == 0 and stats.ratio == 0.0
