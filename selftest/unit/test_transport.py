"""One long-lived shell per ssh host (infragate/transport.py): the framing keeps each command's exit code,
stdout and stderr exactly, and a session that ends is reported with ssh's exit code and error. Run over a
local ``sh`` (what ``ssh HOST sh`` gives on the host), and over a real ssh client to a closed port."""

from __future__ import annotations

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


def test_a_real_ssh_client_to_a_closed_port_fails_with_its_own_error() -> None:
    port = closed_port()
    session = ShellSession(f"ssh -F /dev/null -o ConnectTimeout=2 -p {port} root@127.0.0.1 sh")
    session.start()  # connecting starts here; the failure is reported by the next run
    with pytest.raises(SessionLost) as lost:
        session.run("true")
    assert lost.value.rc == 255 and "refused" in lost.value.stderr
