"""The report page for people (fixtures/htmlreport.py), from a real pytest run of a tiny synthetic check
directory: offline (the failures are written by the tests themselves through the real `explain`
fixture), then rendered in headless Chromium to check what a person sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fixtures.report_page import parse_message
from selftest.browser import CHROMIUM, look

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3lftest-htmlreport-Secret-4242"

INVENTORY = """
[target]
description = "synthetic shop"
runbook = "https://wiki.example/runbook"

[[tls.endpoints]]
name = "proxy"
host = "127.0.0.1"
port = 9

[[http.endpoints]]
name = "api-health"
url = "https://127.0.0.1:9/health"

[[cors]]
name = "api"
url = "http://127.0.0.2:8/api"
allowed_origins = ["https://app.example"]

[[redis]]
name = "cache"
host = "127.0.0.3"
port = 7
password_env = "SELFTEST_HTMLREPORT_PASSWORD"
"""

# Real check markers and fixtures; each test writes the failure a probe would have seen.
TESTS = """
import os
import pytest

@pytest.mark.check("TLS-CERT-EXPIRY")
def test_tls_cert_not_expiring(tls_endpoint, explain):
    assert False, explain(
        expected="a certificate valid for more than 14 days",
        seen="expired 2026-11-18 06:00 UTC (-10.0 days left), subject 'localhost'",
    )

@pytest.mark.check("HTTP-HEALTH")
def test_http_health(http_endpoint, explain):
    # Same endpoint as the TLS check: fixtures/rootcause.py judges this failure blocked by it.
    assert False, explain(expected="HTTP 200", seen="no response: certificate has expired")

@pytest.mark.check("CORS-ALLOWED-ORIGIN")
def test_cors_allowed_origin(cors_allowed, explain):
    assert True

@pytest.mark.check("PG-READY")
def test_postgres_accepts_connections(postgres):
    assert postgres  # never runs: no [[postgres]] declared, so not applicable

@pytest.mark.check("REDIS-MEMORY")
def test_redis_memory(redis_server, explain):
    password = os.environ["SELFTEST_HTMLREPORT_PASSWORD"]  # a local: pytest -l prints it in tracebacks
    assert not password, explain(expected="used_memory below 90% of maxmemory",
                                 seen="97% (HTTP 200 text/html: <script>alert(1)</script>)")
"""


def _summary(tmp: Path) -> Path:
    """A load run's summary.json as infragate.load.session.write_summary writes it (fields the page reads)."""
    run = tmp / "load" / "t" / "20261201T000000Z" / "health"
    run.mkdir(parents=True)
    (run / "locust.html").write_text("<html></html>")
    summary = {
        "scenario": "health",
        "check": "LOAD-HTTP-HEALTH",
        "started": "2026-12-01T00:00:00+00:00",
        "users": 50,
        "run_time_s": 10,
        "aggregate": {"requests": 4321, "rps": 432.1},
        "slo_ok": False,
        "generator_cpu": {"saturated": False},
        "verdicts": [
            {
                "key": "max_p95_ms",
                "label": "p95",
                "unit": "ms",
                "bound": "max",
                "threshold": 500.0,
                "measured": 812.0,
                "ok": False,
            },
            {
                "key": "max_error_ratio",
                "label": "error ratio",
                "unit": "",
                "bound": "max",
                "threshold": 0.01,
                "measured": 0.0,
                "ok": True,
            },
        ],
    }
    (run / "summary.json").write_text(json.dumps(summary))
    history = {
        "timestamp": "2026-12-01T00:00:00+00:00",
        "scenario": "health",
        "report": "20261201T000000Z/health",
    }
    (tmp / "load" / "t" / "history.jsonl").write_text(json.dumps(history) + "\n")
    return run


