"""A real run of the checks (tests_infra, in a subprocess) against an inventory written to a test's tmp_path,
read back from its JUnit, and the fail-fast verdict on a hung ssh host that test_read_ahead.py and
test_inventory_hosts.py both expect."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_checks(
    tmp_path: Path, host: str, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, ET.Element]]:
    """Run tests_infra against ``tmp_path/<host>.toml`` (ssh ControlPaths under tmp_path), then its JUnit
    testcases by name."""
    junit = tmp_path / "junit.xml"
    cmd = [
        sys.executable, "-m", "pytest", "tests_infra", f"--host={host}", f"--inventory={tmp_path}",
        f"--junitxml={junit}", f"--html={tmp_path / 'report.html'}", "-p", "no:cacheprovider", "-q", *args,
    ]  # fmt: skip
    env = {**os.environ, "INFRAGATE_SSH_CONTROL_DIR": str(tmp_path / "cm")}
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    return result, {c.get("name", ""): c for c in ET.parse(junit).iter("testcase")}


def assert_one_test_waited_for_the_hung_host(
    result: subprocess.CompletedProcess[str],
    cases: dict[str, ET.Element],
    *,
    live: str,
    hung: str,
    counts: tuple[int, int],
    port: int,
) -> None:
    """The live host's tests (names holding ``live``) pass; of the hung host's (names holding ``hung``)
    exactly one waited and reports the ssh timeout, every other fails at once naming that test, and the
    run's summary names the unreachable endpoint. ``counts``: how many tests each host has."""
    __tracebackhide__ = True
    live_cases = {n: c for n, c in cases.items() if live in n}
    hung_cases = {n: c for n, c in cases.items() if hung in n}
    assert (len(live_cases), len(hung_cases)) == counts, result.stdout[-3000:]
    assert all(c.find("failure") is None and c.find("error") is None for c in live_cases.values()), (
        result.stdout[-3000:]
    )
    messages = {
        n: failure.get("message", "")
        for n, c in hung_cases.items()
        if (failure := c.find("failure")) is not None
    }
    assert len(messages) == len(hung_cases), result.stdout[-3000:]
    assert all(messages.values()), messages
    waited = [n for n, m in messages.items() if "first seen in" not in m]
    assert len(waited) == 1, messages
    (first,) = waited
    assert "host hung: ssh://root@127.0.0.1:" in messages[first] and "timed out" in messages[first], messages[
        first
    ]
    # Every other test of that host names the one that waited, and ran no ssh of its own.
    func, _, param = first.partition("[")
    for name, message in messages.items():
        if name != first:
            assert "(first seen in tests_infra/" in message and f"::{func}[{param}" in message, message
    assert f"unreachable: ssh://root@127.0.0.1:{port}: " in result.stdout, result.stdout[-3000:]
