"""Memory and CPU of a host, and resident memory of declared processes, read from procfs (runbook 004).

``free -h``, ``uptime`` and ``ps aux --sort=-%mem`` as data: ``meminfo``, ``loadavg`` and ``stat`` are read
under ``[host] procfs`` (default ``/proc``; node_exporter's ``--path.procfs``: a host watched from a container
mounts its /proc elsewhere) through the host transport, and parsed here. Process memory is ``VmRSS`` of
``/proc/<pid>/status`` for the pids whose whole command line matches the declared pattern.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from infragate.facts import Context, fact, host_side
from infragate.probes import host

if TYPE_CHECKING:
    from infragate.inventory import HostProcess

__all__ = [
    "CGROUP_MEMORY_CMD",
    "CpuBusy",
    "CpuTimes",
    "LoadAverage",
    "Memory",
    "ProcessMemory",
    "cpu_times",
    "load_average",
    "memory",
    "parse_cgroup_memory",
    "parse_cpu_times",
    "parse_loadavg",
    "parse_meminfo",
    "parse_rss",
    "process_memory",
    "resolve_command",
]

_RSS = re.compile(r"^/proc/(\d+)/status:VmRSS:\s+(\d+)\s*kB", re.MULTILINE)


class Runner(Protocol):
    """A testinfra host, or anything with the same ``run(command, *args)`` (each arg quoted)."""

    def run(self, command: str, *args: str) -> Any: ...


@dataclass(frozen=True)
class Memory:
    """``MemTotal`` and ``MemAvailable`` in KiB (what ``free`` calls total and available); inside a memory
    limited container, its cgroup's limit and what is left of it (``scope`` says which)."""

    total_kb: int = 0
    available_kb: int = 0
    error: str | None = None
    scope: str = "meminfo"

    @property
    def used_pct(self) -> float:
        """Share of memory not available to new work: 100 * (1 - MemAvailable / MemTotal)."""
        return 100.0 * (1 - self.available_kb / self.total_kb) if self.total_kb else 0.0


