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


# The three checks a stuck-command run selects: the stuck one, and two others of the same host.
_STUCK_CHECKS = ("CONFIG-SYNTAX", "HOST-DISK-FREE", "HOST-FILE-PERMISSIONS")


def assert_stuck_command_fails_only_its_check(
    tmp_path: Path,
    transport: str,
    *,
    deadline: int,
    owned: tuple[Path | str, str],
    env: dict[str, str] | None = None,
    extra: tuple[str, ...] = (),
) -> None:
    """Run the suite on ``transport`` with a config check command that never returns (a ``df`` on a hung
    NFS mount): CONFIG-SYNTAX fails at the target's ``command_timeout`` (``deadline``) under the host's own
    ``timeout``, the host's other checks (a disk, the file ``owned`` = (path, owner)) pass, and the stuck
    command is not left running. One body for every transport (local://, ssh://)."""
    sleep = f"sleep {600 + deadline * 7}"  # a command line of its own, to find a survivor by
    settings = tmp_path / "settings.toml"
    settings.write_text("debug = false\n")
    inv = tmp_path / "inv"
    inv.mkdir()
    (inv / "stuck.toml").write_text(
        f"""
[target]
command_timeout = {deadline}

[host]
transport = "{transport}"
disks = [{{ name = "root", path = "/", max_used_pct = 99.9 }}]
files = [{{ name = "owned", path = "{owned[0]}", owner = "{owned[1]}" }}]

[[config.files]]
name = "app"
path = "{settings}"
format = "toml"
check_command = ["sh", "-c", "{sleep}"]
"""
    )
    junit = tmp_path / "junit.xml"
    cmd = [
        sys.executable, "-m", "pytest", "tests_infra", "--host=stuck", f"--inventory={inv}",
        f"--junitxml={junit}", "-p", "no:cacheprovider", "-q", "-k", " or ".join(_STUCK_CHECKS), *extra,
    ]  # fmt: skip
    # ``env`` whole, as given (the e2e stack_env drops what would select another target); None: inherited.
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    cases = {c["check"]: c for c in parse_junit(junit)}
    assert set(cases) == set(_STUCK_CHECKS), proc.stdout[-3000:]
    syntax = cases["CONFIG-SYNTAX"]
    assert syntax["outcome"] == "failed" and "exited 124" in syntax["message"], syntax
    assert f"timed out after {deadline} s on the host" in syntax["message"]
    for other in _STUCK_CHECKS[1:]:
        assert cases[other]["outcome"] == "passed", cases[other]["message"]
    # The stuck command was ended on the host, not left running there.
    left = subprocess.run(["pgrep", "-f", f"^{sleep}$"], capture_output=True, text=True)
    assert left.stdout == "", left.stdout


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
