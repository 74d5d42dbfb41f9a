"""Shared by the bench scripts: run the check suite as a subprocess and time it."""

from __future__ import annotations

import os
import resource
import shlex
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class SuiteRun:
    """One timed run of the suite: wall time, exit code, JUnit counts and the last line it printed, and the
    CPU seconds (user + system) it and its children used: on a shared machine the wall time also counts
    waiting for a core."""

    seconds: float
    code: int
    tests: int
    failed: int
    last_line: str
    cpu: float = 0.0


def run_suite_full(*args: str, env: dict[str, str] | None = None, out: Path) -> SuiteRun:
    """Run `pytest tests_infra ARGS` with only ``env``'s INFRAGATE_* variables; time and count it."""
    return run_pytest_full("tests_infra", *args, env=env, out=out, cwd=ROOT)


def run_pytest_full(*args: str, env: dict[str, str] | None = None, out: Path, cwd: Path) -> SuiteRun:
    """Run `pytest ARGS` in ``cwd`` (quiet, no cache, JUnit and HTML reports as the suite writes them) with
    only ``env``'s INFRAGATE_* variables; time and count it."""
    junit = out / f"junit-{time.monotonic_ns()}.xml"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *args[:1],
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        f"--html={out / 'report.html'}",
        *args[1:],
    ]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAGATE_")}
    full_env.update(env or {})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=900)
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    tests = failures = 0
    if junit.exists():
        for case in ET.parse(junit).iter("testcase"):
            tests += 1
            failures += case.find("failure") is not None or case.find("error") is not None
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return SuiteRun(elapsed, proc.returncode, tests, failures, lines[-1] if lines else "", cpu)


def run_suite(*args: str, env: dict[str, str] | None = None, out: Path) -> tuple[float, int, int, int]:
    """Run `pytest tests_infra ARGS`; returns (seconds, exit code, tests, failures+errors)."""
    run = run_suite_full(*args, env=env, out=out)
    return run.seconds, run.code, run.tests, run.failed


def stack_secrets() -> dict[str, str]:
    """The reference stack's secrets as `python -m stack env` exports them (honours INFRAGATE_RUN_DIR).

    Values are for the child's environment only: never print them.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "stack", "env"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    if proc.returncode != 0:
        raise SystemExit(f"python -m stack env failed (exit {proc.returncode})")
    secrets: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            secrets[name] = value
    return secrets
