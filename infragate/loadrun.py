"""Load runs: a scenario becomes a bounded Locust subprocess, whose results are parsed, judged and kept.

Locust is never imported here: importing it monkey-patches sockets and ssl for the whole interpreter
(gevent), irreversibly. Everything below drives ``python -m locust`` as a child process and reads the
files it writes. The scenario reaches the child as JSON in ``INFRAGATE_SCENARIO``; secrets reach it
only as environment variables named by the inventory, never on a command line or in a report.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import psutil

from infragate.catalog import Catalog
from infragate.inventory import (
    Load,
    LoadRequest,
    LoadScenario,
    LoadWebSocket,
    Secret,
    Target,
    resolve_threshold,
)

__all__ = [
    "CPU_SATURATION_PCT",
    "ERROR_SLOS",
    "LOCUSTFILES",
    "LOCUSTFILE_DIR",
    "REPORTS_ROOT",
    "SCENARIO_ENV",
    "SECTIONS",
    "WS_CONNECT",
    "WS_ECHO",
    "WS_HOLD",
    "WS_OPEN",
    "CpuReport",
    "Failure",
    "GeneratorSaturated",
    "LoadOutcome",
    "LoadRegressionWarning",
    "LoadRunError",
    "LoadSession",
    "Plan",
    "PlanError",
    "ProcessCpu",
    "RegressionVerdict",
    "RequestStats",
    "RunResult",
    "Slo",
    "Verdict",
    "aggregate",
    "append_history",
    "detect_regression",
    "evaluate",
    "parse_failures_csv",
    "parse_stats_csv",
    "parse_stats_json",
    "percentile",
    "plan_scenario",
    "read_history",
    "run_plan",
    "scenario_spec",
    "scenarios",
    "write_summary",
]

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE_DIR = ROOT / "tests_load" / "locustfiles"
REPORTS_ROOT = ROOT / "reports" / "load"
SCENARIO_ENV = "INFRAGATE_SCENARIO"

# One locustfile (one User class) per catalog check.
LOCUSTFILES: Mapping[str, str] = {
    "LOAD-HTTP-HEALTH": "health_users.py",
    "LOAD-HTTP-API": "api_users.py",
    "LOAD-AUTH-FLOW": "auth_users.py",
    "LOAD-LLM-CHAT": "chat_users.py",
    "LOAD-WS-CONCURRENT": "ws_users.py",
}
# Which checks an inventory section may hold (load.http holds both HTTP checks).
SECTIONS: Mapping[str, tuple[str, ...]] = {
    "http": ("LOAD-HTTP-HEALTH", "LOAD-HTTP-API"),
    "auth": ("LOAD-AUTH-FLOW",),
    "llm": ("LOAD-LLM-CHAT",),
    "websocket": ("LOAD-WS-CONCURRENT",),
}

# Request types the WebSocket users report through Locust's request event: separate "methods" so
# each shows as its own line in Locust's stats and HTML, and never mixes with HTTP latency.
WS_CONNECT = "WS-CONNECT"
WS_ECHO = "WS-ECHO"
WS_HOLD = "WS-HOLD"
WS_OPEN = "WS-OPEN"
_WS_PSEUDO = (WS_HOLD, WS_OPEN)  # bookkeeping entries, not requests: never in the aggregate
# SLOs whose failure a saturated generator cannot cause: the target itself answered with errors.
ERROR_SLOS = frozenset({"max_error_ratio", "max_failed_handshakes"})

# Locust's own rule: above 90 % over a 5-second window the generator is the bottleneck (the default
# of load.generator_cpu_limit_pct).
CPU_SATURATION_PCT = 90.0
CPU_WINDOW_S = 5
# Locust's start-up (imports, parsing) and shutdown (HTML report) are not load: outside the
# requests' time span samples are ignored; this much slack keeps the first and last window honest.
_STARTUP_GRACE_S = 30.0
_WS_SETTLE_S = 3.0
PERCENTILES = (0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)


class PlanError(ValueError):
    """A scenario cannot run as declared: outside the target's bounds, or incomplete."""


class LoadRunError(RuntimeError):
    """Locust did not produce results (crashed, timed out, or wrote nothing)."""


class GeneratorSaturated(RuntimeError):
    """The load generator ran out of CPU: its results describe itself, not the target."""


class LoadRegressionWarning(UserWarning):
    """A run's p95 is worse than the median of previous runs by more than the margin."""


# ---------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Slo:
    """One service-level objective of a scenario: ``measured <= threshold`` (max) or ``>=`` (min)."""

    key: str
    label: str
    bound: Literal["max", "min"]
    unit: Literal["ms", "ratio", "req/s", "count"]
    threshold: float | None


