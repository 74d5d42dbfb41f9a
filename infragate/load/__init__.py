"""Load runs: a scenario becomes a bounded Locust subprocess, whose results are parsed, judged and kept.

By job: ``plan`` (scenario -> Plan, SLOs), ``runner`` (Locust subprocesses, CPU sampling), ``results``
(Locust's statistics files), ``judge`` (SLO verdicts), ``history`` (history.jsonl, p95 regression) and
``session`` (each scenario of a target once, summarised and kept).

Locust is never imported here: importing it monkey-patches sockets and ssl for the whole interpreter
(gevent), irreversibly. The scenario reaches the child as JSON in ``INFRAGATE_SCENARIO``; secrets reach it
only as environment variables named by the inventory, never on a command line or in a report. Where the
locustfiles are and where reports go is always the caller's to say.
"""

from __future__ import annotations

from infragate.load.history import (
    LoadRegressionWarning,
    RegressionVerdict,
    append_history,
    detect_regression,
    read_history,
)
from infragate.load.judge import (
    ERROR_SLOS,
    GeneratorSaturated,
    Verdict,
    evaluate,
    format_value,
    headline_p95,
)
from infragate.load.plan import (
    LOCUSTFILES,
    SCENARIO_ENV,
    SECTIONS,
    Plan,
    PlanError,
    Slo,
    plan_scenario,
    scenario_spec,
    scenarios,
)
from infragate.load.results import (
    CPU_SATURATION_PCT,
    CPU_WINDOW_S,
    PERCENTILES,
    WS_CONNECT,
    WS_ECHO,
    WS_HOLD,
    WS_OPEN,
    WS_PSEUDO,
    CpuReport,
    Failure,
    ProcessCpu,
    RequestStats,
    RunResult,
    aggregate,
    parse_failures_csv,
    parse_stats_csv,
    parse_stats_json,
)
from infragate.load.runner import LoadRunError, run_plan
from infragate.load.session import LoadOutcome, LoadSession, write_summary

__all__ = [
    "CPU_SATURATION_PCT",
    "CPU_WINDOW_S",
    "ERROR_SLOS",
    "LOCUSTFILES",
    "PERCENTILES",
    "SCENARIO_ENV",
    "SECTIONS",
    "WS_CONNECT",
    "WS_ECHO",
    "WS_HOLD",
    "WS_OPEN",
    "WS_PSEUDO",
    "CpuReport",
    "Failure",
    "GeneratorSaturated",
    "LoadOutcome",
    "LoadRegressionWarning",
    "LoadRunError",
    "LoadSession",
    "Plan",
    "PlanError",
    "ProcessCpu",
    "RegressionVerdict",
    "RequestStats",
    "RunResult",
    "Slo",
    "Verdict",
    "aggregate",
    "append_history",
    "detect_regression",
    "evaluate",
    "format_value",
    "headline_p95",
    "parse_failures_csv",
    "parse_stats_csv",
    "parse_stats_json",
    "plan_scenario",
    "read_history",
    "run_plan",
    "scenario_spec",
    "scenarios",
    "write_summary",
]
