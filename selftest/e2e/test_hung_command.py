"""A command stuck on an ssh host (a config check that never returns, like `df` on a hung NFS mount) ends
at the target's command_timeout, under the host's own `timeout`, as that check's failure; the same host's
other checks still run through the same session, and nothing waits longer than that deadline."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from selftest.helpers import assert_stuck_command_fails_only_its_check

pytestmark = pytest.mark.timeout(300)


def test_stuck_command_fails_its_check_and_the_host_goes_on(
    stack: Any, stack_env: dict[str, str], tmp_path: Path
) -> None:
    from stack import layout

    run_dir = layout.run_dir()
    control = Path(tempfile.mkdtemp(prefix="ig-stuck-"))  # short: ssh's socket path limit
    assert_stuck_command_fails_only_its_check(
        tmp_path,
        f"ssh://stack?ssh_config={run_dir}/ssh/ssh_config",
        deadline=2,
        owned=(f"{run_dir}/ssh/sshd_config", "root"),
        env={**stack_env, "INFRAGATE_SSH_CONTROL_DIR": str(control)},
    )
