"""Process bookkeeping: detached spawning, pid records, readiness polling and stopping by recorded PID."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stack.layout import LOOPBACK

# Popen objects of the children this process started: polling them reaps zombies right away instead of
# waiting for a long-lived caller (selftest) to exit.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ProcInfo:
    """The fields of /proc/PID/stat we use."""

    state: str
    ppid: int
    pgrp: int
    starttime: int


def proc_info(pid: int) -> ProcInfo | None:
    """Parse /proc/PID/stat; None when there is no such process."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _CHILDREN.pop(pid, None)  # parts start in parallel threads: tolerate a concurrent removal
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may contain spaces and parentheses: the fields start after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return ProcInfo(state=fields[0], ppid=int(fields[1]), pgrp=int(fields[2]), starttime=int(fields[19]))


def is_alive(pid: int, starttime: int | None = None) -> bool:
    """True when PID runs (not a zombie) and, if given, started at `starttime` (guards against PID reuse)."""
    info = proc_info(pid)
    if info is None or info.state in ("Z", "X"):
        # Orphans are reaped by PID 1 about 2 s late: a zombie has exited for our purposes.
        return False
    return starttime is None or info.starttime == starttime


def descendants(pid: int) -> list[tuple[int, int]]:
    """(pid, starttime) of every live descendant of PID, e.g. nginx workers or sshd session processes."""
    parent_of: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = proc_info(int(entry.name))
            if info is not None and info.state not in ("Z", "X"):
                parent_of[int(entry.name)] = (info.ppid, info.starttime)
    found: list[tuple[int, int]] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child, (ppid, start) in parent_of.items():
            if ppid == current:
                found.append((child, start))
                frontier.append(child)
    return found


def port_open(port: int, host: str = LOOPBACK, timeout: float = 0.25) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds passed; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if predicate():
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def spawn(argv: Sequence[str], *, log: Path, env: Mapping[str, str], cwd: Path) -> int:
    """Start a detached process (own session, stdin from /dev/null, output appended to `log`)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        child = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[child.pid] = child
    return child.pid


@dataclass(frozen=True)
class PidRecord:
    """A process we started: its PID and its start time (to recognise PID reuse)."""

    pid: int
    starttime: int


def record(pids_dir: Path, name: str, pid: int) -> PidRecord | None:
    """Write <pids>/NAME.pid (plain PID, for humans and tools) and NAME.json (PID + start time)."""
    info = proc_info(pid)
    if info is None:
        return None
    rec = PidRecord(pid, info.starttime)
    pids_dir.mkdir(parents=True, exist_ok=True)
    (pids_dir / f"{name}.pid").write_text(f"{pid}\n")
    (pids_dir / f"{name}.json").write_text(json.dumps({"pid": pid, "starttime": info.starttime}) + "\n")
    return rec


def recorded(pids_dir: Path, name: str) -> PidRecord | None:
    """The recorded process of part NAME if it still runs, else None."""
    try:
        data = json.loads((pids_dir / f"{name}.json").read_text())
        rec = PidRecord(int(data["pid"]), int(data["starttime"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    return rec if is_alive(rec.pid, rec.starttime) else None


def forget(pids_dir: Path, name: str) -> None:
    """Remove the pid records of part NAME."""
    for suffix in (".pid", ".json"):
        (pids_dir / f"{name}{suffix}").unlink(missing_ok=True)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def stop(
    rec: PidRecord,
    *,
    ports: Sequence[int],
    sig: int = signal.SIGTERM,
    timeout: float = 10.0,
    send: Callable[[], None] | None = None,
) -> bool:
    """Stop a recorded process: `sig` (or `send()`), wait for exit and closed ports, then SIGKILL.

    Children that outlive it are stopped too. Returns False only when even SIGKILL did not make it go away.
    """
    family = descendants(rec.pid)
    if is_alive(rec.pid, rec.starttime):
        if send is not None:
            with contextlib.suppress(ProcessLookupError):
                send()
        else:
            _signal(rec.pid, sig)

    def gone() -> bool:
        return not is_alive(rec.pid, rec.starttime) and not any(port_open(p) for p in ports)

    ok = wait_until(gone, timeout)
    if not ok and is_alive(rec.pid, rec.starttime):
        info = proc_info(rec.pid)
        # A start_new_session child leads its own process group: kill the group so workers die with it.
        if info is not None and info.pgrp == rec.pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(rec.pid, signal.SIGKILL)
        _signal(rec.pid, signal.SIGKILL)
        ok = wait_until(gone, 5.0)
    # Children that outlive their parent (sshd per-connection processes call setsid) are ours too.
    leftovers = [(p, s) for p, s in family if is_alive(p, s)]
    for pid, _ in leftovers:
        _signal(pid, signal.SIGTERM)
    if leftovers and not wait_until(lambda: not any(is_alive(p, s) for p, s in leftovers), 3.0):
        for pid, start in leftovers:
            if is_alive(pid, start):
                _signal(pid, signal.SIGKILL)
    return ok


def log_tail(path: Path, lines: int = 25) -> str:
    """The last lines of a log file (empty when it does not exist)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            text = handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