def parse_meminfo(text: str) -> Memory:
    """``/proc/meminfo`` -> Memory; kernels before 3.14 lack MemAvailable: an error, never a guess."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            values[key.strip()] = int(fields[0])
    if not values.get("MemTotal"):
        return Memory(error="no MemTotal in meminfo")
    if "MemAvailable" not in values:
        return Memory(error="no MemAvailable in meminfo (kernel older than 3.14)")
    return Memory(values["MemTotal"], values["MemAvailable"])


@dataclass(frozen=True)
class CpuTimes:
    """Aggregate CPU time of ``/proc/stat`` in jiffies (busy and total), and how many CPUs it lists."""

    busy: int = 0
    total: int = 0
    cpus: int = 0
    error: str | None = None


def parse_cpu_times(text: str) -> CpuTimes:
    """The ``cpu`` line (user nice system idle iowait irq softirq steal) and the count of ``cpuN`` lines.

    Idle is idle + iowait. guest/guest_nice are already inside user/nice: not added twice.
    """
    fields: list[int] | None = None
    cpus = 0
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if name == "cpu":
            fields = [int(v) for v in rest.split()[:8] if v.isdigit()]
        elif name.startswith("cpu") and name[3:].isdigit():
            cpus += 1
    if fields is None or len(fields) < 4:
        return CpuTimes(error="no cpu line in stat")
    total = sum(fields)
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return CpuTimes(total - idle, total, cpus)


@dataclass(frozen=True)
class LoadAverage:
    """1, 5 and 15-minute load averages and the CPU count they are divided by."""

    load1: float = 0.0
    load5: float = 0.0
    load15: float = 0.0
    cpus: int = 0
    error: str | None = None

    def per_core(self, minutes: int) -> float:
        """The 1- or 5-minute load average divided by the number of CPUs."""
        load = self.load1 if minutes == 1 else self.load5
        return load / self.cpus if self.cpus else 0.0


def parse_loadavg(text: str, cpus: int) -> LoadAverage:
    """``/proc/loadavg`` (``0.52 0.58 0.59 2/300 1234``) with the CPU count from ``/proc/stat``."""
    fields = text.split()
    try:
        load1, load5, load15 = (float(v) for v in fields[:3])
    except ValueError:
        return LoadAverage(error=f"unreadable loadavg: {text.strip()[:60]!r}")
    if cpus < 1:
        return LoadAverage(error="no cpuN line in stat: CPU count unknown")
    return LoadAverage(load1, load5, load15, cpus)


def _read(machine: Runner, procfs: str, name: str) -> tuple[str | None, str]:
    path = f"{procfs.rstrip('/')}/{name}"
    text, why = host.read_file(machine, path)
    return text, f"{path} unreadable: {why}"


# The memory cgroup the host's processes live in, found from /proc/self/cgroup (the reading shell's own:
# the same as the container's processes): v2 (``0::<path>``, files under /sys/fs/cgroup<path>), then v1's
# memory controller (``N:memory:<path>`` under /sys/fs/cgroup/memory<path>). The path also works when
# the host's cgroup tree is bind-mounted into the container without a cgroup namespace (systemd images).
# In a container (docker://, or ssh into one) /proc/meminfo is the whole machine's, so a container near
# its --memory limit looked idle; its own cgroup files say how close it is to being OOM-killed.
CGROUP_MEMORY_CMD = (
    "v2=$(sed -n 's/^0::\\(.*\\)$/\\1/p' /proc/self/cgroup); "
    "v1=$(sed -n 's/^[0-9]*:[^:]*memory[^:]*:\\(.*\\)$/\\1/p' /proc/self/cgroup | head -n 1); "
    "d=/sys/fs/cgroup${v2%/}; printf '@v2\\n'; "
    "cat $d/memory.max $d/memory.current $d/memory.stat 2>/dev/null; "
    "d=/sys/fs/cgroup/memory${v1%/}; printf '@v1\\n'; "
    "cat $d/memory.limit_in_bytes $d/memory.usage_in_bytes $d/memory.stat 2>/dev/null; true"
)


def parse_cgroup_memory(text: str, machine_total_kb: int) -> Memory | None:
    """The output of ``CGROUP_MEMORY_CMD`` -> the cgroup's view, or None when no limit below the machine's
    memory applies (no cgroup files, ``max``, v1's "unlimited" near 2**63). Available = limit - (usage -
    inactive file cache), as the kernel can reclaim that cache before it OOM-kills (what ``docker stats``
    subtracts too)."""
    for block in text.split("@")[1:]:
        version, _, body = block.partition("\n")
        lines = body.splitlines()
        if len(lines) < 2 or not lines[0].strip().isdigit() or not lines[1].strip().isdigit():
            continue  # v2's "max", or this version's files absent
        limit, usage = int(lines[0]), int(lines[1])
        stat = dict(line.split(None, 1) for line in lines[2:] if len(line.split()) == 2)
        # v1: a parent's lower limit applies too (the kernel sums it up in hierarchical_memory_limit).
        limit = min(limit, int(stat.get("hierarchical_memory_limit", limit)))
        if limit // 1024 >= machine_total_kb:
            continue
        inactive = int(stat.get("total_inactive_file" if version == "v1" else "inactive_file", "0"))
        used = max(0, usage - inactive)
        return Memory(limit // 1024, max(0, limit - used) // 1024, scope=f"cgroup {version} memory limit")
    return None


def memory(machine: Runner, procfs: str = "/proc") -> Memory:
    """Total and available memory of the host, from ``<procfs>/meminfo``; under a memory cgroup limit
    (a container), the limit and what is left of it. A ``procfs`` other than ``/proc`` (a recorded view)
    is read as given, without the live cgroup."""
    text, why = _read(machine, procfs, "meminfo")
    if text is None:
        return Memory(error=why)
    found = parse_meminfo(text)
    if found.error is not None or procfs.rstrip("/") != "/proc":
        return found
    out = machine.run(CGROUP_MEMORY_CMD)
    limited = parse_cgroup_memory(out.stdout, found.total_kb) if out.rc == 0 else None
    return limited or found


def cpu_times(machine: Runner, procfs: str = "/proc") -> CpuTimes:
    """One reading of ``<procfs>/stat``."""
    text, why = _read(machine, procfs, "stat")
    return parse_cpu_times(text) if text is not None else CpuTimes(error=why)


def load_average(machine: Runner, procfs: str = "/proc") -> LoadAverage:
    """Load averages of the host per CPU; the CPUs are counted in ``stat``, read from the same procfs.

    Not ``nproc``: it counts the CPUs this process may use (a container's cpuset), while the load average
    is the whole machine's run queue.
    """
    text, why = _read(machine, procfs, "loadavg")
    if text is None:
        return LoadAverage(error=why)
    times = cpu_times(machine, procfs)
    return parse_loadavg(text, times.cpus) if times.error is None else LoadAverage(error=times.error)


@dataclass(frozen=True)
class CpuBusy:
    """Share of CPU time spent busy between two readings of ``stat`` taken ``seconds`` apart."""

    busy_pct: float = 0.0
    seconds: float = 0.0
    error: str | None = None


def cpu_busy(machine: Runner, procfs: str = "/proc", sample_s: float = 1.0) -> CpuBusy:
    """Two readings of ``<procfs>/stat`` ``sample_s`` apart: 100 * busy jiffies / all jiffies between them.

    No other command of this run goes to the host in between (``exclusive``, when the host has it): a
    sample read while other tests run must not count our own ``ps`` or ``ss`` as the host's load."""
    exclusive = getattr(machine, "exclusive", None)
    with exclusive() if exclusive is not None else contextlib.nullcontext():
        first = cpu_times(machine, procfs)
        start = time.monotonic()
        time.sleep(sample_s)
        second = cpu_times(machine, procfs)
        elapsed = time.monotonic() - start
    if first.error or second.error:
        return CpuBusy(error=first.error or second.error)
    total = second.total - first.total
    if total <= 0:
        return CpuBusy(error=f"no CPU time elapsed in {procfs}/stat over {elapsed:.1f} s (a static file?)")
    return CpuBusy(100.0 * (second.busy - first.busy) / total, elapsed)


@dataclass(frozen=True)
class ProcessMemory:
    """Resident memory (KiB) of each live process matching a declared pattern."""

    pattern: str
    rss_kb: tuple[tuple[int, int], ...] = ()  # (pid, VmRSS KiB)
    error: str | None = None

    def over(self, limit_mb: float) -> tuple[tuple[int, int], ...]:
        """The (pid, KiB) pairs above ``limit_mb`` MiB."""
        return tuple((pid, kb) for pid, kb in self.rss_kb if kb > limit_mb * 1024)


def parse_rss(text: str) -> tuple[tuple[int, int], ...]:
    """``grep -H VmRSS /proc/<pid>/status ...`` output -> (pid, KiB); kernel threads have no VmRSS."""
    return tuple((int(pid), int(kb)) for pid, kb in _RSS.findall(text))


def process_memory(machine: Runner, pattern: str) -> ProcessMemory:
    """VmRSS of every live process whose whole command line matches ``pattern``."""
    pids = [p.pid for p in host.processes(machine, pattern)]
    if not pids:
        return ProcessMemory(pattern, error="no process running whose whole command line matches")
    # One command for all pids; a pid that exited meanwhile only loses its line (grep exit 2 then).
    out = machine.run("grep -H VmRSS " + " ".join("%s" for _ in pids), *(f"/proc/{p}/status" for p in pids))
    found = parse_rss(str(out.stdout))
    if not found:
        return ProcessMemory(pattern, error=f"no VmRSS read for pids {pids}: {str(out.stderr).strip()[:200]}")
    return ProcessMemory(pattern, found)


def resolve_command(command: tuple[str, ...], inventory_file: Path) -> tuple[str, ...]:
    """A relative program path (with a slash) is relative to the inventory file, like every host path."""
    program = command[0]
    if "/" in program and not program.startswith("/"):
        program = os.path.normpath(inventory_file.parent / program)
    return (program, *command[1:])


def _procfs(ctx: Context) -> str:
    return str(ctx.host.procfs) if ctx.host is not None else "/proc"


@fact(endpoint=host_side)
def host_memory(ctx: Context) -> Memory:
    """Total and available memory of the host (``[host] procfs``/meminfo)."""
    return memory(ctx.machine(), _procfs(ctx))


@fact(endpoint=host_side)
def host_load(ctx: Context) -> LoadAverage:
    """1/5/15-minute load averages of the host and its CPU count."""
    return load_average(ctx.machine(), _procfs(ctx))


@fact(endpoint=host_side)
def host_cpu_busy(ctx: Context, sample_s: float) -> CpuBusy:
    """CPU busy share of the host over ``sample_s`` seconds (two readings of stat)."""
    return cpu_busy(ctx.machine(), _procfs(ctx), sample_s)


@fact(endpoint=host_side)
def process_rss(ctx: Context, process: HostProcess) -> ProcessMemory:
    """Resident memory of each process matching a declared ``[[host.processes]]`` pattern."""
    return process_memory(ctx.machine(), process.pattern)
