"""Safety rules: intrusive and load checks are opt-in, and sensitive targets need the explicit flag.

No intrusive check exists in tests_infra yet (the catalog's intrusive ids need components later issues
add), so a throwaway suite folder named tests_infra is written here: one check marked intrusive by hand
(the plugin adds the same marker from the catalog's mode), one load-mode check (LOAD-HTTP-HEALTH).
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SUITE = """
import pytest

@pytest.mark.intrusive
@pytest.mark.check("HOST-PORT-REACHABLE")
def test_upload_limit_enforced(target):
    assert target.name

@pytest.mark.check("LOAD-HTTP-HEALTH")
def test_load_health_within_slo(target):
    assert target.name

@pytest.mark.check("HOST-PORT-REACHABLE")
def test_port_reachable_readonly(target):
    assert target.name
"""


def _outcomes(tmp_path: Path, sensitive: bool, *args: str) -> dict[str, str]:
    suite = tmp_path / "tests_infra"
    suite.mkdir(exist_ok=True)
    (suite / "test_safety_probe.py").write_text(SUITE)
    inv = tmp_path / "inv"
    inv.mkdir(exist_ok=True)
    # Declares the components the three catalog ids need, so only the safety rules decide.
    (inv / "t.toml").write_text(
        f"[target]\nsensitive = {str(sensitive).lower()}\n"
        "[[host.ports]]\nname='p'\nhost='127.0.0.1'\nport=1\n"
        "[http]\n[load]\n[[load.http]]\nname='h'\ncheck='LOAD-HTTP-HEALTH'\nbase_url='http://127.0.0.1:1'\n"
    )
    junit = tmp_path / "junit.xml"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(suite),
        "-p",
        "fixtures.plugin",
        "-p",
        "fixtures.checks",
        "--host=t",
        f"--inventory={inv}",
        f"--junitxml={junit}",
        f"--html={tmp_path / 'r.html'}",
        "-p",
        "no:cacheprovider",
        "-q",
        "--rootdir",
        str(tmp_path),
        "-c",
        str(ROOT / "pyproject.toml"),
        *args,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAGATE_")}
    env["PYTHONPATH"] = str(ROOT)
    subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    out = {}
    for case in ET.parse(junit).iter("testcase"):
        skipped = case.find("skipped")
        out[case.get("name", "").split("[")[0]] = (
            "skipped: " + (skipped.get("message") or "") if skipped is not None else "ran"
        )
    return out


def test_sensitive_target_skips_intrusive_and_load_saying_how_to_opt_in(tmp_path: Path) -> None:
    out = _outcomes(tmp_path, True)
    assert "add --allow-intrusive" in out["test_upload_limit_enforced"]
    assert "add --allow-load" in out["test_load_health_within_slo"]
    assert out["test_port_reachable_readonly"] == "ran"


def test_sensitive_target_ignores_marker_selection_without_flag(tmp_path: Path) -> None:
    out = _outcomes(tmp_path, True, "-m", "intrusive")
    assert out["test_upload_limit_enforced"].startswith("skipped")


def test_sensitive_target_runs_intrusive_and_load_with_flags(tmp_path: Path) -> None:
    out = _outcomes(tmp_path, True, "--allow-intrusive", "--allow-load")
    assert out["test_upload_limit_enforced"] == "ran" and out["test_load_health_within_slo"] == "ran"


@pytest.mark.parametrize("args", [(), ("-m", "intrusive or not intrusive")], ids=["default", "selected"])
def test_plain_target_runs_intrusive_only_when_asked(tmp_path: Path, args: tuple[str, ...]) -> None:
    out = _outcomes(tmp_path, False, *args)
    if args:
        assert out["test_upload_limit_enforced"] == "ran"
    else:
        assert "run with -m intrusive or --allow-intrusive" in out["test_upload_limit_enforced"]
    assert out["test_load_health_within_slo"] == "ran"
