"""--only-entries / --with-control (fixtures/select.py): which tests a fault run keeps, and why.

Offline: a throwaway suite folder named tests_infra, parametrized by the real plugin over an inventory
written here (nothing is contacted; the tests only look at their parameters). Judged from the JUnit
``selection`` property, never from test ids.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SUITE = """
import pytest

@pytest.mark.check("HOST-PORT-REACHABLE")
def test_port_declared(port):
    assert port.port == 1

@pytest.mark.check("HOST-PORT-LISTENING")
def test_port_listed(port):
    assert port.name

@pytest.mark.check("PG-READY")
def test_pg_declared(postgres):
    assert postgres.dbname == "d"

@pytest.mark.check("CORS-ALLOWED-ORIGIN")
def test_cors_origin(cors_allowed):
    policy, origin = cors_allowed
    assert origin in policy.allowed_origins

@pytest.mark.check("HOST-MEMORY")
def test_host_wide(target):
    assert target.host is not None
"""

INVENTORY = """
[host]
transport = "local://"

[[host.ports]]
name = "api"
host = "127.0.0.1"
port = 1

[[host.ports]]
name = "shared"
host = "127.0.0.1"
port = 1

[[postgres]]
name = "shared"
host = "127.0.0.1"
port = 1
dbname = "d"
user = "u"
password_env = "SELECT_TEST_PG_PASSWORD"

[[cors]]
name = "web"
url = "http://127.0.0.1:1/"
allowed_origins = ["https://a.example", "https://b.example"]
"""


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str | None]]:
    """Run the throwaway suite; returns the process and, per test name, its ``selection`` property."""
    suite = tmp_path / "tests_infra"
    suite.mkdir(exist_ok=True)
    (suite / "test_select_probe.py").write_text(SUITE)
    inv = tmp_path / "inv"
    inv.mkdir(exist_ok=True)
    (inv / "t.toml").write_text(INVENTORY)
    junit = tmp_path / "junit.xml"
    junit.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", str(suite), "--host=t", f"--inventory={inv}"]
    cmd += ["-p", "fixtures.plugin", "-p", "fixtures.select", "-p", "fixtures.checks"]
    cmd += [f"--junitxml={junit}", f"--html={tmp_path / 'r.html'}", "-p", "no:cacheprovider", "-q"]
    cmd += ["--rootdir", str(tmp_path), "-c", str(ROOT / "pyproject.toml"), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAGATE_")}
    env.update(PYTHONPATH=str(ROOT), SELECT_TEST_PG_PASSWORD="not-a-real-secret")
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    kept: dict[str, str | None] = {}
    if junit.exists():
        for case in ET.parse(junit).iter("testcase"):
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            kept[case.get("name", "")] = props.get("selection")
    return proc, kept


def _by_role(kept: dict[str, str | None], role: str) -> list[str]:
    return sorted(name.split("[")[0] for name, kind in kept.items() if kind == role)


def test_one_entry_selects_its_tests_and_one_control_per_other_component(tmp_path: Path) -> None:
    proc, kept = _run(tmp_path, "--only-entries=host.ports/api", "--with-control")
    assert proc.returncode == 0, proc.stdout[-2000:]
    # api's two port checks; the other port entry is not named, so its tests are not part of it.
    assert _by_role(kept, "part") == ["test_port_declared", "test_port_listed"]
    # One control per catalog component (cors, host, postgres, host.ports): the first test of each not
    # already selected, in collection order; host.ports' is the unnamed entry's first test.
    control = [name for name, kind in kept.items() if kind == "control"]
    assert _by_role(kept, "control") == [
        "test_cors_origin",
        "test_host_wide",
        "test_pg_declared",
        "test_port_declared",
    ]
    assert len(kept) == 6
    assert "infragate selection: 2 tests of host.ports/api; 4 control tests" in proc.stdout
    again = _run(tmp_path, "--only-entries=host.ports/api", "--with-control")[1]
    assert [name for name, kind in again.items() if kind == "control"] == control  # deterministic


def test_a_bare_name_selects_that_name_in_every_component(tmp_path: Path) -> None:
    _, kept = _run(tmp_path, "--only-entries=shared")
    assert _by_role(kept, "part") == ["test_pg_declared", "test_port_declared", "test_port_listed"]
    assert _by_role(kept, "control") == []  # no --with-control: nothing else runs


def test_tuple_parameters_belong_to_the_entry_inside(tmp_path: Path) -> None:
    _, kept = _run(tmp_path, "--only-entries=cors/web")
    assert _by_role(kept, "part") == ["test_cors_origin", "test_cors_origin"]  # both origins


def test_a_component_covers_tests_without_an_entry_and_the_components_under_it(tmp_path: Path) -> None:
    _, kept = _run(tmp_path, "--only-entries=host")
    assert _by_role(kept, "part") == [
        "test_host_wide",
        "test_port_declared",
        "test_port_declared",
        "test_port_listed",
        "test_port_listed",
    ]


def test_naming_one_entry_never_selects_a_test_without_an_entry(tmp_path: Path) -> None:
    _, kept = _run(tmp_path, "--only-entries=host.ports/shared")
    assert "test_host_wide" not in _by_role(kept, "part")


def test_a_selector_naming_nothing_is_a_one_line_usage_error(tmp_path: Path) -> None:
    proc, _ = _run(tmp_path, "--only-entries=host.ports/nope", "--with-control")
    assert proc.returncode == 4
    assert "'host.ports/nope' names no inventory entry or component of target t" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
