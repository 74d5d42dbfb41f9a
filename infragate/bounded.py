"""A deadline on every host command of the testinfra backends that have no shell session of ours.

Over ssh, ``infragate.transport.ShellSession`` bounds each command (the host's own ``timeout``, then a
deadline on the answer). The other backends (``local://``, ``docker://``, ``podman://``, ``kubectl://``,
``lxc://``, ``paramiko://``) run each command through testinfra's ``run_local`` (a subprocess waited for
without a limit) or paramiko's channel: a ``df`` on a hung NFS mount held its test until pytest-timeout's
900 s backstop. ``bound`` gives such a backend the same two limits:

- on the host, the command runs under ``timeout -k 5 N`` when the host has ``timeout`` (coreutils or
  busybox): a stuck command ends with 124 and says so on stderr, and the check fails with that;
- on this machine (backends built on ``run_local``), the client process gets N + 10 s to answer, then its
  process group is killed and the command answers 124 with what happened: a ``docker exec`` whose engine
  hangs, or a process the host's ``timeout`` could not end (uninterruptible sleep).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from typing import Any

from infragate.transport import ANSWER_MARGIN_S

__all__ = ["bound", "bounded_line"]

# The exit code of a command that ran out of time (coreutils ``timeout``'s).
TIMED_OUT = 124


def bounded_line(line: str, seconds: float) -> str:
    """``line`` (a shell command line) under the host's own ``timeout``, when it has one."""
    n = max(1, round(seconds))
    quoted = shlex.quote(line)
    said = shlex.quote(f"timed out after {n} s on the host (timeout)")
    return (
        f"if command -v timeout >/dev/null 2>&1; then timeout -k 5 {n} sh -c {quoted}; r=$?; "
        f'[ "$r" = {TIMED_OUT} ] && echo {said} >&2; exit "$r"; else exec sh -c {quoted}; fi'
    )


def _deadline(backend: Any) -> float:
    seconds: float = backend._infragate_deadline
    return seconds


def _run_local(backend: Any, margin: float) -> Any:
    def run_local(command: str, *args: str) -> Any:
        """testinfra's ``run_local`` with a deadline: the client's process group is killed past it."""
        seconds = _deadline(backend)
        cmd = backend.encode(backend.quote(command, *args))
        proc = subprocess.Popen(
            cmd,
            shell=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: killed whole, children included
        )
        try:
            stdout, stderr = proc.communicate(timeout=seconds + margin)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            # Never wait on the pipes: a child that cannot die (uninterruptible sleep) may hold them.
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
            said = f"no answer within {seconds:g} s (+{margin:g} s): killed on this machine"
            return backend.result(TIMED_OUT, cmd, b"", said.encode())
        return backend.result(proc.returncode, cmd, stdout, stderr)

    return run_local


def bound(backend: Any, seconds: float | None, margin: float = ANSWER_MARGIN_S) -> None:
    """Give ``backend`` (a testinfra backend without a session of ours) a deadline of ``seconds`` per
    command (None: none). testinfra caches hosts, so a backend may come back bounded: the newest deadline
    applies."""
    if getattr(backend, "_infragate_bounded", False):
        backend._infragate_deadline = seconds
        return
    backend._infragate_deadline = seconds
    get_command, run_local = backend.get_command, backend.run_local
    bounded_run_local = _run_local(backend, margin)

    def bounded_command(command: str, *args: str) -> str:
        """testinfra's command line (quoting, sudo) under the host's own ``timeout``."""
        line: str = get_command(command, *args)
        seconds = backend._infragate_deadline
        return line if seconds is None else bounded_line(line, seconds)

    def maybe_bounded_run_local(command: str, *args: str) -> Any:
        """``run_local`` with the deadline when there is one."""
        if backend._infragate_deadline is None:
            return run_local(command, *args)
        return bounded_run_local(command, *args)

    backend.get_command = bounded_command
    if getattr(backend, "NAME", "") != "paramiko":  # paramiko runs commands on its own channel
        backend.run_local = maybe_bounded_run_local
    backend._infragate_bounded = True
