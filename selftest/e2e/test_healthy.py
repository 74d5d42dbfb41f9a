"""The whole check suite against the healthy reference stack: everything passes, reports are complete."""

from __future__ import annotations

from typing import Any

import pytest

ISSUE_5_IDS = {
    "HTTP-HEALTH",
    "HTTP-NOT-BAD-GATEWAY",
    "TLS-HANDSHAKE",
    "TLS-CERT-EXPIRY",
    "TLS-CHAIN",
    "TLS-PROTOCOLS",
    "CORS-ALLOWED-ORIGIN",
    "CORS-DENIED-ORIGIN",
    "WS-CONNECT-DIRECT",
    "WS-CONNECT-PROXY",
    "PG-READY",
    "PG-CONNINFO",
    "REDIS-PING",
    "HOST-PORT-REACHABLE",
}


@pytest.fixture(scope="module")
def healthy(run_suite: Any) -> Any:
    """One run of the suite on the healthy stack."""
    return run_suite(name="healthy")


def test_healthy_stack_passes_every_check(healthy: Any) -> None:
    assert healthy.returncode == 0, healthy.stdout[-4000:]
    assert healthy.failed() == {}


def test_healthy_run_covers_every_foundation_check(healthy: Any) -> None:
    assert healthy.check_ids() >= ISSUE_5_IDS, sorted(ISSUE_5_IDS - healthy.check_ids())


def test_junit_names_carry_target_and_component(healthy: Any) -> None:
    names = [c["name"] for c in healthy.cases]
    assert names and all(" local/" in n for n in names), names
    assert "test_tls_cert_not_expiring[TLS-CERT-EXPIRY local/proxy]" in names


def test_html_report_is_self_contained(healthy: Any) -> None:
    html = (healthy.report_dir / "report.html").read_text()
    assert "test_tls_cert_not_expiring[TLS-CERT-EXPIRY local/proxy]" in html
    assert 'rel="stylesheet" href=' not in html and "assets/style.css" not in html


def test_no_secret_in_any_output(healthy: Any, stack: Any) -> None:
    secrets = stack.secrets()
    assert len(secrets) >= 2
    assert healthy.leaked(secrets) == []


def test_summary_counts_catalog_ids(healthy: Any) -> None:
    assert f"{len(healthy.check_ids())} catalog check ids ran on local" in healthy.stdout
