"""A fleet's host facts read ahead of their tests (fixtures/facts.py ``read_ahead``, fixtures/hostwarm.py) and
its xdist grouping (fixtures/plugin.py ``host_group``): same verdicts and the same fail-fast messages as
reads made by the tests themselves. Behaviour, not a stopwatch (durations: bench/fleet.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fixtures.hostwarm import pytest_cmdline_main
from fixtures.plugin import HOSTS_PER_GROUP, host_group
from selftest.unit.fleet_runs import assert_one_test_waited_for_the_hung_host, run_checks
from selftest.unit.servers import blackhole


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
        result, cases = run_checks(
            tmp_path, "three", "--no-diagnostics", "-k", "HOST-MEMORY or HOST-CPU-LOAD"
        )
    assert_one_test_waited_for_the_hung_host(
        result, cases, live="three/live-", hung="three/hung", counts=(6, 3), port=port
    )
    # The run's summary names the test that reported it, never the helper thread's read.
    assert "read ahead" not in result.stdout
