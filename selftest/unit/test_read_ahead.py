"""A fleet's host facts read ahead of their tests (fixtures/facts.py ``read_ahead``, fixtures/hostwarm.py) and
its xdist grouping (fixtures/plugin.py ``host_group``): same verdicts and the same fail-fast messages as
reads made by the tests themselves. Behaviour, not a stopwatch (durations: bench/fleet.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fixtures.hostwarm import pytest_cmdline_main
from fixtures.plugin import HOSTS_PER_GROUP, host_group
from selftest.unit.servers import blackhole

ROOT = Path(__file__).resolve().parents[2]


def _hosts(count: int) -> list[Any]:
    return [SimpleNamespace(name=f"h{i:03d}") for i in range(1, count + 1)]


def test_hosts_are_grouped_in_consecutive_blocks_that_keep_the_workers_even() -> None:
    worker = SimpleNamespace(workerinput={"workercount": 2})
    hosts = _hosts(100)
    groups = [host_group(worker, hosts, h) for h in hosts]  # type: ignore[arg-type]
    assert groups[0] == groups[HOSTS_PER_GROUP - 1] == f"hosts-h001..h{HOSTS_PER_GROUP:03d}"
    assert groups[HOSTS_PER_GROUP] != groups[0]
    assert len(set(groups)) == -(-100 // HOSTS_PER_GROUP)  # every host in exactly one block
    few = _hosts(10)
    # 10 hosts on 2 workers: blocks of 2, five groups (not one worker with 8 hosts and one with 2).
    assert len({host_group(worker, few, h) for h in few}) == 5  # type: ignore[arg-type]
    # A single process (no xdist) or a tiny fleet: one host per group, named as before.
    assert host_group(SimpleNamespace(), _hosts(3), _hosts(3)[1]) == "host-h002"  # type: ignore[arg-type]


def test_n_without_dist_distributes_by_loadgroup_and_an_explicit_dist_is_kept() -> None:
    def dist(**option: Any) -> str:
        config = SimpleNamespace(option=SimpleNamespace(**option))
        pytest_cmdline_main(config)  # type: ignore[arg-type]
        return str(config.option.dist)

    assert dist(numprocesses="auto", dist="no", distload=False) == "loadgroup"
    assert dist(numprocesses=2, dist="load", distload=False) == "load"
    assert dist(numprocesses=2, dist="no", distload=True) == "no"  # xdist turns --distload into load
    assert dist(numprocesses=0, dist="no", distload=False) == "no"
    assert dist(numprocesses=None, dist="no", distload=False) == "no"


def test_a_hung_host_found_by_a_read_ahead_is_still_one_test_s_timeout_and_named_by_the_others(
    tmp_path: Path,
) -> None:
    """Two live hosts come first, so the hung host's memory and load facts are read ahead (learned from the
    live hosts' tests) in a helper thread, which meets the hung ssh. Exactly one test of the hung host
    reports the timeout itself; every other names it, and the live hosts pass."""
    with blackhole() as port:
        (tmp_path / "three.toml").write_text(
            f"""
[target]
connect_timeout = 1.0

[thresholds.HOST-CPU-LOAD]
sample_s = 0.1
max_load1_per_core = 1000
max_load5_per_core = 1000
max_busy_pct = 100

[thresholds.HOST-MEMORY]
max_used_pct = 100

[[hosts]]
name = "live-1"

[[hosts]]
name = "live-2"

[[hosts]]
name = "hung"
transport = "ssh://root@127.0.0.1:{port}?ssh_config=/dev/null"
"""
        )
        junit = tmp_path / "junit.xml"
        cmd = [
            sys.executable, "-m", "pytest", "tests_infra", "--host=three", f"--inventory={tmp_path}",
            f"--junitxml={junit}", f"--html={tmp_path / 'report.html'}", "-p", "no:cacheprovider", "-q",
            "--no-diagnostics", "-k", "HOST-MEMORY or HOST-CPU-LOAD",
        ]  # fmt: skip
        env = {**os.environ, "INFRAGATE_SSH_CONTROL_DIR": str(tmp_path / "cm")}
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    cases = {c.get("name", ""): c for c in ET.parse(junit).iter("testcase")}
    live = {n: c for n, c in cases.items() if "three/live-" in n}
    hung = {n: c for n, c in cases.items() if "three/hung" in n}
    assert len(live) == 6 and len(hung) == 3, result.stdout[-3000:]
    assert all(c.find("failure") is None and c.find("error") is None for c in live.values()), result.stdout[
        -3000:
    ]
    messages = {
        n: failure.get("message", "") for n, c in hung.items() if (failure := c.find("failure")) is not None
    }
    assert len(messages) == len(hung) and all(messages.values()), messages
    waited = [n for n, m in messages.items() if "first seen in" not in m]
    assert len(waited) == 1, messages
    (first,) = waited
    assert "host hung: ssh://root@127.0.0.1:" in messages[first] and "timed out" in messages[first]
    func, _, param = first.partition("[")
    for name, message in messages.items():
        if name != first:
            assert "(first seen in tests_infra/" in message and f"::{func}[{param}" in message, message
    # The run's summary names the test that reported it, never the helper thread's read.
    assert f"unreachable: ssh://root@127.0.0.1:{port}: " in result.stdout
    assert "read ahead" not in result.stdout
