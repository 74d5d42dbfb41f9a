"""End to end against the reference stack: healthy passes; each fault fails the SLO it should.

Every run is ``pytest tests_load --host=local`` in a subprocess (Locust never enters this process), with
the scenarios of inventory/local.toml (each run <= 20 s), judged from its JUnit XML.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from selftest.load.conftest import LoadRun

LOAD_IDS = {"LOAD-HTTP-HEALTH", "LOAD-HTTP-API", "LOAD-AUTH-FLOW", "LOAD-LLM-CHAT", "LOAD-WS-CONCURRENT"}
SCENARIOS = ("health", "api-mix", "auth-flow", "chat", "ws-sessions")


@pytest.fixture(scope="module")
def healthy(stack: Any, run_load: Callable[..., LoadRun]) -> LoadRun:
    """Every load scenario of the local inventory against the healthy stack, once."""
    return run_load(name="healthy")


def test_healthy_stack_passes_every_load_slo(healthy: LoadRun) -> None:
    bad = {c["name"]: c["message"][:500] for c in healthy.cases if c["outcome"] in ("failed", "error")}
    assert not bad, bad
    assert healthy.returncode == 0, healthy.stdout[-3000:]
    passed = {c["check"] for c in healthy.cases if c["outcome"] == "passed"}
    assert passed == LOAD_IDS
    # One JUnit case per scenario and SLO, named after both.
    names = healthy.outcomes()
    assert names["test_load_health_p95_within_slo[LOAD-HTTP-HEALTH local/health]"] == "passed"
    assert names["test_load_health_error_ratio_within_slo[LOAD-HTTP-HEALTH local/health]"] == "passed"
    assert names["test_load_api_avg_within_slo[LOAD-HTTP-API local/api-mix]"] == "passed"
    assert names["test_load_ws_sessions_held_within_slo[LOAD-WS-CONCURRENT local/ws-sessions]"] == "passed"
    assert names["test_load_llm_generator_not_saturated[LOAD-LLM-CHAT local/chat]"] == "passed"


def test_each_scenario_writes_reports_and_history(healthy: LoadRun) -> None:
    (run_dir,) = [p for p in healthy.reports.iterdir() if p.is_dir()]
    for scenario in SCENARIOS:
        for name in ("locust.html", "locust_stats.csv", "locust.json", "summary.json"):
            assert (run_dir / scenario / name).is_file(), (scenario, name)
        summary = json.loads((run_dir / scenario / "summary.json").read_text())
        assert summary["slo_ok"] is True and summary["generator_cpu"]["saturated"] is False
    history = [json.loads(line) for line in (healthy.reports / "history.jsonl").read_text().splitlines()]
    assert sorted(h["scenario"] for h in history) == sorted(SCENARIOS)
    ws = json.loads((run_dir / "ws-sessions" / "summary.json").read_text())
    connect = next(e for e in ws["entries"] if e["method"] == "WS-CONNECT")
    assert connect["requests"] >= 1000 and connect["failures"] == 0  # gevent client at 1,000+ users


def test_no_secret_in_any_report(healthy: LoadRun, secrets: dict[str, str]) -> None:
    texts = [
        p.read_text(errors="replace")
        for d in (healthy.reports, healthy.out)
        for p in d.rglob("*")
        if p.is_file()
    ]
    texts.append(healthy.stdout)
    password = secrets["INFRAGATE_LOCAL_APP_PASSWORD"]
    assert not [t[:80] for t in texts if password in t]
    assert not [t[:80] for t in texts if "eyJ" in t]  # no JWT (access token) either


def test_api_slow_fails_the_api_p95_slo_and_is_a_regression(
    stack: Any, run_load: Callable[..., LoadRun], healthy: LoadRun
) -> None:
    # Three healthy runs of the same profile make a baseline (the healthy line, repeated).
    history = healthy.reports / "history.jsonl"
    api_line = next(line for line in history.read_text().splitlines() if '"api-mix"' in line)
    with history.open("a") as handle:
        handle.write(api_line + "\n" + api_line + "\n")
    stack.fault("api-slow")
    try:
        run = run_load("-k", "test_load_api", name="api-slow")
    finally:
        stack.heal("api-slow")
    p95 = run.case("test_load_api_p95_within_slo[LOAD-HTTP-API local/api-mix]")
    assert p95["outcome"] == "failed", p95
    assert "p95: measured" in p95["message"] and "vs threshold <= 500 ms" in p95["message"]
    assert "remedy:" in p95["message"]
    assert run.returncode == 1
    # regression_fails = false in local.toml: a warning, and the test itself passes.
    assert run.case("test_load_api_p95_no_regression[LOAD-HTTP-API local/api-mix]")["outcome"] == "passed"
    assert "LoadRegressionWarning" in run.stdout and "p95 regressed" in run.stdout


def test_ws_headers_removed_fails_the_websocket_scenario(
    stack: Any, run_load: Callable[..., LoadRun]
) -> None:
    stack.fault("ws-headers-removed")
    try:
        run = run_load("-k", "test_load_ws", name="ws-headers-removed")
    finally:
        stack.heal("ws-headers-removed")
    handshakes = run.case("test_load_ws_failed_handshakes_within_slo[LOAD-WS-CONCURRENT local/ws-sessions]")
    assert handshakes["outcome"] == "failed", handshakes
    assert "failed handshakes: measured 1000 vs threshold <= 0" in handshakes["message"]
    # Never a pass. 1,000 users retrying refused handshakes can also saturate the generator on a busy
    # 2-core machine (seen in CI): then the run refuses to judge the SLO (an error naming the saturation)
    # rather than report the generator's numbers; either keeps the scenario red.
    held = run.case("test_load_ws_sessions_held_within_slo[LOAD-WS-CONCURRENT local/ws-sessions]")
    assert held["outcome"] == "failed" or (
        held["outcome"] == "error" and "load generator saturated" in held["message"]
    ), held


def test_service_stopped_fails_the_error_ratio_slo(stack: Any, run_load: Callable[..., LoadRun]) -> None:
    stack.fault("service-stopped")
    try:
        run = run_load("-k", "test_load_health", name="service-stopped")
    finally:
        stack.heal("service-stopped")
    errors = run.case("test_load_health_error_ratio_within_slo[LOAD-HTTP-HEALTH local/health]")
    assert errors["outcome"] == "failed", errors
    assert "error ratio: measured 100.00% vs threshold <= 1.00%" in errors["message"]


def test_distributed_master_and_two_workers(run_load: Callable[..., LoadRun]) -> None:
    run = run_load("-k", "test_load_health", "--load-workers", "2", name="distributed")
    bad = {c["name"]: c["message"][:300] for c in run.cases if c["outcome"] in ("failed", "error")}
    assert not bad and run.returncode == 0, bad or run.stdout[-2000:]
    summary_path = max(run.reports.glob("*/health/summary.json"), key=lambda p: p.stat().st_mtime)
    summary = json.loads(summary_path.read_text())
    assert summary["workers"] == 2 and "--master" in summary["command"]
    roles = sorted(p["role"] for p in summary["generator_cpu"]["processes"])
    assert roles == ["master", "worker", "worker"]
    assert summary["aggregate"]["requests"] > 1000
