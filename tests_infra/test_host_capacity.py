"""The host keeps memory and CPU to spare, its processes stay within their memory, its GPUs too.

Runbooks 000/003/004: ``free -h``, ``uptime``, ``top``, ``ps aux --sort=-%mem``, ``nvidia-smi``, read on the
machine through ``[host] transport`` (testinfra): procfs files under ``[host] procfs``, ``VmRSS`` of each
declared process, ``nvidia-smi --query-gpu`` CSV.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("HOST-MEMORY")
def test_memory_available(host_section, facts, threshold, explain):
    mem = facts.host_memory()
    limit = threshold("max_used_pct")
    assert mem.error is None, explain(expected="meminfo with MemTotal and MemAvailable", seen=mem.error)
    assert mem.used_pct <= limit, explain(
        expected=f"memory used at most {limit:g}% (MemAvailable based)",
        seen=f"memory {mem.used_pct:.1f}% used: {mem.available_kb / 2**20:.2f} GiB available "
        f"of {mem.total_kb / 2**20:.2f} GiB ({mem.scope})",
    )


@pytest.mark.check("HOST-CPU-LOAD")
def test_load_average_per_core(host_section, facts, threshold, explain):
    load = facts.host_load()
    max1, max5 = threshold("max_load1_per_core"), threshold("max_load5_per_core")
    assert load.error is None, explain(expected="loadavg and the CPU count from stat", seen=load.error)
    assert load.per_core(1) <= max1 and load.per_core(5) <= max5, explain(
        expected=f"load average per core at most {max1:g} (1 min) and {max5:g} (5 min)",
        seen=f"load average {load.load1:.2f} {load.load5:.2f} {load.load15:.2f} on {load.cpus} CPUs: "
        f"{load.per_core(1):.2f} (1 min) and {load.per_core(5):.2f} (5 min) per core",
    )


@pytest.mark.check("HOST-CPU-LOAD")
def test_cpu_busy_share(host_section, facts, threshold, explain):
    busy = facts.host_cpu_busy(threshold("sample_s"))
    limit = threshold("max_busy_pct")
    assert busy.error is None, explain(expected="two readings of stat", seen=busy.error)
    assert busy.busy_pct <= limit, explain(
        expected=f"CPU busy at most {limit:g}% over a short sample",
        seen=f"CPU {busy.busy_pct:.1f}% busy over {busy.seconds:.1f} s",
    )


@pytest.mark.check("HOST-PROCESS-MEMORY")
def test_process_resident_memory(process_memory, facts, explain):
    found = facts.process_rss(process_memory)
    limit = process_memory.max_rss_mb
    assert found.error is None, explain(
        expected=f"processes matching {process_memory.pattern!r}", seen=found.error
    )
    over = found.over(limit)
    assert not over, explain(
        expected=f"resident memory (VmRSS) of each process at most {limit:g} MiB",
        seen="; ".join(f"pid {pid} RSS {kb / 1024:.1f} MiB" for pid, kb in over),
    )


@pytest.mark.check("HOST-GPU-MEMORY")
def test_gpus_present(gpu, facts, explain):
    report = facts.gpus(gpu)
    assert report.error is None, explain(expected="nvidia-smi to list the GPUs", seen=report.error)
    want = f"{gpu.count} GPU(s)" if gpu.count is not None else "at least one GPU"
    listed = ", ".join(f"{g.index}: {g.name}" for g in report.gpus) or "none"
    assert report.has_count(gpu.count), explain(
        expected=want, seen=f"{len(report.gpus)} GPU(s) listed ({listed})"
    )


@pytest.mark.check("HOST-GPU-MEMORY")
def test_gpu_memory_below_limit(gpu, facts, threshold, explain):
    report = facts.gpus(gpu)
    limit = threshold("max_used_pct")
    assert report.error is None, explain(expected="nvidia-smi to list the GPUs", seen=report.error)
    full = [g for g in report.gpus if g.used_pct > limit]
    assert not full, explain(
        expected=f"GPU memory used at most {limit:g}% on each GPU",
        seen="; ".join(
            f"GPU {g.index} ({g.name}) {g.used_pct:.1f}% used: {g.used_mib:g} of {g.total_mib:g} MiB"
            for g in full
        ),
    )
