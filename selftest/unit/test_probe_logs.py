"""Logs: error lines within a window, and logrotate rules read through the host transport."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import testinfra

from infragate.probes import logs

LOCAL = testinfra.get_host("local://")


def test_scan_log_counts_only_the_window() -> None:
    now = datetime(2026, 11, 28, 7, 0, 0)
    text = (
        "2026-11-28 06:00:00,000 ERROR old failure\n"
        "2026-11-28 06:55:00,000 ERROR recent failure\n"
        "Traceback line without a stamp ERROR\n"
        "2026/11/28 06:58:00 [error] 12#12: upstream refused\n"
        "2026-11-28 06:59:00,000 INFO fine\n"
    )
    scan = logs.scan_log(text, r"\bERROR\b|\[error\]", now=now, window=timedelta(minutes=15))
    assert scan.matches == 3
    assert "upstream refused" in scan.examples[-1]


RULES = """\
# global options
weekly
include /etc/logrotate.d

/var/log/app/*.log "/var/log/with space.log"
/var/log/other.log
{
    daily
    postrotate
        [ -f /run/app.pid ] && kill -USR1 $(cat /run/app.pid) || { echo "no pid"; }
    endscript
}
/var/log/nginx/access.log { size 10M }
"""


def test_rules_span_lines_quote_paths_and_skip_scripts() -> None:
    rules, includes = logs.logrotate_rules(RULES, "/etc/logrotate.conf")
    assert includes == ["/etc/logrotate.d"]
    assert [r.patterns for r in rules] == [
        ("/var/log/app/*.log", "/var/log/with space.log", "/var/log/other.log"),
        ("/var/log/nginx/access.log",),
    ]
    assert rules[0].directives == ("daily", "postrotate")
    assert rules[0].covers("/var/log/app/api.log") == "/var/log/app/*.log"
    # glob(3): '*' stays within one directory
    assert rules[0].covers("/var/log/app/old/api.log") is None
    assert rules[0].covers("/var/log/with space.log") == "/var/log/with space.log"


def test_coverage_follows_includes_and_skips_disabled_files(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "app.log"
    conf_d = tmp_path / "logrotate.d"
    conf_d.mkdir()
    main = tmp_path / "logrotate.conf"
    main.write_text(f"weekly\ninclude {conf_d}\n")
    (conf_d / "app.disabled").write_text(f"{log} {{\n  daily\n}}\n")
    (conf_d / "other").write_text("/var/log/other.log {\n  daily\n}\n")
    found = logs.logrotate_coverage(LOCAL, str(log), (str(main),))
    assert not found.covered and found.error is None
    assert set(found.files_read) == {str(main), str(conf_d / "other")}
    (conf_d / "app").write_text(f"{tmp_path}/logs/*.log {{\n  size 1M\n}}\n")
    found = logs.logrotate_coverage(LOCAL, str(log), (str(main),))
    assert found.covered and found.rule is not None and found.rule.file == str(conf_d / "app")
    assert found.pattern == f"{tmp_path}/logs/*.log"


def test_coverage_without_any_readable_config(tmp_path: Path) -> None:
    found = logs.logrotate_coverage(LOCAL, "/var/log/x.log", (str(tmp_path / "absent"),))
    assert not found.covered and "no logrotate configuration readable" in (found.error or "")


def test_log_errors_reads_the_tail_on_the_host(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    path.write_text(f"{stamp},000 ERROR boom\n{stamp},000 INFO fine\n")
    found = logs.log_errors(LOCAL, str(path), r"\bERROR\b", window_minutes=15)
    assert found.scan is not None and found.scan.matches == 1
    missing = logs.log_errors(LOCAL, str(tmp_path / "absent.log"), r"x", window_minutes=15)
    assert missing.scan is None and "No such file" in (missing.error or "")
