"""Shared by the bench scripts: run the check suite as a subprocess and time it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_suite(*args: str, env: dict[str, str] | None = None, out: Path) -> tuple[float, int, int, int]:
    """Run `pytest tests_infra ARGS`; returns (seconds, exit code, tests, failures+errors)."""
    junit = out / f"junit-{time.monotonic_ns()}.xml"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "tests_infra",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        f"--html={out / 'report.html'}",
        *args,
    ]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAGATE_")}
    full_env.update(env or {})
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=900)
    elapsed = time.monotonic() - start
    tests = failures = 0
    if junit.exists():
        for case in ET.parse(junit).iter("testcase"):
            tests += 1
            failures += case.find("failure") is not None or case.find("error") is not None
    return elapsed, proc.returncode, tests, failures
