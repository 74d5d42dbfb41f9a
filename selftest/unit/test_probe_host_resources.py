"""Host memory, load, CPU busy, process RSS and GPUs: parsers on recorded text, probes on this machine."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import testinfra

from infragate.probes import gpu
from infragate.probes.host_resources import (
    cpu_busy,
    load_average,
    memory,
    parse_cgroup_memory,
    parse_cpu_times,
    parse_loadavg,
    parse_meminfo,
    parse_rss,
    process_memory,
    resolve_command,
)

MEMINFO = "MemTotal:        8148416 kB\nMemFree:          118264 kB\nMemAvailable:     312480 kB\n"
STAT = """\
cpu  700 0 100 150 50 0 0 0 0 0
cpu0 350 0 50 75 25 0 0 0 0 0
cpu1 350 0 50 75 25 0 0 0 0 0
intr 0
"""


@pytest.fixture(scope="module")
def machine() -> testinfra.host.Host:
    """This machine through testinfra's local backend, as ``[host] transport = "local://"``."""
    return testinfra.get_host("local://")


def test_meminfo_used_share_is_memavailable_based() -> None:
    mem = parse_meminfo(MEMINFO)
    assert mem.error is None and mem.used_pct == pytest.approx(100 * (1 - 312480 / 8148416))


def test_meminfo_without_memavailable_is_an_error_not_a_guess() -> None:
    assert "MemAvailable" in (parse_meminfo("MemTotal: 1000 kB\nMemFree: 10 kB\n").error or "")
    assert parse_meminfo("garbage").error == "no MemTotal in meminfo"


def test_cpu_times_count_idle_and_iowait_as_idle() -> None:
    times = parse_cpu_times(STAT)
    assert (times.busy, times.total, times.cpus) == (800, 1000, 2)


def test_load_per_core_divides_by_the_cpus_of_stat() -> None:
    load = parse_loadavg("3.00 1.60 0.90 2/300 1234\n", 2)
    assert (load.per_core(1), load.per_core(5)) == (1.5, 0.8)
    assert parse_loadavg("3.00 1.60 0.90", 0).error is not None
    assert parse_loadavg("busy", 2).error is not None


def test_a_recorded_procfs_is_read_through_the_transport(
    machine: testinfra.host.Host, tmp_path: Path
) -> None:
    (tmp_path / "meminfo").write_text(MEMINFO)
    (tmp_path / "stat").write_text(STAT)
    (tmp_path / "loadavg").write_text("41.37 38.92 30.15 47/612 998877\n")
    assert memory(machine, str(tmp_path)).used_pct > 96
    assert load_average(machine, str(tmp_path)).per_core(5) == pytest.approx(19.46)
    # A static stat: no time passes between the two readings, which is said, never read as 0 % busy.
    assert "no CPU time elapsed" in (cpu_busy(machine, str(tmp_path), 0.05).error or "")
    assert "unreadable" in (memory(machine, str(tmp_path / "absent")).error or "")


def test_the_real_machine_reads_sensibly(machine: testinfra.host.Host) -> None:
    mem, load, busy = memory(machine), load_average(machine), cpu_busy(machine, "/proc", 0.2)
    assert mem.error is None and 0 < mem.used_pct < 100
    assert load.error is None and load.cpus >= 1
    assert busy.error is None and 0 <= busy.busy_pct <= 100


def test_process_rss_names_pids_and_sizes(machine: testinfra.host.Host) -> None:
    # A real process holding 64 MiB of touched memory, found by its whole command line.
    code = "import time; x = bytearray(b'a' * (64 * 2**20)); print('ready', flush=True); time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        found = process_memory(machine, rf"{sys.executable} -c import time; x = bytearray.*")
        assert [pid for pid, _ in found.rss_kb] == [child.pid]
        assert found.over(32) == found.rss_kb and found.over(512) == ()
    finally:
        child.kill()
        child.communicate()
    time.sleep(0.1)
    assert process_memory(machine, r"no such process \d+").error is not None


