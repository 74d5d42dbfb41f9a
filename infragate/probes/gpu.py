"""GPUs of the host and their memory, from ``nvidia-smi --query-gpu`` (runbooks 000 and 004: ``nvidia-smi``).

The query's CSV (no header, no units) is read through the host transport: one line per GPU,
``index, name, memory.used, memory.total`` in MiB. A GPU the driver lost is simply absent from it, so
the count is judged against the declared one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from infragate.facts import Context, fact, host_side
from infragate.probes.host_resources import resolve_command

if TYPE_CHECKING:
    from infragate.inventory import HostGpu

__all__ = ["QUERY", "Gpu", "GpuReport", "parse_query", "query_gpus"]

QUERY = ("--query-gpu=index,name,memory.used,memory.total", "--format=csv,noheader,nounits")


class Runner(Protocol):
    """A testinfra host, or anything with the same ``run(command, *args)`` (each arg quoted)."""

    def run(self, command: str, *args: str) -> Any: ...


@dataclass(frozen=True)
class Gpu:
    """One GPU: index, model name and memory in MiB."""

    index: int
    name: str
    used_mib: float
    total_mib: float

    @property
    def used_pct(self) -> float:
        """Share of its memory in use."""
        return 100.0 * self.used_mib / self.total_mib if self.total_mib else 0.0


@dataclass(frozen=True)
class GpuReport:
    """The GPUs ``nvidia-smi`` lists, or why it could not be asked."""

    gpus: tuple[Gpu, ...] = ()
    error: str | None = None

    def has_count(self, expected: int | None) -> bool:
        """Exactly ``expected`` GPUs listed (at least one when no count is declared)."""
        return len(self.gpus) == expected if expected is not None else bool(self.gpus)


def parse_query(text: str) -> GpuReport:
    """The CSV lines of the query; ``[N/A]`` or a malformed line is an error naming the line."""
    gpus = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        try:
            index, name, used, total = fields[0], ", ".join(fields[1:-2]), fields[-2], fields[-1]
            gpus.append(Gpu(int(index), name, float(used), float(total)))
        except (ValueError, IndexError):
            return GpuReport(error=f"unreadable nvidia-smi line: {line.strip()[:120]!r}")
    return GpuReport(tuple(gpus))


def query_gpus(machine: Runner, command: tuple[str, ...]) -> GpuReport:
    """Run ``<command> --query-gpu=... --format=csv,noheader,nounits`` on the host and parse it."""
    argv = (*command, *QUERY)
    out = machine.run(" ".join("%s" for _ in argv), *argv)
    if out.rc != 0:
        why = str(out.stderr).strip() or str(out.stdout).strip() or f"exit {out.rc}"
        return GpuReport(error=f"{' '.join(command)} failed: {why[:300]}")
    return parse_query(str(out.stdout))


@fact(endpoint=host_side)
def gpus(ctx: Context, gpu: HostGpu) -> GpuReport:
    """The GPUs of the host and their memory, from ``[host.gpu] command`` (nvidia-smi)."""
    return query_gpus(ctx.machine(), resolve_command(gpu.command, ctx.target.path))
