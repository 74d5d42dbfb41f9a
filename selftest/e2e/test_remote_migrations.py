"""Migration checks on a target whose host is reached over ssh (the reference stack's sshd): the Alembic
scripts and sqlx files are read on that host through its transport (infragate/probes/remote_tree.py),
healthy, then under real faults that change the deployed files (a second Alembic head, a new sqlx file).
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
CHECKS = "MIG-ALEMBIC or MIG-SQLX"


def _inventory(run_dir: Path, pg_port: int) -> str:
    return f"""
[target]
description = "the stack's database, its app host reached over ssh"

[host]
transport = "ssh://stack?ssh_config={run_dir}/ssh/ssh_config"

[[postgres]]
name = "appdb"
host = "127.0.0.1"
port = {pg_port}
dbname = "appdb"
user = "infragate"
password_env = "INFRAGATE_LOCAL_PG_PASSWORD"
sslmode = "disable"

[[migrations.alembic]]
name = "app"
scripts = "{run_dir}/app/migrations"
database = "appdb"

[[migrations.sqlx]]
name = "chat"
directory = "{run_dir}/app/sqlx-migrations"
database = "appdb"
"""


def _run(tmp_path: Path, env: dict[str, str], tag: str) -> tuple[dict[str, dict[str, Any]], Path]:
    from stack import layout

    inv = tmp_path / "inv"
    inv.mkdir(exist_ok=True)
    (inv / "viassh.toml").write_text(_inventory(layout.run_dir(), layout.ports().postgres))
    control = Path(tempfile.mkdtemp(prefix=f"ig-{tag[:4]}-"))  # short: ssh's socket path limit
    junit = tmp_path / f"junit-{tag}.xml"
    cmd = [
        sys.executable, "-m", "pytest", "tests_infra", "--host=viassh", f"--inventory={inv}",
        f"--junitxml={junit}", "-p", "no:cacheprovider", "-q", "-k", CHECKS,
    ]  # fmt: skip
    full = {**env, "INFRAGATE_SSH_CONTROL_DIR": str(control)}
    proc = subprocess.run(cmd, cwd=ROOT, env=full, capture_output=True, text=True, timeout=240)
    assert junit.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return {c["check"]: c for c in parse_junit(junit)}, control


@pytest.mark.parametrize(
    ("fault", "check", "message"),
    [
        ("alembic-two-heads", "MIG-ALEMBIC-SINGLE-HEAD", "multiple heads"),
        ("sqlx-migration-pending", "MIG-SQLX-APPLIED", "20240103000000_add_message_edited_at.sql"),
    ],
)
def test_deployed_migrations_read_over_ssh(
    fault: str, check: str, message: str, stack: Any, stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in stack_env.items() if k != "INFRAGATE_SSH_CONTROL_DIR"}
    healthy, control = _run(tmp_path, env, "healthy")
    assert healthy and all(c["outcome"] == "passed" for c in healthy.values()), {
        k: c["message"] for k, c in healthy.items() if c["outcome"] != "passed"
    }
    assert {"MIG-ALEMBIC-SINGLE-HEAD", "MIG-SQLX-APPLIED"} <= set(healthy)
    assert [p.name[:3] for p in control.iterdir()] == ["cm-"]  # the files came through ssh
    stack.fault(fault)
    try:
        faulted, _ = _run(tmp_path, env, "fault")
    finally:
        stack.heal(fault)
    assert faulted[check]["outcome"] == "failed", faulted[check]
    assert message in faulted[check]["message"]