@dataclass(frozen=True)
class Plan:
    """Everything needed to run one scenario, already checked against the target's bounds."""

    target: str
    scenario: str
    check: str
    locustfile: Path
    users: int
    spawn_rate: float
    run_time_s: int
    processes: int
    workers: int
    timeout_s: float
    spec: Mapping[str, Any]
    slos: tuple[Slo, ...]
    load: Load
    secrets: tuple[Secret, ...] = ()

    @property
    def is_websocket(self) -> bool:
        """True for the WebSocket scenario (its SLOs read WS-* entries, not the HTTP aggregate)."""
        return self.check == "LOAD-WS-CONCURRENT"

    @property
    def profile(self) -> str:
        """A short hash of what shapes latency; only runs with the same profile are compared."""
        shape = {
            "spec": self.spec,
            "users": self.users,
            "spawn_rate": self.spawn_rate,
            "run_time_s": self.run_time_s,
            "processes": self.processes,
            "workers": self.workers,
        }
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:12]

    def command(
        self,
        out_dir: Path,
        *,
        role: Literal["local", "master", "worker"] = "local",
        master_port: int | None = None,
    ) -> list[str]:
        """The Locust command line for one process of this plan (argument list, never a shell string)."""
        base = [sys.executable, "-m", "locust", "-f", str(self.locustfile), "--headless", "--only-summary"]
        if role == "worker":
            return [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(master_port)]
        cmd = [
            *base,
            "--users",
            str(self.users),
            "--spawn-rate",
            f"{self.spawn_rate:g}",
            "--run-time",
            f"{self.run_time_s}s",
            "--csv",
            str(out_dir / "locust"),
            "--html",
            str(out_dir / "locust.html"),
            # Locust appends ".json" itself.
            "--json-file",
            str(out_dir / "locust"),
        ]
        if role == "master":
            cmd += [
                "--master",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                str(master_port),
                "--expect-workers",
                str(self.workers),
                "--expect-workers-max-wait",
                "30",
            ]
        elif self.processes > 1:
            cmd += ["--processes", str(self.processes)]
        return cmd

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The child's environment: ours, the scenario JSON, and each secret under its own name."""
        env = dict(os.environ if base is None else base)
        env[SCENARIO_ENV] = json.dumps(self.spec, sort_keys=True)
        for secret in self.secrets:
            env[secret.env] = secret.value
        # The locustfiles import infragate from the repository they belong to.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        return env


def _threshold(catalog: Catalog, target: Target, check: str, key: str, entry: object) -> Any:
    """A threshold, or None when neither the entry, the target nor the catalog sets one."""
    try:
        return resolve_threshold(catalog, target, check, key, entry)
    except KeyError:
        return None


def _check_path(path: str, where: str) -> None:
    """Request paths are relative to the base URL, so load never leaves the inventory's target."""
    if not path.startswith("/") or path.startswith("//"):
        raise PlanError(f"{where}: path {path!r} must start with a single '/' (relative to base_url)")


