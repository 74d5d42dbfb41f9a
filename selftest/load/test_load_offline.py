"""Offline tests of infragate.load: planning, parsing, SLO verdicts, regression, secrets, saturation.

No Locust import (it would monkey-patch this interpreter) and no network: results are built from the
formats Locust writes, copied from real runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from infragate.catalog import load_catalog
from infragate.inventory import (
    Load,
    LoadRequest,
    LoadScenario,
    LoadWebSocket,
    Secret,
    Target,
    load_target,
)
from infragate.load import (
    WS_CONNECT,
    WS_ECHO,
    WS_HOLD,
    WS_OPEN,
    CpuReport,
    LoadOutcome,
    LoadSession,
    Plan,
    PlanError,
    ProcessCpu,
    RegressionVerdict,
    RequestStats,
    RunResult,
    aggregate,
    detect_regression,
    evaluate,
    parse_failures_csv,
    parse_stats_csv,
    parse_stats_json,
    plan_scenario,
    read_history,
    scenarios,
    write_summary,
)
from selftest.unit.test_inventory import LOCAL_SECRETS, _local_copy

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILES = ROOT / "tests_load" / "locustfiles"
CATALOG = load_catalog()
PASSWORD = "s3cr3t-Pa55-do-not-leak"

# A real Locust 2.47 stats CSV (2 requests, percentiles rounded by Locust).
STATS_CSV = """\
Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,\
Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,/api/items,327,0,12,13.3,4.1,88.2,1024.0,28.6,0.0,12,14,15,16,19,23,30,41,88,88,88
GET,/api/items/{id},607,3,12,13.3,3.9,95.0,120.0,53.0,0.26,12,14,15,16,19,23,31,45,95,95,95
,Aggregated,934,3,12,13.3,3.9,95.0,466.0,81.6,0.26,12,14,15,16,19,23,31,44,95,95,95
"""
FAILURES_CSV = """\
Method,Name,Error,Occurrences
GET,/api/items/{id},LocustBadStatusCode(code=404),3
"""


def _entry(
    method: str, name: str, times: dict[int, int], failures: int = 0, span: float = 10.0
) -> RequestStats:
    count = sum(times.values())
    total = sum(k * v for k, v in times.items())
    return RequestStats(
        method=method,
        name=name,
        requests=count,
        failures=failures,
        avg_ms=total / count if count else 0.0,
        min_ms=float(min(times, default=0)),
        max_ms=float(max(times, default=0)),
        rps=count / span,
        histogram=times,
        start=1000.0,
        end=1000.0 + span,
    )


def _target(tmp_path: Path, **load: object) -> Target:
    return Target(name="unit", path=tmp_path / "unit.toml", load=Load(**load))  # type: ignore[arg-type]


def _api(**fields: object) -> LoadScenario:
    base: dict[str, object] = {
        "name": "api-mix",
        "check": "LOAD-HTTP-API",
        "base_url": "https://localhost:18443",
        "requests": (LoadRequest(path="/api/items", weight=3), LoadRequest(path="/api/me", auth=True)),
        "users": 10,
        "duration_s": 5.0,
        "username": "demo",
        "password_env": Secret("UNIT_APP_PASSWORD", PASSWORD),
    }
    base.update(fields)
    return LoadScenario(**base)  # type: ignore[arg-type]


def _ws(**fields: object) -> LoadWebSocket:
    base: dict[str, object] = {
        "name": "ws",
        "url": "wss://localhost:18443/ws/secure",
        "sessions": 100,
        "spawn_rate": 50.0,
        "hold_s": 5.0,
        "token_url": "https://localhost:18443/auth/login",
        "username": "demo",
        "password_env": Secret("UNIT_APP_PASSWORD", PASSWORD),
    }
    base.update(fields)
    return LoadWebSocket(**base)  # type: ignore[arg-type]


def _plan(
    target: Target,
    entry: LoadScenario | LoadWebSocket,
    *,
    allow_sensitive: bool = False,
    workers: int = 0,
    processes: int | None = None,
) -> Plan:
    return plan_scenario(
        target,
        CATALOG,
        entry,
        allow_sensitive=allow_sensitive,
        workers=workers,
        processes=processes,
        locustfile_dir=LOCUSTFILES,
    )


def _result(
    plan: Plan, entries: list[RequestStats], tmp_path: Path, cpu: CpuReport | None = None
) -> RunResult:
    return RunResult(
        plan=plan,
        out_dir=tmp_path,
        exit_code=0,
        wall_s=7.0,
        entries=tuple(entries),
        failures=(),
        cpu=cpu or CpuReport((), 10.0),
        started="2026-11-28T00:00:00+00:00",
    )


# ---------------------------------------------------------------------------- planning


def test_command_is_bounded_headless_and_writes_every_report(tmp_path: Path) -> None:
    plan = _plan(_target(tmp_path), _api())
    cmd = plan.command(tmp_path / "out")
    assert cmd[1:3] == ["-m", "locust"]
    assert cmd[cmd.index("-f") + 1].endswith("tests_load/locustfiles/api_users.py")
    for flag in ("--headless", "--only-summary"):
        assert flag in cmd
    assert cmd[cmd.index("--users") + 1] == "10"
    assert cmd[cmd.index("--spawn-rate") + 1] == "25"  # catalog default for LOAD-HTTP-API
    assert cmd[cmd.index("--run-time") + 1] == "5s"
    assert cmd[cmd.index("--csv") + 1] == str(tmp_path / "out" / "locust")
    assert cmd[cmd.index("--html") + 1] == str(tmp_path / "out" / "locust.html")
    assert cmd[cmd.index("--json-file") + 1] == str(tmp_path / "out" / "locust")
    assert "--processes" not in cmd
    assert plan.timeout_s > plan.run_time_s


def test_processes_and_distributed_commands(tmp_path: Path) -> None:
    local = _plan(_target(tmp_path), _api(processes=2))
    assert local.command(tmp_path)[-2:] == ["--processes", "2"]
    dist = _plan(_target(tmp_path), _api(), workers=2)
    master = dist.command(tmp_path, role="master", master_port=5557)
    assert master[master.index("--expect-workers") + 1] == "2"
    assert master[master.index("--master-bind-host") + 1] == "127.0.0.1"
    worker = dist.command(tmp_path, role="worker", master_port=5557)
    assert "--worker" in worker and worker[worker.index("--master-port") + 1] == "5557"
    assert "--users" not in worker  # workers take users and run time from the master


def test_catalog_defaults_fill_unset_numbers(tmp_path: Path) -> None:
    plan = _plan(_target(tmp_path), _api(users=None, duration_s=None, spawn_rate=None))
    assert (plan.users, plan.spawn_rate, plan.run_time_s) == (50, 25.0, 30)
    slos = {s.key: s.threshold for s in plan.slos}
    assert slos == {
        "max_error_ratio": 0.01,
        "max_avg_ms": 200.0,
        "max_p50_ms": None,
        "max_p95_ms": 500.0,
        "max_p99_ms": None,
        "min_rps": 50.0,
    }


def test_target_thresholds_table_overrides_catalog(tmp_path: Path) -> None:
    target = replace(_target(tmp_path), thresholds={"LOAD-HTTP-API": {"max_p95_ms": 250}})
    plan = _plan(target, _api())
    assert next(s for s in plan.slos if s.key == "max_p95_ms").threshold == 250.0
    own = _plan(target, _api(max_p95_ms=100.0))
    assert next(s for s in own.slos if s.key == "max_p95_ms").threshold == 100.0


@pytest.mark.parametrize(
    ("fields", "load", "message"),
    [
        ({"users": 2000}, {}, "exceed load.max_users"),
        ({"duration_s": 600.0}, {}, "exceeds load.max_duration_s"),
        ({"requests": (LoadRequest(path="http://elsewhere.example/"),)}, {}, "must start with a single '/'"),
        ({"requests": (LoadRequest(path="//elsewhere.example/x"),)}, {}, "must start with a single '/'"),
        ({"requests": ()}, {}, "at least one"),
        ({"password_env": None}, {}, "need username and password_env"),
        ({"base_url": "localhost:18443"}, {}, "absolute http/https URL"),
    ],
)
def test_plan_refuses_what_the_inventory_does_not_allow(
    tmp_path: Path, fields: dict[str, object], load: dict[str, object], message: str
) -> None:
    with pytest.raises(PlanError, match=message):
        _plan(_target(tmp_path, **load), _api(**fields))


def test_sensitive_target_needs_explicit_opt_in(tmp_path: Path) -> None:
    target = replace(_target(tmp_path), sensitive=True)
    with pytest.raises(PlanError, match="sensitive"):
        _plan(target, _api())
    assert _plan(target, _api(), allow_sensitive=True).users == 10


def test_websocket_run_time_covers_ramp_hold_and_a_message(tmp_path: Path) -> None:
    plan = _plan(_target(tmp_path), _ws())
    # 100 sessions at 50/s = 2 s ramp + 5 s hold + 2 s interval + 3 s settle
    assert plan.run_time_s == 12
    assert plan.command(tmp_path)[plan.command(tmp_path).index("--users") + 1] == "100"
    with pytest.raises(PlanError, match="max_duration_s"):
        _plan(_target(tmp_path, max_duration_s=10.0), _ws())


def test_locustfiles_come_from_the_directory_given(tmp_path: Path) -> None:
    own = tmp_path / "locustfiles"
    own.mkdir()
    (own / "api_users.py").write_text("# a project's own locustfile\n")
    plan = plan_scenario(_target(tmp_path), CATALOG, _api(), locustfile_dir=own)
    assert plan.locustfile == own / "api_users.py"
    assert plan.command(tmp_path)[plan.command(tmp_path).index("-f") + 1] == str(own / "api_users.py")
    with pytest.raises(PlanError, match=r"no locustfile .*ws_users\.py"):
        plan_scenario(_target(tmp_path), CATALOG, _ws(), locustfile_dir=own)


def test_child_imports_the_same_infragate(tmp_path: Path) -> None:
    import infragate

    env = _plan(_target(tmp_path), _api()).environment({"PYTHONPATH": "/elsewhere"})
    package = Path(infragate.__file__).resolve().parent
    paths = env["PYTHONPATH"].split(os.pathsep)
    # Either our checkout leads the child's path, or infragate is installed (a site dir, on it already).
    assert paths[0] == str(package.parent) or (paths == ["/elsewhere"] and "site-packages" in str(package))


def test_scenarios_must_sit_in_their_section(tmp_path: Path) -> None:
    target = replace(_target(tmp_path), load=Load(auth=(_api(),)))
    with pytest.raises(PlanError, match=r"load\.auth scenario 'api-mix' has check LOAD-HTTP-API"):
        scenarios(target)


def test_local_inventory_load_section_plans(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Every *_env the file names, and its run directory (CA included) moved here: no stack needed.
    for name, value in LOCAL_SECRETS.items():
        monkeypatch.setenv(name, value)
    target = load_target(_local_copy(tmp_path), CATALOG)
    plans = [_plan(target, entry) for entry in scenarios(target)]
    assert {p.check for p in plans} == {
        "LOAD-HTTP-HEALTH",
        "LOAD-HTTP-API",
        "LOAD-AUTH-FLOW",
        "LOAD-LLM-CHAT",
        "LOAD-WS-CONCURRENT",
    }
    # Bounded by the file's own load.max_duration_s (the plan refuses longer runs), and that bound
    # stays small enough for CI: the stack's load self-tests run every scenario.
    assert target.load.max_duration_s <= 30
    assert all(p.run_time_s <= target.load.max_duration_s for p in plans), [
        (p.scenario, p.run_time_s) for p in plans
    ]
    ws = next(p for p in plans if p.is_websocket)
    assert ws.users >= 1000  # the issue: prove the gevent client at 1,000+ users


# ---------------------------------------------------------------------------- secrets


def test_secret_reaches_the_child_only_through_its_environment(tmp_path: Path) -> None:
    for entry in (_api(), _ws()):
        plan = _plan(_target(tmp_path), entry)
        assert PASSWORD not in " ".join(plan.command(tmp_path))
        assert PASSWORD not in json.dumps(plan.spec)
        assert PASSWORD not in repr(plan)
        env = plan.environment({})
        assert env["UNIT_APP_PASSWORD"] == PASSWORD
        assert json.loads(env["INFRAGATE_SCENARIO"])["password_env"] == "UNIT_APP_PASSWORD"


def test_summary_and_history_never_hold_the_secret(tmp_path: Path) -> None:
    target = _target(tmp_path)
    plan = _plan(target, _api())
    out = tmp_path / "run"
    out.mkdir()
    result = _result(plan, [_entry("GET", "/api/items", {10: 90, 20: 10})], out)
    outcome = LoadOutcome(result, evaluate(result), RegressionVerdict("ok", 20.0, 20.0, 3, 0.25, False))
    text = write_summary(outcome).read_text()
    assert PASSWORD not in text
    assert json.loads(text)["spec"]["password_env"] == "UNIT_APP_PASSWORD"


# ---------------------------------------------------------------------------- parsing


def test_parse_stats_csv_keeps_every_percentile(tmp_path: Path) -> None:
    path = tmp_path / "locust_stats.csv"
    path.write_text(STATS_CSV)
    rows = parse_stats_csv(path)
    assert [r.name for r in rows] == ["/api/items", "/api/items/{id}", "Aggregated"]
    agg = rows[-1]
    assert (agg.requests, agg.failures) == (934, 3)
    assert agg.percentile(0.95) == 23.0
    assert agg.percentile(0.999) == 95.0
    assert agg.percentile(0.9999) == 95.0
    assert agg.rps == pytest.approx(81.6)
    assert agg.as_dict()["percentiles_ms"]["99.9%"] == 95.0


def test_parse_failures_csv(tmp_path: Path) -> None:
    path = tmp_path / "locust_failures.csv"
    path.write_text(FAILURES_CSV)
    (failure,) = parse_failures_csv(path)
    assert (failure.name, failure.error, failure.occurrences) == (
        "/api/items/{id}",
        "LocustBadStatusCode(code=404)",
        3,
    )
    assert parse_failures_csv(tmp_path / "missing.csv") == []


def test_parse_stats_json_uses_response_time_buckets(tmp_path: Path) -> None:
    entry = {
        "name": "/health",
        "method": "GET",
        "last_request_timestamp": 1010.0,
        "start_time": 1000.0,
        "num_requests": 100,
        "num_none_requests": 0,
        "num_failures": 2,
        "total_response_time": 2150.0,
        "max_response_time": 512.3,
        "min_response_time": 3.1,
        "total_content_length": 1500,
        "response_times": {"3": 40, "12": 50, "147": 8, "512": 2},
        "num_reqs_per_sec": {},
        "num_fail_per_sec": {},
    }
    path = tmp_path / "locust.json"
    path.write_text(json.dumps([entry]))
    (stats,) = parse_stats_json(path)
    assert stats.requests == 100 and stats.error_ratio == 0.02
    assert stats.avg_ms == pytest.approx(21.5)
    assert stats.rps == pytest.approx(10.0)
    assert stats.percentile(0.5) == 12.0
    assert stats.percentile(0.95) == 147.0  # three significant digits: 147, not Locust's default 150
    assert stats.percentile(0.99) == 512.0
    assert stats.percentile(1.0) == 512.0


def test_aggregate_merges_histograms_and_spans() -> None:
    a = _entry("GET", "/a", {10: 90, 100: 10}, span=10.0)
    b = replace(_entry("POST", "/b", {20: 100}, failures=5), start=1005.0, end=1020.0)
    total = aggregate([a, b])
    assert total.requests == 200 and total.failures == 5
    assert total.histogram == {10: 90, 100: 10, 20: 100}
    assert total.rps == pytest.approx(200 / 20.0)
    assert total.avg_ms == pytest.approx((10 * 90 + 100 * 10 + 20 * 100) / 200)


# ---------------------------------------------------------------------------- verdicts


def test_http_verdicts_say_measured_vs_threshold(tmp_path: Path) -> None:
    plan = _plan(_target(tmp_path), _api(max_p99_ms=100.0))
    entries = [
        _entry("GET", "/api/items", {10: 900, 600: 60}, failures=20),
        _entry("GET", "/api/me", {15: 40}),
    ]
    verdicts = {v.slo.key: v for v in evaluate(_result(plan, entries, tmp_path))}
    assert verdicts["max_error_ratio"].ok is False
    assert verdicts["max_error_ratio"].describe() == (
        "error ratio: measured 2.00% vs threshold <= 1.00% (20 of 1000 failed)"
    )
    assert verdicts["max_p95_ms"].ok is False
    assert verdicts["max_p95_ms"].describe().startswith("p95: measured 600 ms vs threshold <= 500 ms")
    assert verdicts["max_p95_ms"].expected() == "p95 <= 500 ms"
    assert verdicts["max_p99_ms"].ok is False
    assert verdicts["max_p50_ms"].ok is None  # no threshold: reported, never judged
    assert verdicts["min_rps"].ok is True  # 1000 requests in 10 s = 100 req/s >= 50
    assert verdicts["max_avg_ms"].ok is True  # (9000 + 36000 + 600) / 1000 = 45.6 ms


def test_no_request_at_all_fails_every_judged_slo(tmp_path: Path) -> None:
    plan = _plan(_target(tmp_path), _api())
    verdicts = evaluate(_result(plan, [], tmp_path))
    judged = [v for v in verdicts if v.slo.threshold is not None]
    assert judged and all(v.ok is False and "no request was made" in v.describe() for v in judged)


def test_websocket_verdicts(tmp_path: Path) -> None:
    plan = _plan(_target(tmp_path), _ws())
    entries = [
        _entry(WS_CONNECT, "/ws/secure", {120: 98, 900: 2}, failures=2),
        _entry(WS_ECHO, "/ws/secure", {3: 950, 40: 50}),
        _entry(WS_ECHO, "/ws/secure (all open)", {2: 1000}),
        _entry(WS_HOLD, "/ws/secure", {5000: 98}),
        _entry(WS_OPEN, "/ws/secure", {0: 98}),
        _entry("POST", "/auth/login (ws token)", {10: 1}),
    ]
    verdicts = {v.slo.key: v for v in evaluate(_result(plan, entries, tmp_path))}
    assert verdicts["max_failed_handshakes"].ok is False
    assert (
        verdicts["max_failed_handshakes"]
        .describe()
        .startswith("failed handshakes: measured 2 vs threshold <= 0")
    )
    assert verdicts["max_message_p95_ms"].measured == 3.0  # both echo lines merged: 1950 of 2000 at <= 3 ms
    assert verdicts["min_sessions_held"].ok is False
    assert "98 open at once" in verdicts["min_sessions_held"].describe()


# ---------------------------------------------------------------------------- saturation


def test_cpu_peak_is_the_worst_five_second_window_inside_the_run() -> None:
    samples = tuple((1000.0 + i, pct) for i, pct in enumerate([100, 100, 40, 95, 95, 95, 95, 95, 30, 100]))
    proc = ProcessCpu(1, "local", samples)
    assert proc.peak_window() == pytest.approx(95.0)
    assert proc.peak_window(1000.0, 1002.0) == pytest.approx(80.0)  # fewer than 5 samples: their mean
    report = CpuReport((proc,), 60.0, start=1003.0, end=1007.0)
    assert report.saturated and report.peak_pct == pytest.approx(95.0)
    assert not CpuReport((proc,), 60.0, start=1000.0, end=1004.0).saturated


def test_saturated_run_trusts_only_failures_of_error_slos(tmp_path: Path) -> None:
    plan = _plan(_target(tmp_path), _api())
    hot = CpuReport((ProcessCpu(1, "local", tuple((1000.0 + i, 99.0) for i in range(10))),), 99.0)
    result = _result(plan, [_entry("GET", "/api/items", {10: 50, 900: 50}, failures=50)], tmp_path, hot)
    outcome = LoadOutcome(result, evaluate(result), RegressionVerdict("no-data", None, None, 0, 0.25, False))
    assert outcome.saturated
    assert outcome.trustworthy(outcome.verdict("max_error_ratio"))  # the target answered with errors
    assert not outcome.trustworthy(outcome.verdict("max_p95_ms"))  # latency may be the generator's
    assert "load generator saturated; results describe the generator, not the target" in str(
        outcome.saturation_error()
    )


# ---------------------------------------------------------------------------- regression


def _history(*p95: float, profile: str = "abc", ok: bool = True) -> list[dict[str, object]]:
    return [{"scenario": "api-mix", "profile": profile, "p95_ms": v, "baseline_ok": ok} for v in p95]


def test_regression_needs_enough_comparable_history() -> None:
    load = Load()
    short = detect_regression(_history(10, 11), scenario="api-mix", profile="abc", p95_ms=100.0, load=load)
    assert short.status == "insufficient-history"
    other = _history(10, 11, 12, profile="other") + _history(10, 11, 12, ok=False)
    assert detect_regression(other, scenario="api-mix", profile="abc", p95_ms=100.0, load=load).runs == 0


def test_regression_against_median_with_margin_and_floor() -> None:
    load = Load(regression_margin=0.25, regression_min_runs=3, regression_min_delta_ms=5.0)
    history = _history(100, 400, 110, 105)  # median 107.5: one outlier does not move it
    ok = detect_regression(history, scenario="api-mix", profile="abc", p95_ms=130.0, load=load)
    assert ok.status == "ok" and ok.baseline_ms == pytest.approx(107.5)
    bad = detect_regression(history, scenario="api-mix", profile="abc", p95_ms=140.0, load=load)
    assert bad.is_regression and not bad.fails
    assert bad.describe().startswith("p95 regressed: measured 140 ms vs median 108 ms of 4 previous run(s)")
    tiny = detect_regression(_history(2, 2, 2), scenario="api-mix", profile="abc", p95_ms=6.0, load=load)
    assert tiny.status == "ok"  # +200 % but only 4 ms: below the noise floor
    fails = detect_regression(
        history, scenario="api-mix", profile="abc", p95_ms=500.0, load=replace(load, regression_fails=True)
    )
    assert fails.is_regression and fails.fails


def test_regression_window_uses_recent_runs() -> None:
    load = Load(regression_window=3, regression_min_runs=3)
    history = _history(500, 500, 500, 100, 100, 100)
    verdict = detect_regression(history, scenario="api-mix", profile="abc", p95_ms=200.0, load=load)
    assert verdict.is_regression and verdict.baseline_ms == 100.0


def test_history_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text('{"p95_ms": 1}\n{"p95_ms": 2')
    assert read_history(path) == [{"p95_ms": 1}]


def test_session_report_dirs_never_collide(tmp_path: Path) -> None:
    target = _target(tmp_path)
    first = LoadSession(
        target, CATALOG, reports_root=tmp_path, locustfile_dir=LOCUSTFILES, timestamp="20260101T000000Z"
    )
    first.run_dir.mkdir(parents=True)
    second = LoadSession(
        target, CATALOG, reports_root=tmp_path, locustfile_dir=LOCUSTFILES, timestamp="20260101T000000Z"
    )
    assert first.run_dir.name == "20260101T000000Z" and second.run_dir.name == "20260101T000000Z-2"
    assert second.history_path == tmp_path / "unit" / "history.jsonl"


# ---------------------------------------------------------------------------- the package


def test_package_exports_every_public_name_of_its_modules() -> None:
    import importlib

    import infragate.load

    modules = ("plan", "results", "runner", "judge", "history", "session")
    names = {n for m in modules for n in importlib.import_module(f"infragate.load.{m}").__all__}
    assert set(infragate.load.__all__) == names
    assert all(hasattr(infragate.load, n) for n in names)
