"""The report page (fixtures/htmlreport.py) of a real run against the reference stack under a real fault,
read in headless Chromium: the verdict a person sees, the fault's root cause on top, no secret.
"""

from __future__ import annotations

from typing import Any

import pytest

from selftest.browser import CHROMIUM, look, screenshot
from stack.api import faults

FAULT = next(f for f in faults() if f.name == "cert-expired")
ROOT_CAUSE = getattr(FAULT, "root", None) or "TLS-CERT-EXPIRY"


@pytest.fixture(scope="module")
def faulted(stack: Any, run_suite: Any) -> Any:
    """The broken parts and a control set of every other component, checked while the fault is on."""
    stack.fault(FAULT.name)
    try:
        return run_suite(
            f"--only-entries={','.join(FAULT.breaks)}", "--with-control", name="report-page", preforked=True
        )
    finally:
        stack.heal(FAULT.name)


def test_page_written_with_closed_gate_and_root_cause_first(faulted: Any) -> None:
    page = faulted.report_dir / "gate.html"
    assert faulted.returncode == 1 and page.is_file(), faulted.stdout[-2000:]
    assert f"report page: {page} (gate CLOSED)" in faulted.stdout
    html = page.read_text()
    assert "<title>infragate: local, gate CLOSED</title>" in html
    first = html.index('id="cause-1"')
    assert html.index(f"{ROOT_CAUSE} on local/proxy", first) < html.find('id="cause-2"', first) or (
        'id="cause-2"' not in html
    )
    # The checks behind the expired certificate say what blocks them instead of their own remedy.
    assert "blocked by TLS-" in html


def test_page_holds_no_stack_secret(faulted: Any, stack: Any) -> None:
    # SuiteRun.leaked scans every file of the run's report directory: gate.html among them.
    assert (faulted.report_dir / "gate.html").is_file()
    assert faulted.leaked(stack.secrets()) == []


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (stack/debian-packages.txt)")
def test_chromium_shows_closed_gate_and_expired_certificate_on_top(faulted: Any) -> None:
    page = faulted.report_dir / "gate.html"
    seen = look(page, width=1280, height=900)
    assert seen["verdict"]["text"] == "GATE CLOSED" and seen["headerColour"] == "rgb(198, 40, 40)"
    assert seen["reason"]["text"].startswith("1 critical root cause") or ROOT_CAUSE in seen["reason"]["text"]
    assert seen["causes"][0].startswith(f"#1 CRITICAL {ROOT_CAUSE} on local/proxy")
    assert 0 <= seen["verdict"]["top"] < seen["firstCause"]["top"] < seen["viewport"]
    assert seen["firstCause"]["bottom"] <= seen["grid"]["top"]
    assert seen["failedCells"] >= 1 and seen["passedCells"] >= 1
    png = screenshot(page, faulted.report_dir / "report.png", width=1280, height=1100)
    assert png.stat().st_size > 10_000
