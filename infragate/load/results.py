"""Results: Locust's statistics (JSON, CSV), merged the way Locust merges them, and a run's record.

Every number here comes from the files Locust writes; percentiles use ``infragate.stats``.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infragate.load.plan import Plan
from infragate.stats import histogram_percentile

__all__ = [
    "CPU_SATURATION_PCT",
    "CPU_WINDOW_S",
    "PERCENTILES",
    "WS_CONNECT",
    "WS_ECHO",
    "WS_HOLD",
    "WS_OPEN",
    "WS_PSEUDO",
    "CpuReport",
    "Failure",
    "ProcessCpu",
    "RequestStats",
    "RunResult",
    "aggregate",
    "parse_failures_csv",
    "parse_stats_csv",
    "parse_stats_json",
]

# Request types the WebSocket users report through Locust's request event: separate "methods" so
# each shows as its own line in Locust's stats and HTML, and never mixes with HTTP latency.
WS_CONNECT = "WS-CONNECT"
WS_ECHO = "WS-ECHO"
WS_HOLD = "WS-HOLD"
WS_OPEN = "WS-OPEN"
WS_PSEUDO = (WS_HOLD, WS_OPEN)  # bookkeeping entries, not requests: never in the aggregate

# Locust's own rule: above 90 % over a 5-second window the generator is the bottleneck (the default
# of load.generator_cpu_limit_pct).
CPU_SATURATION_PCT = 90.0
CPU_WINDOW_S = 5
# The percentiles Locust's CSV reports; summary.json keeps the same set.
PERCENTILES = (0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)


@dataclass(frozen=True)
class RequestStats:
    """One line of Locust's statistics: a request name (and method), or the aggregate."""

    method: str
    name: str
    requests: int
    failures: int
    avg_ms: float
    min_ms: float
    max_ms: float
    rps: float
    # response-time bucket (ms) -> count; empty when parsed from the CSV, which only has percentiles
    histogram: Mapping[int, int] = field(default_factory=dict)
    # "50%" ... "100%" -> ms, as Locust's CSV reports them (used when there is no histogram)
    reported: Mapping[str, float] = field(default_factory=dict)
    start: float = 0.0
    end: float = 0.0

    @property
    def error_ratio(self) -> float:
        """Failed requests over all requests (Locust counts failures among requests)."""
        return self.failures / self.requests if self.requests else 0.0

    @property
    def successes(self) -> int:
        """Requests that did not fail."""
        return self.requests - self.failures

    def percentile(self, q: float) -> float | None:
        """Response time (ms) under which a fraction ``q`` of the requests finished; None without data."""
        if self.histogram:
            return float(histogram_percentile(self.histogram, q))
        return self.reported.get(_percent_label(q))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary with every reported percentile."""
        return {
            "method": self.method,
            "name": self.name,
            "requests": self.requests,
            "failures": self.failures,
            "error_ratio": self.error_ratio,
            "avg_ms": self.avg_ms,
            "min_ms": self.min_ms,
            "max_ms": self.max_ms,
            "rps": self.rps,
            "percentiles_ms": {_percent_label(q): self.percentile(q) for q in PERCENTILES},
        }


@dataclass(frozen=True)
class Failure:
    """One line of Locust's failures table (the error text comes from the target, not from us)."""

    method: str
    name: str
    error: str
    occurrences: int


def _percent_label(q: float) -> str:
    value = q * 100
    return f"{int(value) if value.is_integer() else round(value, 6)}%"


def _float(value: str | None) -> float:
    if value in (None, "", "N/A"):
        return 0.0
    return float(value)


def parse_stats_json(path: Path) -> list[RequestStats]:
    """Entries of Locust's ``--json-file`` (complete, written at exit, with response-time buckets)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    entries: list[RequestStats] = []
    for item in raw:
        count = int(item["num_requests"])
        timed = count - int(item.get("num_none_requests") or 0)
        start = float(item.get("start_time") or 0.0)
        end = float(item.get("last_request_timestamp") or start)
        entries.append(
            RequestStats(
                method=str(item.get("method") or ""),
                name=str(item["name"]),
                requests=count,
                failures=int(item["num_failures"]),
                avg_ms=float(item["total_response_time"]) / timed if timed else 0.0,
                min_ms=float(item.get("min_response_time") or 0.0),
                max_ms=float(item.get("max_response_time") or 0.0),
                rps=count / (end - start) if end > start else 0.0,
                histogram={int(float(k)): int(v) for k, v in (item.get("response_times") or {}).items()},
                start=start,
                end=end,
            )
        )
    return entries


def parse_stats_csv(path: Path) -> list[RequestStats]:
    """Rows of Locust's ``<prefix>_stats.csv``, the Aggregated row included, with every percentile column.

    Locust rewrites this file once a second while running and not at exit, so its counts may miss the
    last second; the JSON file is the complete record and is preferred when present.
    """
    rows: list[RequestStats] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            reported = {k: _float(v) for k, v in row.items() if k.endswith("%") and v not in ("", "N/A")}
            rows.append(
                RequestStats(
                    method=row["Type"],
                    name=row["Name"],
                    requests=int(row["Request Count"]),
                    failures=int(row["Failure Count"]),
                    avg_ms=_float(row["Average Response Time"]),
                    min_ms=_float(row["Min Response Time"]),
                    max_ms=_float(row["Max Response Time"]),
                    rps=_float(row["Requests/s"]),
                    reported=reported,
                )
            )
    return rows


def parse_failures_csv(path: Path) -> list[Failure]:
    """Rows of Locust's ``<prefix>_failures.csv``."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Failure(row["Method"], row["Name"], row["Error"], int(row["Occurrences"]))
            for row in csv.DictReader(handle)
        ]


