"""Shared by the bench scripts: the reference stack's endpoints, our scenarios as plans, wrk, printing.

The bench measures the reference stack started by ``python -m stack up`` (``INFRAGATE_STACK_PORT_BASE``
and ``INFRAGATE_RUN_DIR`` select another instance). Our side always goes through infragate.load,
the same code path as ``pytest tests_load``, so the figures are those of our scenarios.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
LOCUSTFILES = ROOT / "tests_load" / "locustfiles"

from infragate.catalog import load_catalog  # noqa: E402
from infragate.inventory import Load, LoadRequest, LoadScenario, LoadWebSocket, Secret, Target  # noqa: E402
from infragate.load import Plan, RunResult, plan_scenario, run_plan  # noqa: E402
from stack import api as stack  # noqa: E402

__all__ = [
    "TargetCpu",
    "Wrk",
    "bench_dir",
    "http_plan",
    "https_base",
    "raise_nofile",
    "run",
    "stack",
    "target_cpu",
    "wrk",
    "ws_plan",
]


def https_base() -> str:
    """The stack's nginx HTTPS base URL (the certificate names localhost)."""
    return f"https://localhost:{stack.ports().nginx_https}"


def _target(name: str, *, max_users: int, max_duration_s: float) -> Target:
    return Target(
        name=name,
        path=ROOT / "bench",
        ca_bundle=stack.ca_file(),
        load=Load(max_users=max_users, max_duration_s=max_duration_s),
    )


def http_plan(
    name: str,
    path: str,
    *,
    users: int,
    duration_s: float,
    processes: int = 1,
    workers: int = 0,
    pacing_s: float | None = None,
) -> Plan:
    """Our HTTP health scenario (FastHttpUser, GET ``path`` through nginx) as a plan."""
    scenario = LoadScenario(
        name=name,
        check="LOAD-HTTP-HEALTH",
        base_url=https_base(),
        requests=(LoadRequest(path=path),),
        users=users,
        # Every user at once, like wrk's connections: the figure is throughput, not ramp-up.
        spawn_rate=float(users),
        duration_s=duration_s,
        processes=processes,
        pacing_s=pacing_s,
    )
    target = _target("bench", max_users=users, max_duration_s=duration_s)
    return plan_scenario(target, load_catalog(), scenario, workers=workers, locustfile_dir=LOCUSTFILES)


def ws_plan(
    name: str, *, sessions: int, spawn_rate: float, hold_s: float, interval_s: float, processes: int
) -> Plan:
    """Our WebSocket scenario through nginx to /ws/secure, authenticated with the stack's demo user."""
    password_env = "INFRAGATE_LOCAL_APP_PASSWORD"
    value = os.environ.get(password_env) or stack.secrets()[password_env]
    base = https_base()
    scenario = LoadWebSocket(
        name=name,
        url=base.replace("https://", "wss://") + "/ws/secure",
        sessions=sessions,
        spawn_rate=spawn_rate,
        hold_s=hold_s,
        processes=processes,
        message_interval_s=interval_s,
        timeout_s=30.0,
        token_url=f"{base}/auth/login",
        username="demo",
        password_env=Secret(password_env, value),
    )
    target = _target("bench", max_users=sessions, max_duration_s=600)
    return plan_scenario(target, load_catalog(), scenario, locustfile_dir=LOCUSTFILES)


def bench_dir(script: str) -> Path:
    """``reports/bench/<script>/<timestamp>/``: where a bench run keeps Locust's files."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = ROOT / "reports" / "bench" / script / stamp
    path.mkdir(parents=True, exist_ok=True)
    return path


def run(plan: Plan, out: Path) -> RunResult:
    """Run one plan into ``out/<scenario>``."""
    return run_plan(plan, out / plan.scenario)


@dataclass(frozen=True)
class Wrk:
    """What wrk printed: requests/s, count, errors."""

    rps: float
    requests: int
    errors: int
    p99_ms: float | None
    raw: str


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, *, threads: int, connections: int, duration_s: int) -> Wrk:
    """Run wrk against ``url`` (it does not verify certificates: loopback stack only)."""
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    cmd = [exe, f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 30, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx[1]) if non2xx else 0
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    return Wrk(rps, requests, errors, _ms(p99[1], p99[2]) if p99 else None, out)


def raise_nofile(wanted: int) -> str:
    """Raise this process's open-file soft limit (children inherit it); say what was done."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return f"open-file limit {soft} (>= {wanted} needed): unchanged"
    new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return f"open-file limit raised from {soft} to {new} (hard limit {hard}) for the generator"


@dataclass
class TargetCpu:
    """Mean CPU (% of one core) of the stack's service and nginx processes over a measurement."""

    service_pct: float = 0.0
    nginx_pct: float = 0.0
    _samples: list[tuple[float, float]] = field(default_factory=list)

    def describe(self) -> str:
        """One line for the printout."""
        return f"target CPU: uvicorn {self.service_pct:.0f}%, nginx {self.nginx_pct:.0f}%"


@contextlib.contextmanager
def target_cpu(interval: float = 1.0) -> Iterator[TargetCpu]:
    """Sample the target's CPU (uvicorn, nginx master and workers) while the block runs.

    On a machine shared by generator and target, this shows whether the generator took CPU the
    target needed: the sample service is one uvicorn process, so 100 % is all it can use.
    """
    parts = stack.status()
    groups: dict[str, list[psutil.Process]] = {"service": [], "nginx": []}
    for name in groups:
        pid = parts[name].pid
        if pid is None:
            continue
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            groups[name] = [root, *root.children(recursive=True)]
    for proc in (p for procs in groups.values() for p in procs):
        with contextlib.suppress(psutil.Error):
            proc.cpu_percent(None)
    result = TargetCpu()
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(interval):
            row = []
            for name in ("service", "nginx"):
                total = 0.0
                for proc in groups[name]:
                    with contextlib.suppress(psutil.Error):
                        total += proc.cpu_percent(None)
                row.append(total)
            result._samples.append((row[0], row[1]))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()
        # The first and last seconds are start-up and wind-down of the load: keep the middle.
        middle = result._samples[2:-1] or result._samples
        if middle:
            result.service_pct = sum(s for s, _ in middle) / len(middle)
            result.nginx_pct = sum(n for _, n in middle) / len(middle)
