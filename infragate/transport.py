"""One long-lived shell per ssh host: every command of a run is a fork of ``sh`` on the host, not a new ssh
client.

testinfra's ssh backend starts an ssh client per command; even over a ControlMaster socket that is a
process spawn, a mux handshake and a new session channel (sshd forks a session for it): 0.35-0.5 s per
command on the shared 2-core machine at load 8-10 (bench/fleet.py), where a host's checks take about ten
commands. A session is one ``ssh HOST sh`` opened at the host's first command (through the same command
line testinfra would build: ssh_config, user, port, key, ConnectTimeout, ControlPath), fed one framed
command at a time on its stdin:

    sh -c '<command>' </dev/null >"$d/o" 2>"$d/e"; printf 'TOKEN rc size(o) size(e)\\n'; cat "$d/o" "$d/e"

so each command costs three forks on the host and no ssh handshake. Exit codes, stdout and stderr are the
command's own, exactly as ``sh -c`` over ssh gives them. When the session ends (ssh could not connect:
exit 255 with its error; the host went away mid-run), ``SessionLost`` carries ssh's exit code and stderr.

Nothing waits forever. With ``command_timeout``, each command runs under the host's own ``timeout`` (when
the host has it): a command stuck on the host (``df`` on a hung NFS mount) exits 124 with a line saying so,
and the session goes on for the host's other checks. Here, the answer must arrive within that time plus a
margin, else the session is killed and reported lost (a frozen host or link). Any interruption while
waiting (a test's timeout signal) kills the session too: its late answer must never be read as the answer
to the next command.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import select
import shlex
import subprocess
import tempfile
import threading
import time
from typing import IO, NoReturn

__all__ = ["SessionLost", "ShellSession"]

# Created once per session on the host; the command's output goes to files there so stdout and stderr
# stay apart and any byte (a NUL, no final newline) survives the framing.
_SETUP = "d=$(mktemp -d) || exit 97\ntrap 'rm -rf \"$d\"' EXIT\n"
# The host's own deadline on each command (coreutils or busybox ``timeout``), when it has one: a stuck
# command ends with 124 and the session stays usable. SIGKILL follows 5 s after SIGTERM.
_TIMEOUT_SETUP = "if command -v timeout >/dev/null 2>&1; then t='timeout -k 5 {seconds}'; else t=; fi\n"
# How much longer than a command's own deadline its answer may take to arrive before the session is lost.
ANSWER_MARGIN_S = 10.0


class _Expired(Exception):
    """No answer from the session within the deadline."""


class SessionLost(Exception):
    """The host's shell session ended: ssh's exit code (255: ssh's own error) and what it printed."""

    def __init__(self, rc: int | None, stderr: str) -> None:
        self.rc, self.stderr = rc, stderr
        super().__init__(f"ssh exited {rc}: {stderr.strip() or 'no error text'}")


class ShellSession:
    """``sh`` on a host behind ``cmdline`` (a local shell command line that runs ``sh`` there, e.g. ``ssh
    ... host sh``); ``run`` is one command at a time (a lock: diagnostics may run from a helper thread)."""

    def __init__(
        self, cmdline: str, command_timeout: float | None = None, answer_margin: float = ANSWER_MARGIN_S
    ) -> None:
        self.cmdline = cmdline
        self.command_timeout = command_timeout
        self.answer_margin = answer_margin
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._lock = threading.Lock()
        self._token = f"infragate-{secrets.token_hex(8)}"
        self._buffer = bytearray()

    def start(self) -> None:
        """Open the session now without waiting for it (ssh connects while the caller goes on); the next
        ``run`` waits for it. A session that cannot connect is reported by that ``run``."""
        with self._lock:
            if self._proc is None:
                self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        # ssh's own stderr goes to a file: a pipe nobody drains could fill and stall the session.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        proc = subprocess.Popen(
            self.cmdline,
            shell=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            bufsize=0,  # stdout read through select + os.read (deadlines); no hidden buffer
            start_new_session=True,  # a Ctrl-C in the terminal stops pytest, which then closes this
        )
        assert proc.stdin is not None
        setup = _SETUP
        if self.command_timeout is not None:
            setup += _TIMEOUT_SETUP.format(seconds=f"{max(1, round(self.command_timeout))}")
        atexit.register(self.close)
        self._buffer.clear()
        self._proc = proc
        # ssh may have ended already (refused, no route, a failing login): the next read finds end of
        # output and reports ssh's exit code and error, as for a session that ends later.
        with contextlib.suppress(OSError):
            proc.stdin.write(setup.encode())
        return proc

    def run(self, command: str) -> tuple[int, bytes, bytes]:
        """Run ``command`` (a shell command line) on the host: exit code, stdout, stderr."""
        with self._lock:
            proc = self._proc or self._start()
            assert proc.stdin is not None and proc.stdout is not None
            expired = ""
            if self.command_timeout is not None:
                expired = (
                    f'[ -n "$t" ] && [ "$r" = 124 ] && echo "timed out after {self.command_timeout:g} s on '
                    'the host (timeout)" >>"$d/e"; '
                )
            line = (
                f'$t sh -c {shlex.quote(command)} </dev/null >"$d/o" 2>"$d/e"; r=$?; {expired}'
                f'printf \'%s %s %s %s\\n\' {self._token} "$r" $(stat -c %s "$d/o" "$d/e"); '
                'cat "$d/o" "$d/e"\n'
            )
            try:
                proc.stdin.write(line.encode())
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self._lost()
            deadline = None
            if self.command_timeout is not None:
                deadline = time.monotonic() + self.command_timeout + self.answer_margin
            fd = proc.stdout.fileno()
            try:
                head = self._read_line(fd, deadline)
                fields = head.split()
                if len(fields) != 4 or fields[0] != self._token.encode():
                    self._lost(head)
                rc, out_size, err_size = (int(f) for f in fields[1:])
                body = self._read_exact(fd, out_size + err_size, deadline)
            except _Expired:
                waited = f"{self.command_timeout:g} s (+{self.answer_margin:g} s)"
                self._lost(note=f"no answer from the host within {waited}")
            except EOFError:
                self._lost()
            except BaseException:
                # Interrupted while waiting (a test timeout's signal, Ctrl-C): the answer may still come,
                # and must never be read as the next command's. Drop the session; the next run opens one.
                self._abort()
                raise
            return rc, body[:out_size], body[out_size:]

    def _fill(self, fd: int, deadline: float | None) -> None:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise _Expired
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            raise _Expired
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            raise EOFError
        self._buffer += chunk

    def _read_line(self, fd: int, deadline: float | None) -> bytes:
        while b"\n" not in self._buffer:
            self._fill(fd, deadline)
        end = self._buffer.index(b"\n") + 1
        line = bytes(self._buffer[:end])
        del self._buffer[:end]
        return line

    def _read_exact(self, fd: int, size: int, deadline: float | None) -> bytes:
        while len(self._buffer) < size:
            self._fill(fd, deadline)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _lost(self, head: bytes = b"", note: str = "") -> NoReturn:
        """The session is gone (or spoke out of turn, or too late): raise with ssh's exit code and stderr."""
        proc = self._proc
        self._proc = None
        self._buffer.clear()
        rc = None
        if proc is not None:
            rc = _end(proc, kill=bool(note))
        text = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            text = self._stderr.read().decode(errors="replace")
            self._stderr.close()
            self._stderr = None
        if head:
            text = f"{text}\nunexpected output: {head[:200]!r}"
        if note:
            text = f"{note}\n{text}".strip()
        raise SessionLost(rc, text)

    def close(self) -> None:
        """End the session (its ``sh`` exits on end of input, which removes its temp dir)."""
        proc, self._proc = self._proc, None
        self._buffer.clear()
        if proc is None:
            return
        _end(proc)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _abort(self) -> None:
        """Kill the session now (a command is still running there): no answer of it is ever read."""
        proc, self._proc = self._proc, None
        self._buffer.clear()
        if proc is None:
            return
        _end(proc, kill=True)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def _end(proc: subprocess.Popen[bytes], *, kill: bool = False) -> int:
    """Close the session's pipes (its ``sh`` exits on end of input), wait for ssh, return its exit code.
    ``kill``: a session that did not answer in time is not waited for (ssh may be stuck as well)."""
    for pipe in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError):
            if pipe is not None:
                pipe.close()
    if kill and proc.poll() is None:
        proc.kill()  # our own ssh client, by its PID
    try:
        return proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