@pytest.fixture(scope="module", params=["plain", "xdist"])
def page_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real pytest run of the synthetic checks (in one process, and under xdist where the controller
    writes the page from its workers' reports); returns its directory (gate.html, r.html, j.xml)."""
    tmp = tmp_path_factory.mktemp(f"htmlreport-{request.param}")
    (tmp / "tests_infra").mkdir()
    (tmp / "tests_infra" / "test_synthetic.py").write_text(TESTS)
    (tmp / "t.toml").write_text(INVENTORY)
    # The project's plugins, as its top-level conftest loads them (this directory is the rootdir).
    (tmp / "conftest.py").write_text((ROOT / "conftest.py").read_text())
    _summary(tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFRAGATE_", "PYTEST_"))}
    env.update(PYTHONPATH=str(ROOT), SELFTEST_HTMLREPORT_PASSWORD=SECRET)
    cmd = [
        sys.executable, "-m", "pytest", "tests_infra", "--host=t", f"--inventory={tmp}",
        "-p", "no:locust", "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
        f"--junitxml={tmp / 'j.xml'}", f"--html={tmp / 'r.html'}", f"--load-reports={tmp / 'load'}",
        "-l",  # locals printed in tracebacks: the page must still not show the secret
        *(["-n", "2"] if request.param == "xdist" else []),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=120)
    (tmp / "stdout.txt").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert f"report page: {tmp / 'gate.html'} (gate CLOSED)" in proc.stdout
    return tmp


def test_page_says_target_verdict_and_root_cause_first(page_run: Path) -> None:
    html = (page_run / "gate.html").read_text()
    assert "<title>infragate: t, gate CLOSED</title>" in html
    assert html.index("GATE CLOSED") < html.index("Root causes") < html.index('id="grid"')
    assert str(page_run / "t.toml") in html and "synthetic shop" in html
    # The critical root cause is card #1, and it says what blocks on it; the warning comes after.
    first = html.index('id="cause-1"')
    assert html.index("TLS-CERT-EXPIRY on t/proxy", first) < html.index('id="cause-2"')
    assert html.index("REDIS-MEMORY", html.index('id="cause-2"'))
    assert "blocks 1 other failing check" in html
    for text in (
        "a certificate valid for more than 14 days",
        "expired 2026-11-18 06:00 UTC",
        "certbot renew",
    ):
        assert text in html
    assert "002 § " in html and 'href="https://wiki.example/runbook"' in html  # runbook sections
    # Evidence: the "infragate diagnostics" section fixtures/diagnostics.py attached to the failure.
    cause2 = html[html.index('id="cause-2"') :]
    assert "INFO memory" in cause2[cause2.index("evidence") : cause2.index("remedy")]


def test_page_grid_has_every_state(page_run: Path) -> None:
    html = (page_run / "gate.html").read_text()
    assert 'class="cell failed"' in html and 'class="cell blocked"' in html and 'class="cell passed"' in html
    assert "HTTP-HEALTH t/api-health</b> blocked by TLS-CERT-EXPIRY t/proxy" in html
    # Components the inventory leaves out: their checks are listed as not applicable, with the reason.
    assert "checks not applicable" in html and "component postgres not declared" in html


def test_page_shows_last_load_run_beside_infra(page_run: Path) -> None:
    html = (page_run / "gate.html").read_text()
    assert "not run this time: the last load run of t" in html
    assert "p95: 812 ms (SLO ≤ 500)" in html and "4321 requests" in html
    assert 'href="load/t/20261201T000000Z/health/locust.html"' in html


def test_page_holds_no_secret_and_escapes_what_it_shows(page_run: Path) -> None:
    html = (page_run / "gate.html").read_text()
    assert SECRET not in html
    # The same run's pytest-html page (full tracebacks under -l) does show it: the page only reads
    # failure messages, which is what keeps it out.
    assert SECRET in (page_run / "r.html").read_text()
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'rel="stylesheet"' not in html and "src=" not in html  # self-contained


def test_junit_says_blocked_by_whichever_worker_ran_the_root(page_run: Path) -> None:
    # Under xdist the TLS and HTTP tests may run on different workers: the controller patches the JUnit
    # file (fixtures/blocked.py), so the blocked failure's property and message name its root either way.
    cases = {c.get("name", ""): c for c in ET.parse(page_run / "j.xml").iter("testcase")}
    blocked = next(c for n, c in cases.items() if n.startswith("test_http_health["))
    props = {p.get("name"): p.get("value") for p in blocked.iter("property")}
    assert props["blocked_by"] == "TLS-CERT-EXPIRY t/proxy", props
    failure = blocked.find("failure")
    assert failure is not None and "blocked by TLS-CERT-EXPIRY on t/proxy" in failure.get("message", "")
    assert "remedy: " not in failure.get("message", "")
    root = next(c for n, c in cases.items() if n.startswith("test_tls_cert_not_expiring["))
    assert "blocked_by" not in {p.get("name") for p in root.iter("property")}


def test_pytest_html_page_names_target_and_links_the_page(page_run: Path) -> None:
    html = (page_run / "r.html").read_text()
    assert "infragate: t (" in html and 'href="gate.html"' in html and "gate CLOSED" in html


def test_parse_message_splits_explain_output() -> None:
    text = (
        "AssertionError: [TLS-CERT-EXPIRY] t/proxy (127.0.0.1:9): expected more than 14 days; seen expired\n"
        "  report: /x/locust.html\n  remedy: certbot renew\n  runbook: https://wiki\nassert False"
    )
    parsed = parse_message(text)
    assert (parsed.where, parsed.expected, parsed.seen) == (
        "t/proxy (127.0.0.1:9)",
        "more than 14 days",
        "expired",
    )
    assert (parsed.remedy, parsed.runbook, parsed.extra) == (
        "certbot renew",
        "https://wiki",
        "report: /x/locust.html",
    )
    raw = parse_message("ConnectionError: refused")
    assert raw.seen == "refused" and raw.expected == ""


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (stack/debian-packages.txt)")
def test_chromium_shows_verdict_and_root_cause_on_first_screen(page_run: Path) -> None:
    seen = look(page_run / "gate.html", width=1280, height=900)
    assert seen["title"] == "infragate: t, gate CLOSED"
    assert seen["verdict"]["text"] == "GATE CLOSED" and seen["headerColour"] == "rgb(198, 40, 40)"
    assert seen["reason"]["text"] == "1 critical root cause: TLS-CERT-EXPIRY on t/proxy"
    assert seen["causes"][0].startswith("#1 CRITICAL TLS-CERT-EXPIRY on t/proxy")
    assert seen["causes"][1].startswith("#2 WARNING REDIS-MEMORY on t/cache")
    # On the first screen, above the grid: the verdict at the top, then the first root cause.
    assert 0 <= seen["verdict"]["top"] < seen["firstCause"]["top"] < seen["viewport"]
    assert seen["firstCause"]["bottom"] <= seen["grid"]["top"]
    assert (seen["failedCells"], seen["blockedCells"], seen["passedCells"]) == (2, 1, 1)
    assert SECRET not in seen["text"]
