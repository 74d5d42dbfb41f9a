"""A load session: a target's scenarios, each run at most once, judged, summarised and kept in history.

Reports go under ``<reports_root>/<target>/<timestamp>/<scenario>/``; both ``reports_root`` and the
locustfile directory are the caller's (the pytest plugin's) to give.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infragate.catalog import Catalog
from infragate.inventory import LoadScenario, LoadWebSocket, Target
from infragate.load.history import (
    RegressionVerdict,
    append_history,
    detect_regression,
    read_history,
)
from infragate.load.judge import ERROR_SLOS, GeneratorSaturated, Verdict, evaluate, headline_p95
from infragate.load.plan import Plan, PlanError, plan_scenario
from infragate.load.results import WS_ECHO, RunResult
from infragate.load.runner import LoadRunError, run_plan

__all__ = ["LoadOutcome", "LoadSession", "write_summary"]


@dataclass(frozen=True)
class LoadOutcome:
    """A judged run: verdicts per SLO, regression against history, generator saturation."""

    result: RunResult
    verdicts: tuple[Verdict, ...]
    regression: RegressionVerdict

    @property
    def saturated(self) -> bool:
        """True when the generator's CPU, not the target, limited the run."""
        return self.result.cpu.saturated

    def verdict(self, key: str) -> Verdict:
        """The verdict of one SLO key (e.g. ``max_p95_ms``)."""
        for v in self.verdicts:
            if v.slo.key == key:
                return v
        raise KeyError(key)

    def trustworthy(self, verdict: Verdict) -> bool:
        """Can this verdict be reported? Not on a saturated run, except a failure of an error SLO."""
        if not self.saturated:
            return True
        return verdict.ok is False and verdict.slo.key in ERROR_SLOS

    def saturation_error(self) -> GeneratorSaturated:
        """The error that replaces every verdict of a saturated run."""
        return GeneratorSaturated(
            "load generator saturated; results describe the generator, not the target "
            f"({self.result.cpu.describe()}; add processes or workers, or lower the users)"
        )


def _summary(outcome: LoadOutcome) -> dict[str, Any]:
    result = outcome.result
    plan = result.plan
    out = result.out_dir
    return {
        "target": plan.target,
        "scenario": plan.scenario,
        "check": plan.check,
        "started": result.started,
        "wall_s": round(result.wall_s, 2),
        "profile": plan.profile,
        "command": plan.command(out, role="master" if plan.workers else "local", master_port=0),
        "users": plan.users,
        "spawn_rate": plan.spawn_rate,
        "run_time_s": plan.run_time_s,
        "processes": plan.processes,
        "workers": plan.workers,
        "spec": plan.spec,
        "exit_code": result.exit_code,
        "aggregate": result.total.as_dict(),
        "entries": [e.as_dict() for e in result.entries],
        "failures": [asdict(f) for f in result.failures],
        "verdicts": [v.as_dict() for v in outcome.verdicts],
        "slo_ok": all(v.ok is not False for v in outcome.verdicts),
        "generator_cpu": result.cpu.as_dict(),
        "regression": outcome.regression.as_dict(),
        "files": sorted(p.name for p in out.iterdir() if p.is_file()),
    }


def write_summary(outcome: LoadOutcome) -> Path:
    """Write ``summary.json`` beside Locust's HTML and CSV files."""
    path = outcome.result.out_dir / "summary.json"
    path.write_text(json.dumps(_summary(outcome), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _baseline_ok(outcome: LoadOutcome) -> bool:
    """A run fit to be a baseline: generator not saturated, traffic went through (outages excluded)."""
    if outcome.saturated:
        return False
    gate = "max_failed_handshakes" if outcome.result.plan.is_websocket else "max_error_ratio"
    return all(v.ok is not False for v in outcome.verdicts if v.slo.key == gate)


class LoadSession:
    """Runs a target's scenarios, each at most once, into ``<reports_root>/<target>/<timestamp>/``."""

    def __init__(
        self,
        target: Target,
        catalog: Catalog,
        *,
        reports_root: Path,
        locustfile_dir: Path,
        allow_sensitive: bool = False,
        workers: int = 0,
        timestamp: str | None = None,
    ) -> None:
        self.target = target
        self.catalog = catalog
        self.allow_sensitive = allow_sensitive
        self.workers = workers
        self.locustfile_dir = locustfile_dir
        self.root = reports_root / target.name
        self.history_path = self.root / "history.jsonl"
        stamp = timestamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run_dir = self.root / stamp
        suffix = 1
        while self.run_dir.exists():
            suffix += 1
            self.run_dir = self.root / f"{stamp}-{suffix}"
        self._outcomes: dict[str, LoadOutcome] = {}
        self._errors: dict[str, Exception] = {}

    def plan(self, entry: LoadScenario | LoadWebSocket) -> Plan:
        """The plan for a scenario under this session's options."""
        return plan_scenario(
            self.target,
            self.catalog,
            entry,
            allow_sensitive=self.allow_sensitive,
            workers=self.workers,
            locustfile_dir=self.locustfile_dir,
        )

    def run(self, entry: LoadScenario | LoadWebSocket) -> LoadOutcome:
        """Run a scenario once (later calls return the same outcome, or raise the same error)."""
        if entry.name in self._outcomes:
            return self._outcomes[entry.name]
        if entry.name in self._errors:
            raise self._errors[entry.name]
        try:
            outcome = self._run(entry)
        except (PlanError, LoadRunError) as exc:
            self._errors[entry.name] = exc
            raise
        self._outcomes[entry.name] = outcome
        return outcome

    def _run(self, entry: LoadScenario | LoadWebSocket) -> LoadOutcome:
        plan = self.plan(entry)
        result = run_plan(plan, self.run_dir / entry.name)
        verdicts = evaluate(result)
        p95 = headline_p95(result)
        history = read_history(self.history_path)
        regression = detect_regression(
            history, scenario=plan.scenario, profile=plan.profile, p95_ms=p95, load=plan.load
        )
        outcome = LoadOutcome(result, verdicts, regression)
        write_summary(outcome)
        total = result.entry(WS_ECHO) if plan.is_websocket else result.total
        append_history(
            self.history_path,
            {
                "timestamp": result.started,
                "scenario": plan.scenario,
                "check": plan.check,
                "profile": plan.profile,
                "p95_ms": p95,
                "avg_ms": round(total.avg_ms, 2),
                "error_ratio": round(total.error_ratio, 5),
                "rps": round(total.rps, 2),
                "requests": total.requests,
                "saturated": outcome.saturated,
                "slo_ok": all(v.ok is not False for v in verdicts),
                "baseline_ok": _baseline_ok(outcome),
                "regression": regression.status,
                "report": str(result.out_dir.relative_to(self.root)),
            },
        )
        return outcome
