"""One long-lived shell per ssh host (infragate/transport.py): the framing keeps each command's exit code,
stdout and stderr exactly, and a session that ends is reported with ssh's exit code and error. Run over a
local ``sh`` (what ``ssh HOST sh`` gives on the host), and over a real ssh client to a closed port."""

from __future__ import annotations

import signal
import subprocess
from typing import Any

import pytest

from infragate.transport import SessionLost, ShellSession
from selftest.unit.servers import closed_port


def test_commands_keep_their_exit_code_output_and_errors_apart() -> None:
    session = ShellSession("sh")
    try:
        assert session.run("echo out; echo err >&2; exit 3") == (3, b"out\n", b"err\n")
        # Any byte survives (a NUL, no final newline), and a command reading stdin gets end of input, not
        # the commands that follow it.
        assert session.run("printf 'a\\0b'") == (0, b"a\x00b", b"")
        assert session.run("cat") == (0, b"", b"")
        # Each command is its own `sh -c`: `exit` or `cd` in one does not end or move the session.
        assert session.run("cd /; exit 0")[0] == 0
        before = session.run("pwd")[1]
        assert session.run("cd /tmp && pwd")[1] == b"/tmp\n" and session.run("pwd")[1] == before
        big = session.run("head -c 300000 /dev/zero")
        assert big[0] == 0 and len(big[1]) == 300000
    finally:
        session.close()


def test_a_session_that_ends_says_how() -> None:
    session = ShellSession("echo 'ssh: connect to host 10.0.0.9 port 22: No route to host' >&2; exit 255")
    with pytest.raises(SessionLost) as lost:
        session.run("true")
    assert lost.value.rc == 255 and "No route to host" in str(lost.value)


def test_a_session_gone_before_its_set_up_is_written_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    # ssh can end before the session's set-up reaches it (CI saw a BrokenPipeError escape here): a Popen
    # that returns only once the process has ended makes that race certain.
    class EndedPopen(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.wait()

    monkeypatch.setattr(subprocess, "Popen", EndedPopen)
    session = ShellSession("echo 'Permission denied (publickey).' >&2; exit 255")
    with pytest.raises(SessionLost) as lost:
        session.run("true")
    assert lost.value.rc == 255 and "Permission denied" in str(lost.value)


def test_a_real_ssh_client_to_a_closed_port_fails_with_its_own_error() -> None:
    port = closed_port()
    session = ShellSession(f"ssh -F /dev/null -o ConnectTimeout=2 -p {port} root@127.0.0.1 sh")
    session.start()  # connecting starts here; the failure is reported by the next run
    with pytest.raises(SessionLost) as lost:
        session.run("true")
    assert lost.value.rc == 255 and "refused" in lost.value.stderr


def test_a_command_stuck_on_the_host_ends_and_the_session_goes_on() -> None:
    # `df` on a hung NFS mount, in miniature: the host's own `timeout` ends it (124, said so on stderr),
    # and the host's next command still runs in the same session.
    session = ShellSession("sh", command_timeout=1)
    try:
        rc, out, err = session.run("echo started; sleep 30")
        assert rc == 124 and out == b"started\n" and b"timed out after 1 s on the host" in err
        assert session.run("echo next") == (0, b"next\n", b"")
    finally:
        session.close()


def test_a_session_that_never_answers_is_lost_not_waited_for() -> None:
    # A frozen host or link: the shell never answers. The session is killed and reported lost after the
    # command's deadline plus the margin, instead of blocking the run.
    session = ShellSession("exec sleep 60", command_timeout=0.5, answer_margin=0.5)
    with pytest.raises(SessionLost) as lost:
        session.run("true")
    assert "no answer from the host within 0.5 s (+0.5 s)" in str(lost.value)
    assert session._proc is None  # the ssh stand-in was killed, by its PID


def test_an_interrupted_wait_never_hands_its_answer_to_the_next_command() -> None:
    # A test's timeout signal lands while a command runs: its late answer must not be read as the next
    # command's. The session is dropped; the next command opens a new one and gets its own answer.
    session = ShellSession("sh")

    def interrupt(_signum: int, _frame: object) -> None:
        raise TimeoutError("test timeout")

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(TimeoutError):
            session.run("sleep 1; echo late")
        assert session.run("echo next") == (0, b"next\n", b"")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        session.close()
