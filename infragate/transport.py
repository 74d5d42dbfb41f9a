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
"""

from __future__ import annotations

import atexit
import contextlib
import secrets
import shlex
import subprocess
import tempfile
import threading
from typing import IO

__all__ = ["SessionLost", "ShellSession"]

# Created once per session on the host; the command's output goes to files there so stdout and stderr
# stay apart and any byte (a NUL, no final newline) survives the framing.
_SETUP = "d=$(mktemp -d) || exit 97\ntrap 'rm -rf \"$d\"' EXIT\n"


class SessionLost(Exception):
    """The host's shell session ended: ssh's exit code (255: ssh's own error) and what it printed."""

    def __init__(self, rc: int | None, stderr: str) -> None:
        self.rc, self.stderr = rc, stderr
        super().__init__(f"ssh exited {rc}: {stderr.strip() or 'no error text'}")


class ShellSession:
    """``sh`` on a host behind ``cmdline`` (a local shell command line that runs ``sh`` there, e.g. ``ssh
    ... host sh``); ``run`` is one command at a time (a lock: diagnostics may run from a helper thread)."""

    def __init__(self, cmdline: str) -> None:
        self.cmdline = cmdline
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._lock = threading.Lock()
        self._token = f"infragate-{secrets.token_hex(8)}"

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
            start_new_session=True,  # a Ctrl-C in the terminal stops pytest, which then closes this
        )
        assert proc.stdin is not None
        proc.stdin.write(_SETUP.encode())
        atexit.register(self.close)
        self._proc = proc
        return proc

    def run(self, command: str) -> tuple[int, bytes, bytes]:
        """Run ``command`` (a shell command line) on the host: exit code, stdout, stderr."""
        with self._lock:
            proc = self._proc or self._start()
            assert proc.stdin is not None and proc.stdout is not None
            line = (
                f'sh -c {shlex.quote(command)} </dev/null >"$d/o" 2>"$d/e"; r=$?; '
                f'printf \'%s %s %s %s\\n\' {self._token} "$r" $(stat -c %s "$d/o" "$d/e"); '
                'cat "$d/o" "$d/e"\n'
            )
            try:
                proc.stdin.write(line.encode())
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self._lost()
            head = proc.stdout.readline()
            fields = head.split()
            if len(fields) != 4 or fields[0] != self._token.encode():
                self._lost(head)
            rc, out_size, err_size = (int(f) for f in fields[1:])
            body = proc.stdout.read(out_size + err_size)
            if len(body) != out_size + err_size:
                self._lost()
            return rc, body[:out_size], body[out_size:]

    def _lost(self, head: bytes = b"") -> None:
        """The session is gone (or spoke out of turn): raise with ssh's exit code and stderr."""
        proc = self._proc
        self._proc = None
        rc = None
        if proc is not None:
            rc = _end(proc)
        text = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            text = self._stderr.read().decode(errors="replace")
            self._stderr.close()
            self._stderr = None
        if head:
            text = f"{text}\nunexpected output: {head[:200]!r}"
        raise SessionLost(rc, text)

    def close(self) -> None:
        """End the session (its ``sh`` exits on end of input, which removes its temp dir)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        _end(proc)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def _end(proc: subprocess.Popen[bytes]) -> int:
    """Close the session's pipes (its ``sh`` exits on end of input), wait for ssh, return its exit code."""
    for pipe in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError):
            if pipe is not None:
                pipe.close()
    try:
        return proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