def _check_url(url: str, schemes: tuple[str, ...], where: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise PlanError(f"{where}: {url!r} must be an absolute {'/'.join(schemes)} URL")


def _request_spec(request: LoadRequest) -> dict[str, Any]:
    return {
        "path": request.path,
        "method": request.method,
        "weight": request.weight,
        "name": request.group or request.path,
        "json": dict(request.json) if request.json is not None else None,
        "auth": request.auth,
    }


def scenario_spec(target: Target, catalog: Catalog, entry: LoadScenario | LoadWebSocket) -> dict[str, Any]:
    """The JSON-able scenario a locustfile runs: resolved numbers, CA path, secret *names* only."""
    ca = target.trust(entry)
    common: dict[str, Any] = {
        "target": target.name,
        "name": entry.name,
        "ca_bundle": str(ca) if ca else None,
        "username": entry.username,
        "password_env": entry.password_env.env if entry.password_env else None,
        "timeout_s": entry.timeout_s,
    }
    if isinstance(entry, LoadWebSocket):
        check = "LOAD-WS-CONCURRENT"
        return {
            **common,
            "check": check,
            "url": entry.url,
            "message": entry.message,
            "message_interval_s": entry.message_interval_s,
            "hold_s": float(_threshold(catalog, target, check, "hold_s", entry) or 0.0),
            "token_url": entry.token_url,
            "token_param": entry.token_param,
        }
    return {
        **common,
        "check": entry.check,
        "base_url": entry.base_url.rstrip("/"),
        "requests": [_request_spec(r) for r in entry.requests],
        "pacing_s": entry.pacing_s,
        "login_path": entry.login_path,
        "refresh_path": entry.refresh_path,
        "refresh_every": entry.refresh_every,
    }


def _slos(
    catalog: Catalog, target: Target, check: str, entry: LoadScenario | LoadWebSocket
) -> tuple[Slo, ...]:
    def t(key: str) -> float | None:
        value = _threshold(catalog, target, check, key, entry)
        return None if value is None else float(value)

    if isinstance(entry, LoadWebSocket):
        sessions = t("sessions")
        held = entry.min_sessions_held if entry.min_sessions_held is not None else sessions
        return (
            Slo("max_failed_handshakes", "failed handshakes", "max", "count", t("max_failed_handshakes")),
            Slo("max_message_p95_ms", "message round-trip p95", "max", "ms", t("max_message_p95_ms")),
            Slo("min_sessions_held", "sessions held", "min", "count", None if held is None else float(held)),
        )
    return (
        Slo("max_error_ratio", "error ratio", "max", "ratio", t("max_error_ratio")),
        Slo("max_avg_ms", "average", "max", "ms", t("max_avg_ms")),
        Slo("max_p50_ms", "p50", "max", "ms", t("max_p50_ms")),
        Slo("max_p95_ms", "p95", "max", "ms", t("max_p95_ms")),
        Slo("max_p99_ms", "p99", "max", "ms", t("max_p99_ms")),
        Slo("min_rps", "throughput", "min", "req/s", t("min_rps")),
    )


def plan_scenario(
    target: Target,
    catalog: Catalog,
    entry: LoadScenario | LoadWebSocket,
    *,
    allow_sensitive: bool = False,
    workers: int = 0,
    processes: int | None = None,
    locustfile_dir: Path = LOCUSTFILE_DIR,
) -> Plan:
    """Check a scenario against the target's load bounds and turn it into a runnable Plan."""
    where = f"{target.name}/{entry.name}"
    if target.load is None:
        raise PlanError(f"{target.name}: no [load] section in {target.path}")
    load = target.load
    if target.sensitive and not allow_sensitive:
        raise PlanError(f"{target.name} is sensitive: load needs an explicit opt-in (--allow-load)")
    check = "LOAD-WS-CONCURRENT" if isinstance(entry, LoadWebSocket) else entry.check
    spec = scenario_spec(target, catalog, entry)

    if isinstance(entry, LoadWebSocket):
        _check_url(entry.url, ("ws", "wss"), where)
        if entry.token_url is not None:
            _check_url(entry.token_url, ("http", "https"), where)
            if entry.username is None or entry.password_env is None:
                raise PlanError(f"{where}: token_url needs username and password_env")
        users = int(_threshold(catalog, target, check, "sessions", entry))
        spawn_rate = float(_threshold(catalog, target, check, "spawn_rate", entry))
        hold_s = float(spec["hold_s"])
        if entry.message_interval_s <= 0 or hold_s <= 0:
            raise PlanError(f"{where}: hold_s and message_interval_s must be positive")
        # Every session must have time to open, hold, and report its hold before Locust stops.
        duration = math.ceil(users / spawn_rate) + hold_s + entry.message_interval_s + _WS_SETTLE_S
    else:
        _check_url(entry.base_url, ("http", "https"), where)
        if not entry.requests:
            raise PlanError(f"{where}: declare at least one [[...requests]] entry")
        for i, request in enumerate(entry.requests):
            _check_path(request.path, f"{where}.requests[{i}]")
            if request.weight < 1:
                raise PlanError(f"{where}.requests[{i}]: weight must be at least 1")
        needs_login = check == "LOAD-AUTH-FLOW" or any(r.auth for r in entry.requests)
        if needs_login:
            _check_path(entry.login_path, f"{where}.login_path")
            _check_path(entry.refresh_path, f"{where}.refresh_path")
            if entry.username is None or entry.password_env is None:
                raise PlanError(f"{where}: authenticated requests need username and password_env")
        users = int(_threshold(catalog, target, check, "users", entry))
        spawn_rate = float(_threshold(catalog, target, check, "spawn_rate", entry))
        duration = float(_threshold(catalog, target, check, "duration_s", entry))

    if users < 1 or spawn_rate <= 0 or duration <= 0:
        raise PlanError(f"{where}: users, spawn_rate and duration must be positive")
    if users > load.max_users:
        raise PlanError(f"{where}: {users} users exceed load.max_users = {load.max_users} of {target.name}")
    run_time_s = math.ceil(duration)
    if run_time_s > load.max_duration_s:
        raise PlanError(
            f"{where}: a {run_time_s} s run exceeds load.max_duration_s = {load.max_duration_s:g} of "
            f"{target.name}"
        )
    procs = processes if processes is not None else (entry.processes or 1)
    if procs < 1 or workers < 0:
        raise PlanError(f"{where}: processes must be at least 1 and workers at least 0")
    secrets = tuple(s for s in (entry.password_env,) if s is not None)
    return Plan(
        target=target.name,
        scenario=entry.name,
        check=check,
        locustfile=locustfile_dir / LOCUSTFILES[check],
        users=users,
        spawn_rate=spawn_rate,
        run_time_s=run_time_s,
        processes=1 if workers else procs,
        workers=workers,
        # Start-up, worker connection (up to 30 s with --expect-workers-max-wait), shutdown: a hard
        # ceiling so a wedged Locust can never outlive the run it was given.
        timeout_s=run_time_s + _STARTUP_GRACE_S + (30.0 if workers else 0.0),
        spec=spec,
        slos=_slos(catalog, target, check, entry),
        load=load,
        secrets=secrets,
    )


def scenarios(target: Target) -> list[LoadScenario | LoadWebSocket]:
    """Every load scenario the target declares, after checking each sits in the right section."""
    if target.load is None:
        return []
    found: list[LoadScenario | LoadWebSocket] = []
    names: set[str] = set()
    for section, checks in SECTIONS.items():
        for entry in getattr(target.load, section):
            check = "LOAD-WS-CONCURRENT" if isinstance(entry, LoadWebSocket) else entry.check
            if check not in checks:
                raise PlanError(
                    f"{target.name}: load.{section} scenario {entry.name!r} has check {check}; "
                    f"this section holds {', '.join(checks)}"
                )
            if entry.name in names:
                raise PlanError(f"{target.name}: two load scenarios are named {entry.name!r}")
            names.add(entry.name)
            found.append(entry)
    return found


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RequestStats:
    """One line of Locust's statistics: a request name (and method), or the aggregate."""

    method: str
    name: str
    requests: int
    failures: int
    avg_ms: float
    min_ms: float
    max_ms: float
    rps: float
    # response-time bucket (ms) -> count; empty when parsed from the CSV, which only has percentiles
    histogram: Mapping[int, int] = field(default_factory=dict)
    # "50%" ... "100%" -> ms, as Locust's CSV reports them (used when there is no histogram)
    reported: Mapping[str, float] = field(default_factory=dict)
    start: float = 0.0
    end: float = 0.0

    @property
    def error_ratio(self) -> float:
        """Failed requests over all requests (Locust counts failures among requests)."""
        return self.failures / self.requests if self.requests else 0.0

    @property
    def successes(self) -> int:
        """Requests that did not fail."""
        return self.requests - self.failures

    def percentile(self, q: float) -> float | None:
        """Response time (ms) under which a fraction ``q`` of the requests finished; None without data."""
        if self.histogram:
            return float(percentile(self.histogram, q))
        return self.reported.get(_percent_label(q))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary with every reported percentile."""
        return {
            "method": self.method,
            "name": self.name,
            "requests": self.requests,
            "failures": self.failures,
            "error_ratio": self.error_ratio,
            "avg_ms": self.avg_ms,
            "min_ms": self.min_ms,
            "max_ms": self.max_ms,
            "rps": self.rps,
            "percentiles_ms": {_percent_label(q): self.percentile(q) for q in PERCENTILES},
        }


@dataclass(frozen=True)
class Failure:
    """One line of Locust's failures table (the error text comes from the target, not from us)."""

    method: str
    name: str
    error: str
    occurrences: int


def _percent_label(q: float) -> str:
    value = q * 100
    return f"{int(value) if value.is_integer() else round(value, 6)}%"


def percentile(histogram: Mapping[int, int], q: float) -> int:
    """Locust's percentile over bucketed response times (same algorithm, so numbers match its report)."""
    total = sum(histogram.values())
    wanted = int(total * q)
    seen = 0
    for bucket in sorted(histogram, reverse=True):
        seen += histogram[bucket]
        if total - seen <= wanted:
            return bucket
    return 0


def _float(value: str | None) -> float:
    if value in (None, "", "N/A"):
        return 0.0
    return float(value)


def parse_stats_json(path: Path) -> list[RequestStats]:
    """Entries of Locust's ``--json-file`` (complete, written at exit, with response-time buckets)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    entries: list[RequestStats] = []
    for item in raw:
        count = int(item["num_requests"])
        timed = count - int(item.get("num_none_requests") or 0)
        start = float(item.get("start_time") or 0.0)
        end = float(item.get("last_request_timestamp") or start)
        entries.append(
            RequestStats(
                method=str(item.get("method") or ""),
                name=str(item["name"]),
                requests=count,
                failures=int(item["num_failures"]),
                avg_ms=float(item["total_response_time"]) / timed if timed else 0.0,
                min_ms=float(item.get("min_response_time") or 0.0),
                max_ms=float(item.get("max_response_time") or 0.0),
                rps=count / (end - start) if end > start else 0.0,
                histogram={int(float(k)): int(v) for k, v in (item.get("response_times") or {}).items()},
                start=start,
                end=end,
            )
        )
    return entries


def parse_stats_csv(path: Path) -> list[RequestStats]:
    """Rows of Locust's ``<prefix>_stats.csv``, the Aggregated row included, with every percentile column.

    Locust rewrites this file once a second while running and not at exit, so its counts may miss the
    last second; the JSON file is the complete record and is preferred when present.
    """
    rows: list[RequestStats] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            reported = {k: _float(v) for k, v in row.items() if k.endswith("%") and v not in ("", "N/A")}
            rows.append(
                RequestStats(
                    method=row["Type"],
                    name=row["Name"],
                    requests=int(row["Request Count"]),
                    failures=int(row["Failure Count"]),
                    avg_ms=_float(row["Average Response Time"]),
                    min_ms=_float(row["Min Response Time"]),
                    max_ms=_float(row["Max Response Time"]),
                    rps=_float(row["Requests/s"]),
                    reported=reported,
                )
            )
    return rows


def parse_failures_csv(path: Path) -> list[Failure]:
    """Rows of Locust's ``<prefix>_failures.csv``."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Failure(row["Method"], row["Name"], row["Error"], int(row["Occurrences"]))
            for row in csv.DictReader(handle)
        ]


