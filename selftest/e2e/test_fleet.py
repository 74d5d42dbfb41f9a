"""Two hosts in one target: the runner itself (``local://``) and the reference stack's sshd (``ssh://``).

Each host declares its own entries; the test ids and failure messages name the host, the ssh host's
checks really go through ssh (its ControlMaster socket appears under the run's control dir), and a real
fault on one host's entry (tls-key-world-readable, which the runner declares) fails that host's test
only: every test of the ssh host stays green.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from selftest.helpers import ROOT, parse_junit

pytestmark = pytest.mark.timeout(300)


def _inventory(run_dir: Path) -> str:
    return f"""
[target]
description = "the runner and the stack's sshd as two hosts"

[[hosts]]
name = "runner"
transport = "local://"
disks = [{{ name = "root", path = "/", max_used_pct = 99.9 }}]
[[hosts.files]]
name = "tls-key"
path = "{run_dir}/tls/server.key"
owner = "root"
mode = "0600"
secret = true

[[hosts]]
name = "stack-ssh"
transport = "ssh://stack?ssh_config={run_dir}/ssh/ssh_config"
disks = [{{ name = "root", path = "/", max_used_pct = 99.9 }}]
services = [{{ name = "sshd", pidfile = "{run_dir}/ssh/sshd.pid" }}]
files = [{{ name = "ssh-config", path = "{run_dir}/ssh/sshd_config", owner = "root" }}]
"""


def _run(tmp_path: Path, env: dict[str, str], tag: str) -> tuple[list[dict[str, Any]], Path]:
    from stack import layout

    inv = tmp_path / "inv"
    inv.mkdir(exist_ok=True)
    (inv / "two.toml").write_text(_inventory(layout.run_dir()))
    # A short directory: ssh's master socket path (dir + cm-<digest> + a 17-byte suffix) must fit 107 bytes,
    # which a pytest tmp_path does not leave room for (infragate would then use its own short dir instead).
    control = Path(tempfile.mkdtemp(prefix=f"ig-{tag[:4]}-"))
    junit = tmp_path / f"junit-{tag}.xml"
    cmd = [
        sys.executable, "-m", "pytest", "tests_infra", "--host=two", f"--inventory={inv}",
        f"--junitxml={junit}", "-p", "no:cacheprovider", "-q",
        "-k", "HOST-DISK-FREE or HOST-FILE or HOST-SERVICE",
    ]  # fmt: skip
    full = {**env, "INFRAGATE_SSH_CONTROL_DIR": str(control)}
    proc = subprocess.run(cmd, cwd=ROOT, env=full, capture_output=True, text=True, timeout=240)
    assert junit.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return parse_junit(junit), control


def _outcomes(cases: list[dict[str, Any]]) -> dict[str, str]:
    return {c["name"].split("[", 1)[1].rstrip("]"): c["outcome"] for c in cases}


def test_two_hosts_healthy_then_a_fault_fails_only_its_host(
    stack: Any, stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in stack_env.items() if k != "INFRAGATE_SSH_CONTROL_DIR"}
    cases, control = _run(tmp_path, env, "healthy")
    outcomes = _outcomes(cases)
    assert outcomes == {
        "HOST-DISK-FREE two/runner/root": "passed",
        "HOST-DISK-FREE two/stack-ssh/root": "passed",
        "HOST-FILE-PERMISSIONS two/runner/tls-key": "passed",
        "HOST-FILE-PERMISSIONS two/stack-ssh/ssh-config": "passed",
        "HOST-SERVICE-ACTIVE two/stack-ssh/sshd": "passed",
    }, [c["message"] for c in cases if c["outcome"] != "passed"]
    # The ssh host's facts came through ssh, over one reused connection (its ControlMaster socket).
    assert [p.name[:3] for p in control.iterdir()] == ["cm-"]

    stack.fault("tls-key-world-readable")
    try:
        cases, _ = _run(tmp_path, env, "fault")
    finally:
        stack.heal("tls-key-world-readable")
    failed = {c["name"].split("[", 1)[1].rstrip("]"): c["message"] for c in cases if c["outcome"] != "passed"}
    assert list(failed) == ["HOST-FILE-PERMISSIONS two/runner/tls-key"], failed
    message = failed["HOST-FILE-PERMISSIONS two/runner/tls-key"]
    assert "[HOST-FILE-PERMISSIONS] two/runner/tls-key" in message and "world-readable" in message
