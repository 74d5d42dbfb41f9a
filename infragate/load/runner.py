"""Running: a Plan as bounded Locust subprocesses (local, --processes, or master + workers).

Locust is never imported here: importing it monkey-patches sockets and ssl for the whole interpreter
(gevent), irreversibly. ``python -m locust`` runs as a child in its own session, its CPU is sampled from
outside (psutil), and the files it writes are parsed once it exits or is stopped at the plan's deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import psutil

from infragate.load.plan import Plan
from infragate.load.results import (
    WS_PSEUDO,
    CpuReport,
    ProcessCpu,
    RunResult,
    parse_failures_csv,
    parse_stats_csv,
    parse_stats_json,
)

__all__ = ["LoadRunError", "run_plan"]


class LoadRunError(RuntimeError):
    """Locust did not produce results (crashed, timed out, or wrote nothing)."""


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
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    child_env = plan.environment(env)
    log_path = out_dir / "locust.log"
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.monotonic()
    procs: list[subprocess.Popen[bytes]] = []
    roots: list[tuple[int, str]] = []
    with log_path.open("ab") as log:

        def spawn(cmd: list[str], role: str) -> subprocess.Popen[bytes]:
            # Own session: a timeout can end the whole tree we started, and nothing else. The run's own
            # directory as cwd: nothing in the caller's working directory shadows an import of the child.
            proc = subprocess.Popen(
                cmd, cwd=out_dir, env=child_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
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
    real = [e for e in entries if e.method not in WS_PSEUDO and e.requests]
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