def aggregate(entries: Iterable[RequestStats], name: str = "Aggregated") -> RequestStats:
    """Merge entries the way Locust builds its Aggregated line (histograms added, span from first to last)."""
    items = list(entries)
    histogram: dict[int, int] = {}
    for entry in items:
        for bucket, count in entry.histogram.items():
            histogram[bucket] = histogram.get(bucket, 0) + count
    requests = sum(e.requests for e in items)
    start = min((e.start for e in items if e.requests), default=0.0)
    end = max((e.end for e in items if e.requests), default=0.0)
    timed = sum(histogram.values())
    total_ms = sum(e.avg_ms * sum(e.histogram.values()) for e in items)
    return RequestStats(
        method="",
        name=name,
        requests=requests,
        failures=sum(e.failures for e in items),
        avg_ms=total_ms / timed if timed else 0.0,
        min_ms=min((e.min_ms for e in items if e.requests), default=0.0),
        max_ms=max((e.max_ms for e in items), default=0.0),
        rps=requests / (end - start) if end > start else 0.0,
        histogram=histogram,
        start=start,
        end=end,
    )


@dataclass(frozen=True)
class ProcessCpu:
    """CPU use of one generator process, sampled once a second from outside (psutil)."""

    pid: int
    role: str
    samples: tuple[tuple[float, float], ...]  # (wall-clock time, percent of one core)

    def in_window(self, start: float | None, end: float | None) -> list[float]:
        """Percentages sampled while requests were being made (start-up and shutdown are not load)."""
        return [pct for t, pct in self.samples if (start is None or t >= start) and (end is None or t <= end)]

    def peak_window(self, start: float | None = None, end: float | None = None) -> float:
        """The highest mean over any ``CPU_WINDOW_S`` consecutive samples (all of them if fewer)."""
        values = self.in_window(start, end)
        if not values:
            return 0.0
        if len(values) <= CPU_WINDOW_S:
            return statistics.fmean(values)
        return max(
            statistics.fmean(values[i : i + CPU_WINDOW_S]) for i in range(len(values) - CPU_WINDOW_S + 1)
        )


