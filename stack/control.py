"""Stack-wide operations: up, down, status, fault, heal, serialised by a lock file in the run dir."""

from __future__ import annotations

import contextlib
import fcntl
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TextIO

from stack import faults, hostfiles, hostview, proc, secretstore, tls
from stack.layout import layout, ports
from stack.parts import Context, Part, PartError, make_parts

Echo = Callable[[str], None]

# Re-entrant within a process (up calls heal), exclusive across processes (flock on <run>/.lock).
_THREAD_LOCK = threading.RLock()
_DEPTH = 0
_LOCK_HANDLE: TextIO | None = None


class StackError(RuntimeError):
    """`up` or `down` failed; the message includes the failing parts' log tails."""


@dataclass(frozen=True)
class PartStatus:
    """State of one part: state is up, down, unresponsive (process runs, port closed) or port-busy."""

    name: str
    pid: int | None
    ports: tuple[int, ...]
    state: str

    @property
    def port(self) -> int:
        """The part's main port."""
        return self.ports[0]

    @property
    def up(self) -> bool:
        """True when the process runs and every port accepts connections."""
        return self.state == "up"


def context() -> Context:
    """A context for the current run dir and port base."""
    return Context(layout(), ports())


@contextlib.contextmanager
def locked(ctx: Context) -> Iterator[None]:
    """Hold the stack lock (re-entrant in-process) for a mutating operation."""
    global _DEPTH, _LOCK_HANDLE
    with _THREAD_LOCK:
        if _DEPTH == 0:
            ctx.lay.root.mkdir(parents=True, exist_ok=True)
            _LOCK_HANDLE = ctx.lay.lock_file.open("a+")
            fcntl.flock(_LOCK_HANDLE.fileno(), fcntl.LOCK_EX)
        _DEPTH += 1
        try:
            yield
        finally:
            _DEPTH -= 1
            if _DEPTH == 0 and _LOCK_HANDLE is not None:
                _LOCK_HANDLE.close()  # closing the descriptor releases the flock
                _LOCK_HANDLE = None


def _line(name: str, state: str, pid: int | None, part_ports: tuple[int, ...], note: str = "") -> str:
    pid_text = str(pid) if pid is not None else "-"
    port_text = ",".join(map(str, part_ports))
    return f"{name:<13} {state:<12} pid {pid_text:<8} port {port_text:<12} {note}".rstrip()


def part_status(part: Part) -> PartStatus:
    """Status of one part from its recorded PID and its ports (fast: no application-level probe)."""
    rec = part.running()
    open_ports = [proc.port_open(p) for p in part.ports()]
    if rec is None:
        state = "port-busy" if any(open_ports) else "down"
    else:
        state = "up" if all(open_ports) else "unresponsive"
    return PartStatus(part.name, rec.pid if rec else None, part.ports(), state)


def status() -> dict[str, PartStatus]:
    """Status of every part, keyed by part name."""
    ctx = context()
    return {name: part_status(part) for name, part in make_parts(ctx).items()}


def _ensure(part: Part) -> tuple[str, proc.PidRecord, float]:
    start = time.monotonic()
    rec = part.running()
    if rec is not None:
        part.wait_ready(rec)
        return "already running", rec, time.monotonic() - start
    rec = part.start()
    return f"started, ready in {time.monotonic() - start:.2f} s", rec, time.monotonic() - start


def up(echo: Echo | None = None) -> None:
    """Start every part that is not running (in parallel) and wait until each one really serves."""
    out = echo or (lambda _line: None)
    ctx = context()
    t0 = time.monotonic()
    with locked(ctx):
        ctx.lay.ensure()
        ctx.secrets()
        if tls.ensure(ctx.tls):
            out(f"{'tls':<13} generated    {ctx.tls.root}")
        # up always ends healthy: undo active faults first (stopped parts are started below with the rest).
        for name, seconds in faults.heal_all(ctx, start_parts=False):
            out(f"{'fault':<13} healed       {name} ({seconds:.2f} s)")
        parts = make_parts(ctx)
        failures: list[PartError] = []
        print_lock = threading.Lock()

        def run(part: Part) -> None:
            try:
                note, rec, _ = _ensure(part)
            except PartError as err:
                with print_lock:
                    out(_line(part.name, "FAILED", None, part.ports(), err.message))
                failures.append(err)
                return
            with print_lock:
                out(_line(part.name, "up", rec.pid, part.ports(), note))

        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            list(pool.map(run, parts.values()))
        if failures:
            details = "\n".join(
                f"--- {err.part}: {err.message}\n{err.log_tail or '(empty log)'}" for err in failures
            )
            raise StackError(f"{len(failures)} part(s) failed to start:\n{details}")
        # The deployed app's files (config, logs, SQLite, Alembic at head) for the host checks.
        hostfiles.ensure(ctx)
        out(f"stack ready in {time.monotonic() - t0:.2f} s (run dir {ctx.lay.root})")


def down(echo: Echo | None = None) -> None:
    """Stop every part we started, by recorded PID, in parallel; active fault markers are kept."""
    out = echo or (lambda _line: None)
    ctx = context()
    t0 = time.monotonic()
    with locked(ctx):
        parts = make_parts(ctx)
        failures: list[PartError] = []
        print_lock = threading.Lock()

        def run(part: Part) -> None:
            start = time.monotonic()
            try:
                rec = part.stop()
            except PartError as err:
                failures.append(err)
                with print_lock:
                    out(_line(part.name, "FAILED", None, part.ports(), err.message))
                return
            note = f"stopped in {time.monotonic() - start:.2f} s" if rec else "was not running"
            with print_lock:
                out(_line(part.name, "down", rec.pid if rec else None, part.ports(), note))

        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            list(pool.map(run, parts.values()))
        # The firewall's network namespace (stack/hostview.py) holds no process: delete it by name.
        hostview.remove(ctx)
        if failures:
            raise StackError("; ".join(str(f) for f in failures))
        out(f"stack stopped in {time.monotonic() - t0:.2f} s")


def fault(name: str) -> float:
    """Apply a fault; returns when it is live (seconds taken)."""
    ctx = context()
    with locked(ctx):
        return faults.apply(ctx, name)


def heal(name: str) -> float:
    """Heal a fault; returns the seconds taken once it is gone and the stack has settled (faults.heal)."""
    ctx = context()
    with locked(ctx):
        return faults.heal(ctx, name)


def heal_all() -> list[tuple[str, float]]:
    """Heal every active fault."""
    ctx = context()
    with locked(ctx):
        return faults.heal_all(ctx)


def active_faults() -> list[str]:
    """Names of the active faults."""
    return faults.active(context())


def secrets() -> dict[str, str]:
    """Secrets by env-var name (generated and stored on first use)."""
    return secretstore.ensure(layout())
