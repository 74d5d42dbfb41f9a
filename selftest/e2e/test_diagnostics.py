"""Issue 13 item 4 on the reference stack: under a real fault, the JUnit testcase of a failing check holds
the runbook's diagnostics (what the host and the server say about the failure) and no stack secret; a
passing check holds none. Once in one process and once under xdist (the worker runs them, the controller
writes the XML)."""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from fixtures.diagnostics import SECTION

CASES = [
    # The service is down: its port has no listener; nginx in front answers 502, its config names the
    # upstream and its access log has the 502 lines.
    pytest.param(
        "service-stopped",
        "HOST-PORT-REACHABLE or HTTP-NOT-BAD-GATEWAY",
        {
            "HOST-PORT-REACHABLE": ["$ ss -Htlnp", "nothing listens on TCP port"],
            "HTTP-NOT-BAD-GATEWAY": [
                "nginx -T -q",
                "proxy_pass http://sample_service",
                "nginx-access.log",
                '" 502 ',
            ],
        },
        [],
        id="service-stopped",
    ),
    # PostgreSQL is down: nothing listens on its port and the pg_stat_activity read says why it got nothing.
    pytest.param(
        "postgres-stopped",
        "PG-READY or REDIS-PING",
        {
            "PG-READY": [
                "nothing listens on TCP port",
                "psql appdb: SELECT pid, usename",
                "failed: OperationalError",
            ]
        },
        ["-n", "2"],
        id="postgres-stopped-xdist",
    ),
]


def _leave_a_502_in_the_access_log() -> None:
    """One request through nginx to the stopped service, then nginx's flush interval (access_log ...
    flush=1s): the checks run right after, and the log line of their own 502 may still be buffered."""
    from stack import layout

    context = ssl.create_default_context(cafile=str(layout.run_dir() / "tls" / "ca.pem"))
    try:
        urllib.request.urlopen(
            f"https://localhost:{layout.ports().nginx_https}/health", timeout=5, context=context
        )
    except urllib.error.HTTPError as answer:
        assert answer.code == 502, answer
    time.sleep(1.5)


def _cases(path: Any) -> list[tuple[str, str, bool, str]]:
    """(name, check id, failed, system-out text) of each testcase."""
    out = []
    for case in ET.parse(path).iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        texts = [o.text or "" for o in case.findall("system-out")]
        assert len(texts) <= 1, f"{case.get('name')}: {len(texts)} system-out elements"
        out.append(
            (
                case.get("name") or "",
                props.get("check") or "?",
                case.find("failure") is not None,
                "".join(texts),
            )
        )
    return out


@pytest.mark.parametrize(("fault", "select", "expected", "extra"), CASES)
def test_failing_check_junit_has_diagnostics_and_no_secret(
    fault: str, select: str, expected: dict[str, list[str]], extra: list[str], stack: Any, run_suite: Any
) -> None:
    stack.fault(fault)
    try:
        if fault == "service-stopped":
            _leave_a_502_in_the_access_log()
        run = run_suite("-k", select, *extra, name=f"diag-{fault}")
    finally:
        stack.heal(fault)
    cases = _cases(run.report_dir / "junit.xml")
    for check_id, words in expected.items():
        failing = [c for c in cases if c[1] == check_id and c[2]]
        assert failing, f"{check_id} did not fail under {fault}: {run.stdout[-2000:]}"
        with_text = [c for c in failing if SECTION in c[3]]
        assert with_text, f"no diagnostics on {[c[0] for c in failing]}"
        text = "\n".join(c[3] for c in with_text)
        for word in words:
            assert word in text, f"{word!r} missing from {check_id}'s diagnostics:\n{text}"
    passing = [c for c in cases if not c[2]]
    assert passing, "the selection must hold passing checks too"
    assert not [c[0] for c in passing if SECTION in c[3]]
    assert run.leaked(stack.secrets()) == []