@dataclass(frozen=True)
class CpuReport:
    """The generator's own CPU over a run; saturated when any process exceeded the limit for a window."""

    processes: tuple[ProcessCpu, ...]
    machine_mean_pct: float
    start: float | None = None
    end: float | None = None
    limit_pct: float = CPU_SATURATION_PCT

    @property
    def peak_pct(self) -> float:
        """The worst process's peak window mean."""
        return max((p.peak_window(self.start, self.end) for p in self.processes), default=0.0)

    @property
    def saturated(self) -> bool:
        """True when the generator, not the target, set the pace."""
        return self.peak_pct > self.limit_pct

    def describe(self) -> str:
        """One line: peak per process and the machine's mean."""
        parts = [f"{p.role} {p.pid}: peak {p.peak_window(self.start, self.end):.0f}%" for p in self.processes]
        return (
            f"generator CPU {'; '.join(parts) or 'not sampled'} (limit {self.limit_pct:.0f}% over "
            f"{CPU_WINDOW_S} s); machine mean {self.machine_mean_pct:.0f}%"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form for summary.json."""
        return {
            "saturated": self.saturated,
            "peak_pct": round(self.peak_pct, 1),
            "limit_pct": self.limit_pct,
            "window_s": CPU_WINDOW_S,
            "machine_mean_pct": round(self.machine_mean_pct, 1),
            "processes": [
                {
                    "pid": p.pid,
                    "role": p.role,
                    "peak_pct": round(p.peak_window(self.start, self.end), 1),
                    "samples": [round(v, 1) for v in p.in_window(self.start, self.end)],
                }
                for p in self.processes
            ],
        }


@dataclass(frozen=True)
class RunResult:
    """What one Locust run produced: its statistics, failures, the generator's CPU, where files are."""

    plan: Plan
    out_dir: Path
    exit_code: int
    wall_s: float
    entries: tuple[RequestStats, ...]
    failures: tuple[Failure, ...]
    cpu: CpuReport
    started: str

    def entry(self, method: str, name: str | None = None) -> RequestStats:
        """Merged entries of one request type (and name); an empty entry when there are none."""
        return aggregate(
            (e for e in self.entries if e.method == method and (name is None or e.name == name)),
            name=name or method,
        )

    @property
    def total(self) -> RequestStats:
        """Aggregate of real requests (WebSocket bookkeeping lines excluded)."""
        return aggregate(e for e in self.entries if e.method not in _WS_PSEUDO)


# ---------------------------------------------------------------------------- running


class _CpuSampler(threading.Thread):
    """Samples the CPU of a set of process trees once a second until stopped."""

    def __init__(self, roots: Sequence[tuple[int, str]], interval: float = 1.0) -> None:
        super().__init__(name="infragate-cpu-sampler", daemon=True)
        self.roots = roots
        self.interval = interval
        self.samples: dict[int, list[tuple[float, float]]] = {}
        self.roles: dict[int, str] = {}
        self.machine: list[float] = []
        self._procs: dict[int, psutil.Process] = {}
        self._stop_event = threading.Event()

    def _tree(self) -> list[tuple[psutil.Process, str]]:
        found: list[tuple[psutil.Process, str]] = []
        for pid, role in self.roots:
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(pid)
                found.append((root, role))
                # --processes forks workers under the master: they do the actual work.
                found.extend((child, "worker") for child in root.children(recursive=True))
        return found

    def run(self) -> None:
        """Sample until stop() (first reading per process only primes psutil's counter)."""
        psutil.cpu_percent(None)
        while not self._stop_event.wait(self.interval):
            now = time.time()
            self.machine.append(psutil.cpu_percent(None))
            for proc, role in self._tree():
                with contextlib.suppress(psutil.Error):
                    if proc.pid not in self._procs:
                        self._procs[proc.pid] = proc
                        self.roles[proc.pid] = role
                        proc.cpu_percent(None)
                        continue
                    pct = self._procs[proc.pid].cpu_percent(None)
                    self.samples.setdefault(proc.pid, []).append((now, pct))

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop_event.set()
        self.join(timeout=5)

    def report(self, start: float | None, end: float | None, limit_pct: float) -> CpuReport:
        """The samples as a CpuReport over the given span of requests."""
        procs = tuple(
            ProcessCpu(pid, self.roles[pid], tuple(samples)) for pid, samples in sorted(self.samples.items())
        )
        machine = statistics.fmean(self.machine) if self.machine else 0.0
        return CpuReport(procs, machine, start, end, limit_pct)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """End a child we started, and its process group (Locust forks with --processes)."""
    if proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path, lines: int = 15) -> str:
    if not path.is_file():
        return "(no log)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def run_plan(plan: Plan, out_dir: Path, *, env: Mapping[str, str] | None = None) -> RunResult:
    """Run a plan as Locust subprocesses (local, --processes, or master + workers), bounded in time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    child_env = plan.environment(env)
    log_path = out_dir / "locust.log"
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.monotonic()
    procs: list[subprocess.Popen[bytes]] = []
    roots: list[tuple[int, str]] = []
    with log_path.open("ab") as log:

        def spawn(cmd: list[str], role: str) -> subprocess.Popen[bytes]:
            # Own session: a timeout can end the whole tree we started, and nothing else.
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            procs.append(proc)
            roots.append((proc.pid, role))
            return proc

        if plan.workers:
            port = _free_port()
            main = spawn(plan.command(out_dir, role="master", master_port=port), "master")
            for _ in range(plan.workers):
                spawn(plan.command(out_dir, role="worker", master_port=port), "worker")
        else:
            main = spawn(plan.command(out_dir), "local")
        sampler = _CpuSampler(roots)
        sampler.start()
        timed_out = False
        try:
            main.wait(timeout=plan.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            sampler.stop()
            for proc in procs[1:]:
                # Workers leave when the master quits; give them a moment, then make sure.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
            for proc in procs:
                _stop(proc)
    wall = time.monotonic() - t0
    if timed_out:
        raise LoadRunError(
            f"{plan.target}/{plan.scenario}: Locust still running after {plan.timeout_s:g} s, stopped; "
            f"log {log_path}:\n{_tail(log_path)}"
        )
    json_path = out_dir / "locust.json"
    csv_path = out_dir / "locust_stats.csv"
    if json_path.is_file():
        entries = parse_stats_json(json_path)
    elif csv_path.is_file():
        entries = [e for e in parse_stats_csv(csv_path) if e.name != "Aggregated"]
    else:
        raise LoadRunError(
            f"{plan.target}/{plan.scenario}: Locust exited {main.returncode} without results; "
            f"log {log_path}:\n{_tail(log_path)}"
        )
    real = [e for e in entries if e.method not in _WS_PSEUDO and e.requests]
    start = min((e.start for e in real), default=None)
    end = max((e.end for e in real), default=None)
    return RunResult(
        plan=plan,
        out_dir=out_dir,
        exit_code=main.returncode if main.returncode is not None else -1,
        wall_s=wall,
        entries=tuple(entries),
        failures=tuple(parse_failures_csv(out_dir / "locust_failures.csv")),
        cpu=sampler.report(start, end, plan.load.generator_cpu_limit_pct),
        started=started,
    )


# ---------------------------------------------------------------------------- judging


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    if unit == "ms":
        return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if unit == "req/s":
        return f"{value:.1f} req/s"
    return f"{value:.0f}"


@dataclass(frozen=True)
class Verdict:
    """One SLO judged on one run; ``ok`` is None when the SLO has no threshold."""

    slo: Slo
    measured: float | None
    ok: bool | None
    note: str = ""

    def measured_text(self) -> str:
        """The measured value with its unit, e.g. ``612 ms`` or ``2.31%``."""
        return _fmt(self.measured, self.slo.unit)

    def expected(self) -> str:
        """The SLO as a sentence fragment, e.g. ``p95 <= 500 ms``."""
        op = "<=" if self.slo.bound == "max" else ">="
        return f"{self.slo.label} {op} {_fmt(self.slo.threshold, self.slo.unit)}"

    def describe(self) -> str:
        """``measured X vs threshold Y`` with the SLO's label and unit."""
        op = "<=" if self.slo.bound == "max" else ">="
        text = (
            f"{self.slo.label}: measured {_fmt(self.measured, self.slo.unit)} vs threshold "
            f"{op} {_fmt(self.slo.threshold, self.slo.unit)}"
        )
        return f"{text} ({self.note})" if self.note else text

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form for summary.json."""
        return {**asdict(self.slo), "measured": self.measured, "ok": self.ok, "note": self.note}


def _judge(slo: Slo, measured: float | None, note: str = "") -> Verdict:
    if slo.threshold is None:
        return Verdict(slo, measured, None, note)
    if measured is None:
        return Verdict(slo, None, False, note or "nothing was measured")
    ok = measured <= slo.threshold if slo.bound == "max" else measured >= slo.threshold
    return Verdict(slo, measured, ok, note)


def evaluate(result: RunResult) -> tuple[Verdict, ...]:
    """Judge every SLO of the plan on the run's statistics."""
    verdicts: list[Verdict] = []
    if result.plan.is_websocket:
        connect = result.entry(WS_CONNECT)
        echo = result.entry(WS_ECHO)
        hold = result.entry(WS_HOLD)
        opened = result.entry(WS_OPEN)
        for slo in result.plan.slos:
            if slo.key == "max_failed_handshakes":
                note = f"{connect.requests} attempted"
                verdicts.append(_judge(slo, float(connect.failures) if connect.requests else None, note))
            elif slo.key == "max_message_p95_ms":
                p95 = echo.percentile(0.95) if echo.requests else None
                note = f"{echo.requests} messages, {echo.failures} failed"
                verdicts.append(_judge(slo, p95, note))
            elif slo.key == "min_sessions_held":
                note = (
                    f"held {result.plan.spec['hold_s']:g} s; {opened.requests} open at once, "
                    f"{hold.failures} dropped early"
                )
                verdicts.append(_judge(slo, float(hold.successes), note))
        return tuple(verdicts)
    total = result.total
    for slo in result.plan.slos:
        if not total.requests:
            verdicts.append(_judge(slo, None, "no request was made"))
            continue
        if slo.key == "max_error_ratio":
            measured: float | None = total.error_ratio
            note = f"{total.failures} of {total.requests} failed"
        elif slo.key == "max_avg_ms":
            measured, note = total.avg_ms, ""
        elif slo.key == "min_rps":
            measured, note = total.rps, f"{total.requests} requests"
        else:
            q = {"max_p50_ms": 0.5, "max_p95_ms": 0.95, "max_p99_ms": 0.99}[slo.key]
            measured = total.percentile(q)
            note = f"{total.requests} requests"
        verdicts.append(_judge(slo, measured, note))
    return tuple(verdicts)


