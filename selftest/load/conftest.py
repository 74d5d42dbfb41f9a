"""Fixtures of the load self-tests that need the reference stack: it, an inventory for it, suite runs.

The stack is the one ``stack.api`` points at (``INFRAGATE_STACK_PORT_BASE`` / ``INFRAGATE_RUN_DIR`` select
another instance); it is started when down and stopped at the end only if this session started it.
The inventory is ``inventory/local.toml``'s own ``[load]`` section with the ports of that instance.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from selftest.helpers import parse_junit

ROOT = Path(__file__).resolve().parents[2]
_PORT = re.compile(r"\b(localhost|127\.0\.0\.1):(18\d{3})\b")


@dataclass
class LoadRun:
    """One ``pytest tests_load`` subprocess: exit code, output, JUnit cases, where its reports went."""

    returncode: int
    stdout: str
    out: Path
    reports: Path
    cases: list[dict[str, str]] = field(default_factory=list)

    def case(self, prefix: str) -> dict[str, str]:
        """The one JUnit case whose name starts with ``prefix``."""
        found = [c for c in self.cases if c["name"].startswith(prefix)]
        assert len(found) == 1, (prefix, [c["name"] for c in self.cases])
        return found[0]

    def outcomes(self) -> dict[str, str]:
        """Outcome by test name."""
        return {c["name"]: c["outcome"] for c in self.cases}


@pytest.fixture(scope="session")
def load_inventory(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding ``local.toml``: local.toml's [load] section, on this stack instance's ports."""
    from stack.layout import DEFAULT_PORT_BASE, port_base

    text = (ROOT / "inventory" / "local.toml").read_text(encoding="utf-8")
    start = text.index("\n[load]\n")
    # The [load] tables only: up to the first table header of another section (the file goes on).
    lines = text[start:].splitlines(keepends=True)
    end = next(
        (
            i
            for i, line in enumerate(lines[2:], 2)
            if line.startswith("[") and not line.startswith(("[load", "[[load"))
        ),
        len(lines),
    )
    section = "".join(lines[:end])
    offset = port_base() - DEFAULT_PORT_BASE
    section = _PORT.sub(lambda m: f"{m[1]}:{int(m[2]) + offset}", section)
    directory = tmp_path_factory.mktemp("inventory")
    head = f'[target]\ndescription = "load self-test"\nca_bundle = "{stack.ca_file()}"\n'
    (directory / "local.toml").write_text(head + section, encoding="utf-8")
    return directory


@pytest.fixture(scope="session")
def load_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Reports and history of every run of this session (shared: the regression test reads it)."""
    return tmp_path_factory.mktemp("load-reports")


@pytest.fixture(scope="session")
def secrets(stack: Any) -> dict[str, str]:
    """The stack's secrets by variable name."""
    return dict(stack.secrets())


@pytest.fixture(scope="session")
def run_load(
    load_inventory: Path,
    load_reports: Path,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., LoadRun]:
    """``run_load(*pytest_args, name=...)``: ``pytest tests_load --host=local`` against the stack."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAGATE_")}
    env.update(secrets)

    def run(*args: str, name: str) -> LoadRun:
        out = tmp_path_factory.mktemp(name)
        cmd = [
            sys.executable, "-m", "pytest", "tests_load", "--host=local", f"--inventory={load_inventory}",
            f"--load-reports={load_reports}", "-p", "no:cacheprovider", f"--junitxml={out / 'junit.xml'}",
            f"--html={out / 'report.html'}", "-o", "junit_suite_name=infragate-load", "-rA", *args,
        ]  # fmt: skip
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        (out / "stdout.txt").write_text(proc.stdout + proc.stderr)
        junit = out / "junit.xml"
        cases = parse_junit(junit) if junit.exists() else []
        return LoadRun(proc.returncode, proc.stdout + proc.stderr, out, load_reports / "local", cases)

    return run