def aggregate(entries: Iterable[RequestStats], name: str = "Aggregated") -> RequestStats:
    """Merge entries the way Locust builds its Aggregated line (histograms added, span from first to last)."""
    items = list(entries)
    histogram: dict[int, int] = {}
    for entry in items:
        for bucket, count in entry.histogram.items():
            histogram[bucket] = histogram.get(bucket, 0) + count
    requests = sum(e.requests for e in items)
    start = min((e.start for e in items if e.requests), default=0.0)
    end = max((e.end for e in items if e.requests), default=0.0)
    timed = sum(histogram.values())
    total_ms = sum(e.avg_ms * sum(e.histogram.values()) for e in items)
    return RequestStats(
        method="",
        name=name,
        requests=requests,
        failures=sum(e.failures for e in items),
        avg_ms=total_ms / timed if timed else 0.0,
        min_ms=min((e.min_ms for e in items if e.requests), default=0.0),
        max_ms=max((e.max_ms for e in items), default=0.0),
        rps=requests / (end - start) if end > start else 0.0,
        histogram=histogram,
        start=start,
        end=end,
    )


@dataclass(frozen=True)
class ProcessCpu:
    """CPU use of one generator process, sampled once a second from outside (psutil)."""

    pid: int
    role: str
    samples: tuple[tuple[float, float], ...]  # (wall-clock time, percent of one core)

    def in_window(self, start: float | None, end: float | None) -> list[float]:
        """Percentages sampled while requests were being made (start-up and shutdown are not load)."""
        return [pct for t, pct in self.samples if (start is None or t >= start) and (end is None or t <= end)]

    def peak_window(self, start: float | None = None, end: float | None = None) -> float:
        """The highest mean over any ``CPU_WINDOW_S`` consecutive samples (all of them if fewer)."""
        values = self.in_window(start, end)
        if not values:
            return 0.0
        if len(values) <= CPU_WINDOW_S:
            return statistics.fmean(values)
        return max(
            statistics.fmean(values[i : i + CPU_WINDOW_S]) for i in range(len(values) - CPU_WINDOW_S + 1)
        )


@dataclass(frozen=True)
class CpuReport:
    """The generator's own CPU over a run; saturated when any process exceeded the limit for a window."""

    processes: tuple[ProcessCpu, ...]
    machine_mean_pct: float
    start: float | None = None
    end: float | None = None
    limit_pct: float = CPU_SATURATION_PCT

    @property
    def peak_pct(self) -> float:
        """The worst process's peak window mean."""
        return max((p.peak_window(self.start, self.end) for p in self.processes), default=0.0)

    @property
    def saturated(self) -> bool:
        """True when the generator, not the target, set the pace."""
        return self.peak_pct > self.limit_pct

    def describe(self) -> str:
        """One line: peak per process and the machine's mean."""
        parts = [f"{p.role} {p.pid}: peak {p.peak_window(self.start, self.end):.0f}%" for p in self.processes]
        return (
            f"generator CPU {'; '.join(parts) or 'not sampled'} (limit {self.limit_pct:.0f}% over "
            f"{CPU_WINDOW_S} s); machine mean {self.machine_mean_pct:.0f}%"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form for summary.json."""
        return {
            "saturated": self.saturated,
            "peak_pct": round(self.peak_pct, 1),
            "limit_pct": self.limit_pct,
            "window_s": CPU_WINDOW_S,
            "machine_mean_pct": round(self.machine_mean_pct, 1),
            "processes": [
                {
                    "pid": p.pid,
                    "role": p.role,
                    "peak_pct": round(p.peak_window(self.start, self.end), 1),
                    "samples": [round(v, 1) for v in p.in_window(self.start, self.end)],
                }
                for p in self.processes
            ],
        }


@dataclass(frozen=True)
class RunResult:
    """What one Locust run produced: its statistics, failures, the generator's CPU, where files are."""

    plan: Plan
    out_dir: Path
    exit_code: int
    wall_s: float
    entries: tuple[RequestStats, ...]
    failures: tuple[Failure, ...]
    cpu: CpuReport
    started: str

    def entry(self, method: str, name: str | None = None) -> RequestStats:
        """Merged entries of one request type (and name); an empty entry when there are none."""
        return aggregate(
            (e for e in self.entries if e.method == method and (name is None or e.name == name)),
            name=name or method,
        )

    @property
    def total(self) -> RequestStats:
        """Aggregate of real requests (WebSocket bookkeeping lines excluded)."""
        return aggregate(e for e in self.entries if e.method not in WS_PSEUDO)
