"""Judging: each SLO of a plan, measured on a run, becomes a Verdict that says measured vs threshold."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from infragate.load.plan import Slo
from infragate.load.results import WS_CONNECT, WS_ECHO, WS_HOLD, WS_OPEN, RunResult

__all__ = [
    "ERROR_SLOS",
    "GeneratorSaturated",
    "Verdict",
    "evaluate",
    "format_value",
    "headline_p95",
]


# SLOs whose failure a saturated generator cannot cause: the target itself answered with errors.
ERROR_SLOS = frozenset({"max_error_ratio", "max_failed_handshakes"})


class GeneratorSaturated(RuntimeError):
    """The load generator ran out of CPU: its results describe itself, not the target."""


def format_value(value: float | None, unit: str) -> str:
    """A measured value or threshold with its unit: ``612 ms``, ``2.31%``, ``48.0 req/s``, ``n/a``."""
    if value is None:
        return "n/a"
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    if unit == "ms":
        return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if unit == "req/s":
        return f"{value:.1f} req/s"
    return f"{value:.0f}"


@dataclass(frozen=True)
class Verdict:
    """One SLO judged on one run; ``ok`` is None when the SLO has no threshold."""

    slo: Slo
    measured: float | None
    ok: bool | None
    note: str = ""

    def measured_text(self) -> str:
        """The measured value with its unit, e.g. ``612 ms`` or ``2.31%``."""
        return format_value(self.measured, self.slo.unit)

    def expected(self) -> str:
        """The SLO as a sentence fragment, e.g. ``p95 <= 500 ms``."""
        op = "<=" if self.slo.bound == "max" else ">="
        return f"{self.slo.label} {op} {format_value(self.slo.threshold, self.slo.unit)}"

    def describe(self) -> str:
        """``measured X vs threshold Y`` with the SLO's label and unit."""
        op = "<=" if self.slo.bound == "max" else ">="
        text = (
            f"{self.slo.label}: measured {format_value(self.measured, self.slo.unit)} vs threshold "
            f"{op} {format_value(self.slo.threshold, self.slo.unit)}"
        )
        return f"{text} ({self.note})" if self.note else text

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form for summary.json."""
        return {**asdict(self.slo), "measured": self.measured, "ok": self.ok, "note": self.note}


def _judge(slo: Slo, measured: float | None, note: str = "") -> Verdict:
    if slo.threshold is None:
        return Verdict(slo, measured, None, note)
    if measured is None:
        return Verdict(slo, None, False, note or "nothing was measured")
    ok = measured <= slo.threshold if slo.bound == "max" else measured >= slo.threshold
    return Verdict(slo, measured, ok, note)


def evaluate(result: RunResult) -> tuple[Verdict, ...]:
    """Judge every SLO of the plan on the run's statistics."""
    verdicts: list[Verdict] = []
    if result.plan.is_websocket:
        connect = result.entry(WS_CONNECT)
        echo = result.entry(WS_ECHO)
        hold = result.entry(WS_HOLD)
        opened = result.entry(WS_OPEN)
        for slo in result.plan.slos:
            if slo.key == "max_failed_handshakes":
                note = f"{connect.requests} attempted"
                verdicts.append(_judge(slo, float(connect.failures) if connect.requests else None, note))
            elif slo.key == "max_message_p95_ms":
                p95 = echo.percentile(0.95) if echo.requests else None
                note = f"{echo.requests} messages, {echo.failures} failed"
                verdicts.append(_judge(slo, p95, note))
            elif slo.key == "min_sessions_held":
                note = (
                    f"held {result.plan.spec['hold_s']:g} s; {opened.requests} open at once, "
                    f"{hold.failures} dropped early"
                )
                verdicts.append(_judge(slo, float(hold.successes), note))
        return tuple(verdicts)
    total = result.total
    for slo in result.plan.slos:
        if not total.requests:
            verdicts.append(_judge(slo, None, "no request was made"))
            continue
        if slo.key == "max_error_ratio":
            measured: float | None = total.error_ratio
            note = f"{total.failures} of {total.requests} failed"
        elif slo.key == "max_avg_ms":
            measured, note = total.avg_ms, ""
        elif slo.key == "min_rps":
            measured, note = total.rps, f"{total.requests} requests"
        else:
            q = {"max_p50_ms": 0.5, "max_p95_ms": 0.95, "max_p99_ms": 0.99}[slo.key]
            measured = total.percentile(q)
            note = f"{total.requests} requests"
        verdicts.append(_judge(slo, measured, note))
    return tuple(verdicts)


def headline_p95(result: RunResult) -> float | None:
    """The p95 a run is remembered by: HTTP aggregate, or WebSocket message round trip."""
    stats = result.entry(WS_ECHO) if result.plan.is_websocket else result.total
    return stats.percentile(0.95) if stats.requests else None