def test_rss_lines_of_grep() -> None:
    text = "/proc/12/status:VmRSS:\t  204800 kB\n/proc/13/status:VmRSS:\t     512 kB\n"
    assert parse_rss(text) == ((12, 204800), (13, 512))


def test_relative_programs_are_relative_to_the_inventory_file() -> None:
    inventory = Path("/srv/infragate/inventory/prod.toml")
    assert resolve_command(("../bin/nvidia-smi", "-L"), inventory) == ("/srv/infragate/bin/nvidia-smi", "-L")
    assert resolve_command(("nvidia-smi",), inventory) == ("nvidia-smi",)


def test_nvidia_smi_query_csv() -> None:
    report = gpu.parse_query("0, NVIDIA A100-SXM4-80GB, 79000, 81920\n1, Tesla T4, 100, 15360\n")
    assert [(g.index, g.name) for g in report.gpus] == [(0, "NVIDIA A100-SXM4-80GB"), (1, "Tesla T4")]
    assert report.gpus[0].used_pct == pytest.approx(96.44, abs=0.01)
    assert report.has_count(2) and not report.has_count(3) and not gpu.parse_query("").has_count(None)
    assert "unreadable" in (gpu.parse_query("0, Tesla T4, [N/A], 15360\n").error or "")


def test_nvidia_smi_missing_is_an_error(machine: testinfra.host.Host) -> None:
    report = gpu.query_gpus(machine, ("/nonexistent/nvidia-smi",))
    assert report.error is not None and "/nonexistent/nvidia-smi failed" in report.error


# Recorded outputs of host_resources._CGROUP_CMD (files as the kernel writes them; stat abridged).
CGROUP_V2_LIMITED = "@v2\n536870912\n503316480\nanon 440401920\nfile 62914560\ninactive_file 10485760\n@v1\n"
CGROUP_V2_ROOT = "@v2\nanon 1\nfile 2\ninactive_file 3\n@v1\n"  # the root cgroup has no memory.max/current
CGROUP_V1_LIMITED = (
    "@v2\n@v1\n268435456\n201326592\ncache 8388608\nrss 190000000\ntotal_inactive_file 16777216\n"
)
CGROUP_V1_UNLIMITED = "@v2\n@v1\n9223372036854771712\n2785468416\ntotal_inactive_file 0\n"
MACHINE_KB = 24 * 2**20  # a 24 GiB machine


def test_cgroup_v2_limit_is_the_containers_memory() -> None:
    mem = parse_cgroup_memory(CGROUP_V2_LIMITED, MACHINE_KB)
    assert mem is not None and mem.scope == "cgroup v2 memory limit"
    # 512 MiB limit, 480 MiB charged of which 10 MiB reclaimable file cache: 42 MiB left, 91.8% used.
    assert (mem.total_kb, mem.available_kb) == (512 * 1024, 42 * 1024)
    assert round(mem.used_pct, 1) == 91.8


def test_cgroup_v1_limit_and_total_inactive_file() -> None:
    mem = parse_cgroup_memory(CGROUP_V1_LIMITED, MACHINE_KB)
    assert mem is not None and mem.scope == "cgroup v1 memory limit"
    assert (mem.total_kb, mem.available_kb) == (256 * 1024, (268435456 - (201326592 - 16777216)) // 1024)


def test_no_cgroup_limit_keeps_meminfo() -> None:
    assert parse_cgroup_memory(CGROUP_V2_ROOT, MACHINE_KB) is None
    assert parse_cgroup_memory(CGROUP_V1_UNLIMITED, MACHINE_KB) is None
    assert parse_cgroup_memory("@v2\nmax\n1000\n@v1\n", MACHINE_KB) is None
    assert parse_cgroup_memory("", MACHINE_KB) is None
