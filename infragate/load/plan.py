"""Planning: an inventory scenario, checked against the target's load bounds, becomes a runnable Plan.

A Plan knows its Locust command line and the child's environment. Where the locustfiles live is the
caller's to say (``locustfile_dir``): the package never guesses a checkout's layout.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import site
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import infragate
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
    "LOCUSTFILES",
    "SCENARIO_ENV",
    "SECTIONS",
    "Plan",
    "PlanError",
    "Slo",
    "plan_scenario",
    "scenario_spec",
    "scenarios",
]


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

# Locust's start-up (imports, parsing) and shutdown (HTML report) come on top of the run time: the hard
# ceiling of a run leaves them this much.
_STARTUP_GRACE_S = 30.0
# After the last session's hold, time for it to be reported before Locust stops.
_WS_SETTLE_S = 3.0


class PlanError(ValueError):
    """A scenario cannot run as declared: outside the target's bounds, or incomplete."""


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
        root = _import_root()
        if root is not None:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        return env


def _import_root() -> str | None:
    """The directory this process imports infragate from, when a child would not find it by itself.

    The locustfiles must run the same infragate as the runner. A checkout put on ``sys.path`` (pytest's
    ``pythonpath``) is not on a child's path, so it is passed on; an installed package (a site directory)
    already is, and a site directory in PYTHONPATH would sit in front of the standard library.
    """
    root = Path(infragate.__file__).resolve().parent.parent
    sites = {Path(p).resolve() for p in (*site.getsitepackages(), site.getusersitepackages())}
    return None if root in sites else str(root)


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
    locustfile_dir: Path,
) -> Plan:
    """Check a scenario against the target's load bounds and turn it into a runnable Plan.

    ``locustfile_dir`` holds the locustfiles named in ``LOCUSTFILES`` (``tests_load/locustfiles`` of the
    project the run belongs to; the pytest plugin passes it).
    """
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
    locustfile = locustfile_dir.absolute() / LOCUSTFILES[check]
    if not locustfile.is_file():
        raise PlanError(f"{where}: no locustfile {locustfile} (for {check})")
    secrets = tuple(s for s in (entry.password_env,) if s is not None)
    return Plan(
        target=target.name,
        scenario=entry.name,
        check=check,
        locustfile=locustfile,
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
