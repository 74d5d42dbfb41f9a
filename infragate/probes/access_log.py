"""nginx access log: the share of 5xx answers since the run started (runbook 002 § Logs d'Accès).

Reads the combined log format (``$remote_addr - $remote_user [$time_local] "$request" $status ...``)
through the host transport, from its end. Only lines stamped at or after the run's start count: the
502s a fault left in the log during an earlier run, or last night, say nothing about now.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from infragate.facts import Context, fact, host_side

if TYPE_CHECKING:
    from infragate.inventory import HostLog

__all__ = ["AccessStats", "parse_combined", "read_since"]

# A request line is quoted and may contain anything but a quote; time_local is "01/Dec/2026:20:15:03 +0000".
_LINE = re.compile(r'^\S+ \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d{3}) ')
_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"
TAIL_BYTES = 8 * 1024 * 1024


class Runner(Protocol):
    """The part of a testinfra host this probe uses."""

    def run(self, command: str, *args: str) -> object: ...


@dataclass(frozen=True)
class AccessStats:
    """Answers logged since ``since``: how many, how many 5xx, and the first few 5xx request lines."""

    since: datetime | None
    total: int = 0
    server_errors: int = 0
    examples: tuple[str, ...] = field(default_factory=tuple)
    error: str | None = None

    @property
    def ratio(self) -> float:
        """Share of 5xx among the answers (0.0 when none were logged)."""
        return self.server_errors / self.total if self.total else 0.0


def parse_combined(text: str, since: datetime) -> AccessStats:
    """Count answers and 5xx answers in combined-format ``text`` stamped at or after ``since``."""
    total = errors = 0
    examples: list[str] = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        try:
            stamp = datetime.strptime(match["time"], _TIME_FORMAT)
        except ValueError:
            continue
        if stamp < since:
            continue
        total += 1
        if match["status"].startswith("5"):
            errors += 1
            if len(examples) < 3:
                examples.append(f"{match['status']} {match['request'][:80]}")
    return AccessStats(since, total, errors, tuple(examples))


def read_since(host: Runner, path: str, since: datetime) -> AccessStats:
    """The access log's answers since ``since``, read from its last ``TAIL_BYTES`` on the host."""
    out = host.run("tail -c %s %s", str(TAIL_BYTES), path)
    rc, stdout, stderr = getattr(out, "rc", 1), getattr(out, "stdout", ""), getattr(out, "stderr", "")
    if rc != 0:
        return AccessStats(since, error=f"{path} unreadable: {str(stderr).strip() or f'exit {rc}'}")
    return parse_combined(str(stdout), since)


@fact(endpoint=host_side)
def access_5xx(ctx: Context, log: HostLog) -> AccessStats:
    """5xx answers in a declared nginx access log since the run started."""
    machine = ctx.machine()
    # The run's last requests may still sit in nginx's log buffer (access_log ... buffer= flush=). Only
    # worth waiting for when the log is there to read: an unreadable log (or a dead host, which fails this
    # first command at once once known) is answered now.
    if log.flush_s > 0 and getattr(machine.run("test -r %s", str(log.path)), "rc", 1) == 0:
        time.sleep(min(log.flush_s, 30.0))
    return read_since(machine, str(log.path), ctx.run_started)
