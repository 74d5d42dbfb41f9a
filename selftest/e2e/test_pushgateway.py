"""A scheduled run's results reach on-call (issue 13 item 3): a run under a fault pushes to the stack's
Pushgateway, the stack's Prometheus scrapes it and its InfragateCriticalCheckFailed rule fires in
Alertmanager; after heal, the next run's push resolves it. Every wait is bounded.

The group is deleted before and after the test, and the alert seen gone, so no later test (the healthy
run's ALERTS-NONE-FIRING) meets a stale pushed failure.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infragate import results_metrics
from stack.api import faults, ports

FAULT = next(f for f in faults() if f.name == "cert-expired")
SELECTION = "--only-entries=tls.endpoints/proxy"
ALERT = "InfragateCriticalCheckFailed"
TARGET = "local"
# Scrape and rule evaluation every 5 s, Alertmanager's group_wait 1 s and group_interval 5 s
# (stack/templates): an alert fires or resolves within about 15 s; a minute means it never will.
WAIT_S = 60.0


def _get(port: int, path: str, params: list[tuple[str, str]] | None = None) -> Any:
    url = f"http://127.0.0.1:{port}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


def _alerts() -> list[dict[str, Any]]:
    """Active alerts named ALERT for TARGET, from Alertmanager's API v2 (resolved ones are not listed)."""
    params = [("active", "true"), ("filter", f'alertname="{ALERT}"'), ("filter", f'target="{TARGET}"')]
    return list(_get(ports().alertmanager, "/api/v2/alerts", params))


def _until(what: str, probe: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    """Poll PROBE until it returns something truthy; fail naming WHAT and the last value at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        seen = probe()
        if seen:
            return seen
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout:g} s (last: {seen!r})")
        time.sleep(0.5)


def _pushed_group() -> dict[str, Any] | None:
    """The Pushgateway's group {job=infragate, target=TARGET}, if any."""
    groups = _get(ports().pushgateway, "/api/v1/metrics")["data"]
    for group in groups:
        if group["labels"] == {"job": results_metrics.JOB, "target": TARGET}:
            return dict(group)
    return None


def _clean() -> None:
    results_metrics.delete(f"http://127.0.0.1:{ports().pushgateway}", target=TARGET, timeout=5)
    _until(f"no active {ALERT} once the pushed group is deleted", lambda: not _alerts())


@pytest.fixture
def gateway(stack: Any) -> Iterator[str]:
    """The stack's Pushgateway URL, with no infragate group and no alert before and after the test."""
    _clean()
    yield f"http://127.0.0.1:{ports().pushgateway}"
    _clean()


def _resolved_since(since: float) -> list[dict[str, Any]]:
    """Resolved notifications for ALERT the stack's webhook sink received after SINCE (Unix time)."""
    log = _get(ports().service, "/hooks/alertmanager")
    return [
        n
        for n in log
        if n["received_at"] >= since
        and n["status"] == "resolved"
        and any(a.get("alertname") == ALERT for a in n["alerts"])
    ]


def test_alert_fires_under_a_fault_and_resolves_after_heal(
    gateway: str, stack: Any, run_suite: Any, tmp_path: Path
) -> None:
    push = (SELECTION, f"--pushgateway={gateway}", f"--metrics-file={tmp_path / 'infragate.prom'}")
    stack.fault(FAULT.name)
    try:
        faulted = run_suite(*push, name="push-faulted", preforked=True)
    finally:
        stack.heal(FAULT.name)
    assert faulted.returncode == 1, faulted.stdout[-3000:]
    assert "check results pushed to" in faulted.stdout and "gate closed" in faulted.stdout, faulted.stdout[
        -2000:
    ]
    group = _pushed_group()
    assert group is not None and "infragate_check_status" in group, group

    pushed_at = time.monotonic()
    firing = _until(f"{ALERT} firing in Alertmanager", _alerts)
    fired_s = time.monotonic() - pushed_at
    checks = {a["labels"]["check"] for a in firing}
    # The fault's own checks (root cause and, when blocked by it, the rest) and nothing outside them.
    assert checks and checks <= set(FAULT.expect_fail), checks
    for alert in firing:
        labels = alert["labels"]
        assert labels["severity"] == "critical" and labels["job"] == results_metrics.JOB, labels
        assert labels["entry"].endswith("proxy") and labels["state"] in ("failed", "blocked"), labels
        assert alert["status"]["state"] == "active"

    healed_at = time.time()
    healed = run_suite(*push, name="push-healed", preforked=True)
    assert healed.returncode == 0, healed.stdout[-3000:]
    assert "gate open" in healed.stdout
    _until(f"{ALERT} no longer active after the healthy run's push", lambda: not _alerts())
    _until(f"a resolved {ALERT} notification at the webhook", lambda: _resolved_since(healed_at))
    # Shown with -s: how long the pipeline took here (information, not an assertion).
    resolved_s = time.time() - healed_at
    print(f"{ALERT}: active {fired_s:.1f} s after the push; resolved {resolved_s:.1f} s after the healed run")

    # With the alert resolved, the stack's own ALERTS-NONE-FIRING check is green again.
    after = run_suite("--only-entries=alertmanager", name="alerts-after", preforked=True)
    assert after.returncode == 0 and "ALERTS-NONE-FIRING" in after.check_ids(), after.stdout[-2000:]
