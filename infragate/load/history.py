"""History: one JSON line per run, and the p95 regression check against previous comparable runs."""

from __future__ import annotations

import contextlib
import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from infragate.inventory import Load
from infragate.load.judge import format_value

__all__ = [
    "LoadRegressionWarning",
    "RegressionVerdict",
    "append_history",
    "detect_regression",
    "read_history",
]


class LoadRegressionWarning(UserWarning):
    """A run's p95 is worse than the median of previous runs by more than the margin."""


@dataclass(frozen=True)
class RegressionVerdict:
    """Is this run's p95 worse than the median of the previous comparable runs by more than the margin?"""

    status: Literal["ok", "regression", "insufficient-history", "no-data"]
    p95_ms: float | None
    baseline_ms: float | None
    runs: int
    margin: float
    fails: bool

    @property
    def is_regression(self) -> bool:
        """True when the run regressed."""
        return self.status == "regression"

    def describe(self) -> str:
        """One line for a warning, a failure message or the summary."""
        if self.status == "insufficient-history":
            return f"regression check skipped: {self.runs} comparable previous run(s), need more"
        if self.status == "no-data":
            return "regression check skipped: this run measured no p95"
        limit = (self.baseline_ms or 0.0) * (1 + self.margin)
        verb = "regressed" if self.is_regression else "within margin"
        measured, baseline = format_value(self.p95_ms, "ms"), format_value(self.baseline_ms, "ms")
        return (
            f"p95 {verb}: measured {measured} vs median {baseline} of {self.runs} previous run(s) "
            f"(limit {format_value(limit, 'ms')}, margin {self.margin:.0%})"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {**asdict(self), "description": self.describe()}


def read_history(path: Path) -> list[dict[str, Any]]:
    """Lines of a history.jsonl; a torn last line (interrupted write) is skipped."""
    if not path.is_file():
        return []
    records: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            records.append(json.loads(line))
    return records


def append_history(path: Path, record: Mapping[str, Any]) -> None:
    """Append one JSON line (one write, so concurrent appenders do not interleave lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


def detect_regression(
    history: Sequence[Mapping[str, Any]], *, scenario: str, profile: str, p95_ms: float | None, load: Load
) -> RegressionVerdict:
    """Compare a p95 with the median of previous comparable, trustworthy runs."""
    previous = [
        h["p95_ms"]
        for h in history
        if h.get("scenario") == scenario
        and h.get("profile") == profile
        and h.get("baseline_ok")
        and isinstance(h.get("p95_ms"), (int, float))
    ][-load.regression_window :]
    runs, margin, fails = len(previous), load.regression_margin, load.regression_fails
    if p95_ms is None:
        return RegressionVerdict("no-data", None, None, runs, margin, fails)
    if len(previous) < load.regression_min_runs:
        return RegressionVerdict("insufficient-history", p95_ms, None, runs, margin, fails)
    baseline = float(statistics.median(previous))
    worse = (
        p95_ms > baseline * (1 + load.regression_margin) and p95_ms - baseline > load.regression_min_delta_ms
    )
    return RegressionVerdict("regression" if worse else "ok", p95_ms, baseline, runs, margin, fails)
