"""A command stuck on an ssh host (a config check that never returns, like `df` on a hung NFS mount) ends
at the target's command_timeout, under the host's own `timeout`, as that check's failure; the same host's
other checks still run through the same session, and nothing waits longer than that deadline."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from selftest.helpers import ROOT, parse_junit

pytestmark = pytest.mark.timeout(300)


def test_stuck_command_fails_its_check_and_the_host_goes_on(
    stack: Any, stack_env: dict[str, str], tmp_path: Path
) -> None:
    from stack import layout

    run_dir = layout.run_dir()
    settings = tmp_path / "settings.toml"
    settings.write_text("debug = false\n")
    inv = tmp_path / "inv"
    inv.mkdir()
    (inv / "stuck.toml").write_text(
        f"""
[target]
command_timeout = 2

[host]
transport = "ssh://stack?ssh_config={run_dir}/ssh/ssh_config"
disks = [{{ name = "root", path = "/", max_used_pct = 99.9 }}]
files = [{{ name = "ssh-config", path = "{run_dir}/ssh/sshd_config", owner = "root" }}]

[[config.files]]
name = "app"
path = "{settings}"
format = "toml"
check_command = ["sh", "-c", "sleep 600"]
"""
    )
    control = Path(tempfile.mkdtemp(prefix="ig-stuck-"))  # short: ssh's socket path limit
    junit = tmp_path / "junit.xml"
    env = {**stack_env, "INFRAGATE_SSH_CONTROL_DIR": str(control)}
    cmd = [
        sys.executable, "-m", "pytest", "tests_infra", "--host=stuck", f"--inventory={inv}",
        f"--junitxml={junit}", "-p", "no:cacheprovider", "-q",
        "-k", "CONFIG-SYNTAX or HOST-DISK-FREE or HOST-FILE-PERMISSIONS",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    cases = {c["check"]: c for c in parse_junit(junit)}
    assert set(cases) == {"CONFIG-SYNTAX", "HOST-DISK-FREE", "HOST-FILE-PERMISSIONS"}, proc.stdout[-3000:]
    syntax = cases["CONFIG-SYNTAX"]
    assert syntax["outcome"] == "failed" and "exited 124" in syntax["message"], syntax
    assert "timed out after 2 s on the host" in syntax["message"]
    assert cases["HOST-DISK-FREE"]["outcome"] == "passed", cases["HOST-DISK-FREE"]["message"]
    assert cases["HOST-FILE-PERMISSIONS"]["outcome"] == "passed", cases["HOST-FILE-PERMISSIONS"]["message"]
    # The stuck command was ended on the host, not left running there.
    left = subprocess.run(["pgrep", "-f", "^sleep 600$"], capture_output=True, text=True)
    assert left.stdout == "", left.stdout
