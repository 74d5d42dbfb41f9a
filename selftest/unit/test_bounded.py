"""A deadline on every host command of the backends without a shell session of ours (infragate/bounded.py):
``local://`` and ``docker://`` ran each command with no limit, so a ``df`` on a hung NFS mount held its
test until pytest-timeout's 900 s backstop."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path
from typing import Any

import testinfra

from infragate.bounded import TIMED_OUT, bound, bounded_line
from infragate.inventory import Host
from infragate.machines import watch
from selftest.helpers import assert_stuck_command_fails_only_its_check

_FRESH = itertools.count()


def _local() -> Any:
    # A fresh backend each time: testinfra caches hosts by spec and options (sudo_user is unused here).
    return testinfra.get_host("local://", sudo=False, sudo_user=f"bounded-{next(_FRESH)}").backend


def test_a_stuck_command_on_the_host_ends_with_its_own_timeout_and_says_so() -> None:
    backend = _local()
    bound(backend, 1)
    out = backend.run("echo started; sleep 30")
    assert out.rc == TIMED_OUT and out.stdout == "started\n"
    assert "timed out after 1 s on the host" in out.stderr


def test_commands_keep_their_exit_code_output_quoting_and_arguments() -> None:
    backend = _local()
    bound(backend, 5)
    out = backend.run("printf '%%s|' %s %s; echo err >&2; exit 3", "it's", "a b")
    assert (out.rc, out.stdout, out.stderr) == (3, "it's|a b|", "err\n")


def test_a_client_that_outlives_the_deadline_is_killed_on_this_machine(tmp_path: Path) -> None:
    # What the host's timeout cannot end (a hung docker engine, a process in uninterruptible sleep): the
    # client process and its children are killed once the deadline and the margin are spent.
    backend = _local()
    bound(backend, 0.2, margin=0.3)
    pidfile = tmp_path / "pid"
    out = backend.run_local(f"sh -c 'echo $$ > {pidfile}; exec sleep 30'")
    assert out.rc == TIMED_OUT and "no answer within 0.2 s (+0.3 s): killed on this machine" in out.stderr
    pid = int(pidfile.read_text())
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True)
    assert state.stdout.strip() in ("", "Z")  # gone (or a zombie waiting for its parent)


def test_no_deadline_runs_the_command_as_testinfra_does() -> None:
    backend = _local()
    bound(backend, None)
    out = backend.run("echo $0")
    assert out.rc == 0 and "timeout" not in backend.get_command("true")


def test_a_host_without_timeout_runs_the_command_unbounded_there(tmp_path: Path) -> None:
    # A PATH with a shell and nothing else: no `timeout` to be found, the command still runs.
    (tmp_path / "sh").symlink_to("/bin/sh")
    line = bounded_line("echo ok; exit 4", 3)
    done = subprocess.run(
        ["/bin/sh", "-c", line], capture_output=True, text=True, env={"PATH": str(tmp_path)}
    )
    assert (done.returncode, done.stdout, done.stderr) == (4, "ok\n", "")


def test_watch_bounds_the_local_machine_and_docker_hosts_but_not_ssh_sessions() -> None:
    local = testinfra.get_host("local://", sudo=False, sudo_user="bounded-watch")
    watch(local, None, {}, lambda: "test", 7)
    assert "timeout -k 5 7 sh -c" in local.backend.get_command("df -P")
    docker = testinfra.get_host("docker://some-container")
    watched = watch(docker, Host(name="c", transport="docker://some-container"), {}, lambda: "t", 9)
    assert "timeout -k 5 9 sh -c" in watched.backend.get_command("df -P")
    ssh = testinfra.get_host("ssh://root@127.0.0.1:1?ssh_config=/dev/null")
    watched = watch(ssh, Host(name="s", transport="ssh://root@127.0.0.1:1"), {}, lambda: "t", 9)
    assert "timeout" not in ssh.backend.get_command("df -P")  # its session bounds each command itself


def test_a_stuck_local_command_fails_its_check_and_the_others_run(tmp_path: Path) -> None:
    # The whole suite on the local machine (local://, the gate's own host); the same over ssh is
    # selftest/e2e/test_hung_command.py.
    owned = tmp_path / "owned"
    owned.write_text("")
    assert_stuck_command_fails_only_its_check(
        tmp_path, "local://", deadline=1, owned=(owned, tmp_path.owner()), extra=("--report-page=none",)
    )
