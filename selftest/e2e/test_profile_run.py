"""The suite against the reference stack through an inventory that extends a shipped profile (issue 12).

selftest/e2e/inventories/stoflow-on-stack.toml is what a StoFlow team writes: `extends` the StoFlow profile,
then hosts, URLs and secrets' variable names. The profile's contracts, thresholds and runbook remedies
come through the merge; the run passes on the healthy stack and, under a fault, names the runbook's section.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from selftest.helpers import parse_junit

ROOT = Path(__file__).resolve().parents[2]
USER_FILE = ROOT / "selftest" / "e2e" / "inventories" / "stoflow-on-stack.toml"
PROFILE = ROOT / "inventory" / "profiles" / "stoflow"


@pytest.fixture(scope="module")
def stoflow_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user file, shifted to this stack's ports and run dir, extending the shipped profile."""
    from stack import layout

    base, run_dir = layout.port_base(), layout.run_dir()
    text = USER_FILE.read_text()
    text = re.sub(r"\b184(\d\d)\b", lambda m: str(base + int(m.group(1))), text)
    text = text.replace("../.run/stack/", f"{run_dir}/")
    text = re.sub(r'(?m)^extends = ".*"$', f'extends = "{PROFILE}"', text)
    out = tmp_path_factory.mktemp("stoflow")
    (out / "stoflow.toml").write_text(text)
    return out


def _run(stoflow_dir: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    junit = stoflow_dir / f"junit{len(list(stoflow_dir.glob('junit*.xml')))}.xml"
    cmd = [
        sys.executable, "-m", "pytest", "tests_infra", "--host=stoflow", f"--inventory={stoflow_dir}",
        "-p", "no:cacheprovider", f"--junitxml={junit}", "-l", *args,
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return done, parse_junit(junit) if junit.exists() else []


@pytest.fixture(scope="module")
def healthy(stack: Any, stack_env: dict[str, str], stoflow_dir: Path) -> Any:
    """One run of the whole suite through the profile-extending inventory on the healthy stack."""
    return _run(stoflow_dir, stack_env)


def test_profile_inventory_passes_on_the_healthy_stack(healthy: Any) -> None:
    done, cases = healthy
    failed = [c["name"] for c in cases if c["outcome"] in ("failed", "error")]
    assert done.returncode == 0 and not failed, (failed, done.stdout[-3000:])


def test_profile_contracts_run_their_checks(healthy: Any) -> None:
    _, cases = healthy
    ran = {c["check"] for c in cases if c["outcome"] == "passed"}
    # From the profile: per-tenant schemas, Alembic, the JWT login and refresh, the WebSocket, the host.
    wanted = {
        "AUTH-TENANT-SCHEMA", "MIG-ALEMBIC-AT-HEAD", "AUTH-LOGIN", "AUTH-REFRESH", "WS-CONNECT-DIRECT",
        "PG-READY", "HOST-PORT-LISTENING", "HOST-PROCESS-RUNNING", "HOST-LOG-ERRORS", "HTTP-HEALTH",
    }  # fmt: skip
    assert wanted <= ran, sorted(wanted - ran)


def test_show_inventory_names_the_profile_and_hides_secrets(
    stack: Any, stack_env: dict[str, str], stoflow_dir: Path
) -> None:
    done, _ = _run(stoflow_dir, stack_env, "--show-inventory")
    assert done.returncode == 0, done.stderr
    assert "stoflow" in done.stdout and "template_tenant" not in done.stdout  # the user's template won
    assert "tenant_template" in done.stdout
    assert all(v not in done.stdout for v in stack.secrets().values() if len(v) >= 6)


def test_fault_names_the_runbook_section_from_the_profile(
    stack: Any, stack_env: dict[str, str], stoflow_dir: Path
) -> None:
    stack.fault("service-stopped")
    try:
        done, cases = _run(stoflow_dir, stack_env, "-k", "HOST-PROCESS-RUNNING or HTTP-HEALTH")
    finally:
        stack.heal("service-stopped")
    failed = {c["check"]: c["message"] for c in cases if c["outcome"] == "failed"}
    assert "HOST-PROCESS-RUNNING" in failed, done.stdout[-3000:]
    assert "runbook 003 § FastAPI / Uvicorn" in failed["HOST-PROCESS-RUNNING"]