def headline_p95(result: RunResult) -> float | None:
    """The p95 a run is remembered by: HTTP aggregate, or WebSocket message round trip."""
    stats = result.entry(WS_ECHO) if result.plan.is_websocket else result.total
    return stats.percentile(0.95) if stats.requests else None


@dataclass(frozen=True)
class RegressionVerdict:
    """Is this run's p95 worse than the median of the previous comparable runs by more than the margin?"""

    status: Literal["ok", "regression", "insufficient-history", "no-data"]
    p95_ms: float | None
    baseline_ms: float | None
    runs: int
    margin: float
    fails: bool

    @property
    def is_regression(self) -> bool:
        """True when the run regressed."""
        return self.status == "regression"

    def describe(self) -> str:
        """One line for a warning, a failure message or the summary."""
        if self.status == "insufficient-history":
            return f"regression check skipped: {self.runs} comparable previous run(s), need more"
        if self.status == "no-data":
            return "regression check skipped: this run measured no p95"
        limit = (self.baseline_ms or 0.0) * (1 + self.margin)
        verb = "regressed" if self.is_regression else "within margin"
        return (
            f"p95 {verb}: measured {_fmt(self.p95_ms, 'ms')} vs median {_fmt(self.baseline_ms, 'ms')} "
            f"of {self.runs} previous run(s) (limit {_fmt(limit, 'ms')}, margin {self.margin:.0%})"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {**asdict(self), "description": self.describe()}


def read_history(path: Path) -> list[dict[str, Any]]:
    """Lines of a history.jsonl; a torn last line (interrupted write) is skipped."""
    if not path.is_file():
        return []
    records: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            records.append(json.loads(line))
    return records


def append_history(path: Path, record: Mapping[str, Any]) -> None:
    """Append one JSON line (one write, so concurrent appenders do not interleave lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


def detect_regression(
    history: Sequence[Mapping[str, Any]], *, scenario: str, profile: str, p95_ms: float | None, load: Load
) -> RegressionVerdict:
    """Compare a p95 with the median of previous comparable, trustworthy runs."""
    previous = [
        h["p95_ms"]
        for h in history
        if h.get("scenario") == scenario
        and h.get("profile") == profile
        and h.get("baseline_ok")
        and isinstance(h.get("p95_ms"), (int, float))
    ][-load.regression_window :]
    runs, margin, fails = len(previous), load.regression_margin, load.regression_fails
    if p95_ms is None:
        return RegressionVerdict("no-data", None, None, runs, margin, fails)
    if len(previous) < load.regression_min_runs:
        return RegressionVerdict("insufficient-history", p95_ms, None, runs, margin, fails)
    baseline = float(statistics.median(previous))
    worse = (
        p95_ms > baseline * (1 + load.regression_margin) and p95_ms - baseline > load.regression_min_delta_ms
    )
    return RegressionVerdict("regression" if worse else "ok", p95_ms, baseline, runs, margin, fails)


# ---------------------------------------------------------------------------- keeping


@dataclass(frozen=True)
class LoadOutcome:
    """A judged run: verdicts per SLO, regression against history, generator saturation."""

    result: RunResult
    verdicts: tuple[Verdict, ...]
    regression: RegressionVerdict

    @property
    def saturated(self) -> bool:
        """True when the generator's CPU, not the target, limited the run."""
        return self.result.cpu.saturated

    def verdict(self, key: str) -> Verdict:
        """The verdict of one SLO key (e.g. ``max_p95_ms``)."""
        for v in self.verdicts:
            if v.slo.key == key:
                return v
        raise KeyError(key)

    def trustworthy(self, verdict: Verdict) -> bool:
        """Can this verdict be reported? Not on a saturated run, except a failure of an error SLO."""
        if not self.saturated:
            return True
        return verdict.ok is False and verdict.slo.key in ERROR_SLOS

    def saturation_error(self) -> GeneratorSaturated:
        """The error that replaces every verdict of a saturated run."""
        return GeneratorSaturated(
            "load generator saturated; results describe the generator, not the target "
            f"({self.result.cpu.describe()}; add processes or workers, or lower the users)"
        )


def _summary(outcome: LoadOutcome) -> dict[str, Any]:
    result = outcome.result
    plan = result.plan
    out = result.out_dir
    return {
        "target": plan.target,
        "scenario": plan.scenario,
        "check": plan.check,
        "started": result.started,
        "wall_s": round(result.wall_s, 2),
        "profile": plan.profile,
        "command": plan.command(out, role="master" if plan.workers else "local", master_port=0),
        "users": plan.users,
        "spawn_rate": plan.spawn_rate,
        "run_time_s": plan.run_time_s,
        "processes": plan.processes,
        "workers": plan.workers,
        "spec": plan.spec,
        "exit_code": result.exit_code,
        "aggregate": result.total.as_dict(),
        "entries": [e.as_dict() for e in result.entries],
        "failures": [asdict(f) for f in result.failures],
        "verdicts": [v.as_dict() for v in outcome.verdicts],
        "slo_ok": all(v.ok is not False for v in outcome.verdicts),
        "generator_cpu": result.cpu.as_dict(),
        "regression": outcome.regression.as_dict(),
        "files": sorted(p.name for p in out.iterdir() if p.is_file()),
    }


def write_summary(outcome: LoadOutcome) -> Path:
    """Write ``summary.json`` beside Locust's HTML and CSV files."""
    path = outcome.result.out_dir / "summary.json"
    path.write_text(json.dumps(_summary(outcome), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _baseline_ok(outcome: LoadOutcome) -> bool:
    """A run fit to be a baseline: generator not saturated, traffic went through (outages excluded)."""
    if outcome.saturated:
        return False
    gate = "max_failed_handshakes" if outcome.result.plan.is_websocket else "max_error_ratio"
    return all(v.ok is not False for v in outcome.verdicts if v.slo.key == gate)


class LoadSession:
    """Runs a target's scenarios, each at most once, into ``reports/load/<target>/<timestamp>/``."""

    def __init__(
        self,
        target: Target,
        catalog: Catalog,
        *,
        reports_root: Path = REPORTS_ROOT,
        allow_sensitive: bool = False,
        workers: int = 0,
        timestamp: str | None = None,
    ) -> None:
        self.target = target
        self.catalog = catalog
        self.allow_sensitive = allow_sensitive
        self.workers = workers
        self.root = reports_root / target.name
        self.history_path = self.root / "history.jsonl"
        stamp = timestamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run_dir = self.root / stamp
        suffix = 1
        while self.run_dir.exists():
            suffix += 1
            self.run_dir = self.root / f"{stamp}-{suffix}"
        self._outcomes: dict[str, LoadOutcome] = {}
        self._errors: dict[str, Exception] = {}

    def plan(self, entry: LoadScenario | LoadWebSocket) -> Plan:
        """The plan for a scenario under this session's options."""
        return plan_scenario(
            self.target, self.catalog, entry, allow_sensitive=self.allow_sensitive, workers=self.workers
        )

    def run(self, entry: LoadScenario | LoadWebSocket) -> LoadOutcome:
        """Run a scenario once (later calls return the same outcome, or raise the same error)."""
        if entry.name in self._outcomes:
            return self._outcomes[entry.name]
        if entry.name in self._errors:
            raise self._errors[entry.name]
        try:
            outcome = self._run(entry)
        except (PlanError, LoadRunError) as exc:
            self._errors[entry.name] = exc
            raise
        self._outcomes[entry.name] = outcome
        return outcome

    def _run(self, entry: LoadScenario | LoadWebSocket) -> LoadOutcome:
        plan = self.plan(entry)
        result = run_plan(plan, self.run_dir / entry.name)
        verdicts = evaluate(result)
        p95 = headline_p95(result)
        history = read_history(self.history_path)
        regression = detect_regression(
            history, scenario=plan.scenario, profile=plan.profile, p95_ms=p95, load=plan.load
        )
        outcome = LoadOutcome(result, verdicts, regression)
        write_summary(outcome)
        total = result.entry(WS_ECHO) if plan.is_websocket else result.total
        append_history(
            self.history_path,
            {
                "timestamp": result.started,
                "scenario": plan.scenario,
                "check": plan.check,
                "profile": plan.profile,
                "p95_ms": p95,
                "avg_ms": round(total.avg_ms, 2),
                "error_ratio": round(total.error_ratio, 5),
                "rps": round(total.rps, 2),
                "requests": total.requests,
                "saturated": outcome.saturated,
                "slo_ok": all(v.ok is not False for v in verdicts),
                "baseline_ok": _baseline_ok(outcome),
                "regression": regression.status,
                "report": str(result.out_dir.relative_to(self.root)),
            },
        )
        return outcome
