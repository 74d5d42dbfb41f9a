"""The pytest-timeout backstop names the check and the inventory entry of a stuck test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

STUCK_TEST = """
import time
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Entry:
    name: str


@pytest.mark.check("WS-KEEPALIVE")
@pytest.mark.parametrize("endpoint", [Entry("proxy")], ids=["local-proxy"])
def test_stuck(endpoint):
    time.sleep(60)


def test_after():
    pass
"""


@pytest.mark.parametrize("method", ["signal", "thread"])
def test_timeout_message_names_check_and_entry(tmp_path: Path, method: str) -> None:
    (tmp_path / "test_stuck.py").write_text(STUCK_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    check(id): catalog check\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "fixtures.timeouts",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:locust",
            f"--timeout-method={method}",
            "--timeout=1",
            "-q",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "[WS-KEEPALIVE] entry 'proxy' (test_stuck.py::test_stuck[local-proxy])" in out, out
    assert "pytest-timeout backstop" in out
    if method == "signal":  # only the stuck test fails; the run goes on
        assert "1 failed, 1 passed" in out, out
