"""End-to-end fixtures: the reference stack (started here when it is not up) and suite runs against it."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SuiteRun:
    """One `pytest tests_infra --host=local` run: exit code, output and JUnit results by check id."""

    returncode: int
    stdout: str
    stderr: str
    report_dir: Path
    cases: list[dict[str, Any]] = field(default_factory=list)

    def failed(self) -> dict[str, list[str]]:
        """Failure messages (and errors) by check id."""
        out: dict[str, list[str]] = {}
        for case in self.cases:
            if case["outcome"] in ("failed", "error"):
                out.setdefault(case["check"], []).append(case["message"])
        return out

    def check_ids(self) -> set[str]:
        """Check ids that ran."""
        return {c["check"] for c in self.cases}


def _parse_junit(path: Path) -> list[dict[str, Any]]:
    cases = []
    for case in ET.parse(path).iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (node.get("message") or "") + "\n" + (node.text or "")
                break
        cases.append({"name": case.get("name"), "check": props.get("check", "?"), "outcome": outcome,
                      "message": message})
    return cases


@pytest.fixture(scope="session")
def stack() -> Iterator[Any]:
    """The reference stack, healthy; stopped at the end only when this session started it."""
    from stack import api

    already_up = all(part.up for part in api.status().values())
    api.up()
    api.heal_all()
    yield api
    api.heal_all()
    if not already_up:
        api.down()


@pytest.fixture(scope="session")
def stack_env(stack: Any) -> dict[str, str]:
    """Environment for a suite run: the stack's secrets, nothing inherited that selects a target."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAGATE_")}
    env.update(stack.secrets())
    return env


@pytest.fixture(scope="session")
def run_suite(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Run the check suite against the local stack; returns a SuiteRun."""

    def run(*args: str, name: str = "run") -> SuiteRun:
        out = tmp_path_factory.mktemp(name)
        cmd = [sys.executable, "-m", "pytest", "tests_infra", "--host=local", "-p", "no:cacheprovider",
               f"--junitxml={out / 'junit.xml'}", f"--html={out / 'report.html'}", "-o",
               "junit_suite_name=infragate-local", *args]
        proc = subprocess.run(cmd, cwd=ROOT, env=stack_env, capture_output=True, text=True, timeout=300)
        (out / "stdout.txt").write_text(proc.stdout)
        junit = out / "junit.xml"
        cases = _parse_junit(junit) if junit.exists() else []
        return SuiteRun(proc.returncode, proc.stdout, proc.stderr, out, cases)

    return run
