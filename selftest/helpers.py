"""Shared by the self-tests: the reference stack driven through its CLI, and JUnit parsing."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def parse_junit(path: Path) -> list[dict[str, Any]]:
    """Testcases of a JUnit file: name, check and selection properties, outcome, message.

    ``outcome`` is passed, failed, error or skipped; ``selection`` is ``part`` or ``control`` in a run
    narrowed with --only-entries (fixtures/select.py), else None.
    """
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
        cases.append(
            {
                "name": case.get("name"),
                "check": props.get("check", "?"),
                "selection": props.get("selection"),
                "outcome": outcome,
                "message": message,
            }
        )
    return cases


class StackCli:
    """The reference stack driven through its CLI in a subprocess.

    Servers started from this process would be our children; through the CLI they are the stack's own,
    re-parented and stopped by PID like in any other use.
    """

    # Set by the e2e self-test to its prefork server (selftest/e2e/prefork.py): same commands, forked
    # from a preloaded interpreter instead of started afresh.
    runner: Any = None

    def _run(self, *args: str, timeout: float = 180) -> None:
        proc: Any
        if self.runner is not None:
            proc = self.runner.run("stack", args, cwd=ROOT, env=dict(os.environ), timeout=timeout)
        else:
            argv = [sys.executable, "-m", "stack", *args]
            proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"python -m stack {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")

    def is_up(self) -> bool:
        """True when every part of the stack is up."""
        return (
            subprocess.run(
                [sys.executable, "-m", "stack", "status"], cwd=ROOT, capture_output=True, timeout=60
            ).returncode
            == 0
        )

    def up(self) -> None:
        """Start what is not running (and heal active faults)."""
        # A first start builds the deployment part's images (stack/docker.py: mmdebstrap, docker build,
        # each bounded at 600 s); a second xdist worker's stack waits for them in the shared image cache.
        self._run("up", timeout=1800)

    def down(self) -> None:
        """Stop the stack by PID."""
        self._run("down")

    def fault(self, name: str) -> None:
        """Apply a fault; returns once it is live."""
        self._run("fault", name)

    def heal(self, name: str) -> None:
        """Heal a fault; returns once the stack is healthy again."""
        self._run("heal", name)

    def heal_all(self) -> None:
        """Heal every active fault."""
        self._run("heal-all")

    def ca_file(self) -> Path:
        """The stack's CA certificate (the trust anchor clients use)."""
        from stack import api

        return api.ca_file()

    def secrets(self) -> dict[str, str]:
        """The stack's generated secrets by environment-variable name."""
        from stack import api

        return api.secrets()
