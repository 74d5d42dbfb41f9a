"""Prometheus HTTP API: readiness, scrape targets, instant queries and rule groups."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from infragate.probes import http
from infragate.probes._base import Failure, Timeout

__all__ = [
    "QueryResult",
    "Readiness",
    "Rule",
    "RuleGroup",
    "RuleGroups",
    "ScrapeTarget",
    "Targets",
    "query",
    "readiness",
    "rules",
    "targets",
]


def _url(base: str, path: str, params: dict[str, str] | None = None) -> str:
    return base.rstrip("/") + path + (f"?{urlencode(params)}" if params else "")


def _api(
    base: str, path: str, *, timeout: Timeout, cafile: Path | None, params: dict[str, str] | None = None
) -> tuple[Any, str | None, http.HttpAnswer]:
    """(data, error, answer) of one API call; the API's own error text when it answers one."""
    answer = http.request(_url(base, path, params), timeout=timeout, cafile=cafile)
    if answer.status is None:
        return None, answer.error, answer
    body = answer.json()
    if not isinstance(body, dict):
        return None, f"HTTP {answer.status}, not a Prometheus API answer", answer
    if body.get("status") != "success":
        return (
            None,
            f"HTTP {answer.status}: {body.get('errorType', 'error')}: {body.get('error', '?')}",
            answer,
        )
    return body.get("data"), None, answer


@dataclass(frozen=True)
class Readiness:
    """Status codes of /-/ready and /-/healthy (Prometheus and Alertmanager both serve them)."""

    url: str
    ready_status: int | None
    healthy_status: int | None
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        """Both answered 200."""
        return self.ready_status == 200 and self.healthy_status == 200


def readiness(base: str, *, timeout: Timeout, cafile: Path | None = None) -> Readiness:
    """GET /-/ready then /-/healthy."""
    ready = http.request(_url(base, "/-/ready"), timeout=timeout, cafile=cafile)
    if ready.status is None:
        return Readiness(base, None, None, ready.error, ready.unreachable, ready.failure)
    healthy = http.request(_url(base, "/-/healthy"), timeout=timeout, cafile=cafile)
    return Readiness(base, ready.status, healthy.status, healthy.error, healthy.unreachable, healthy.failure)


@dataclass(frozen=True)
class ScrapeTarget:
    """One active scrape target."""

    job: str
    instance: str
    health: str
    last_error: str
    scrape_url: str
    last_scrape: str

    def describe(self) -> str:
        """``job/instance health (lastError)``."""
        why = f" ({self.last_error})" if self.last_error else ""
        return f"{self.job}/{self.instance} {self.health}{why}"


@dataclass(frozen=True)
class Targets:
    """The active targets of /api/v1/targets."""

    url: str
    targets: tuple[ScrapeTarget, ...] = ()
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None

    def jobs(self) -> frozenset[str]:
        """Jobs with at least one active target."""
        return frozenset(t.job for t in self.targets)

    def down(self) -> tuple[ScrapeTarget, ...]:
        """Targets whose health is not ``up`` (``down`` or ``unknown``)."""
        return tuple(t for t in self.targets if t.health != "up")


def targets(base: str, *, timeout: Timeout, cafile: Path | None = None) -> Targets:
    """GET /api/v1/targets?state=active."""
    data, error, answer = _api(
        base, "/api/v1/targets", timeout=timeout, cafile=cafile, params={"state": "active"}
    )
    if error is not None:
        return Targets(base, error=error, unreachable=answer.unreachable, failure=answer.failure)
    found = tuple(
        ScrapeTarget(
            job=str(t.get("labels", {}).get("job") or t.get("scrapePool", "?")),
            instance=str(t.get("labels", {}).get("instance", "?")),
            health=str(t.get("health", "unknown")),
            last_error=str(t.get("lastError", "")),
            scrape_url=str(t.get("scrapeUrl", "")),
            last_scrape=str(t.get("lastScrape", "")),
        )
        for t in (data or {}).get("activeTargets", [])
    )
    return Targets(base, found)


@dataclass(frozen=True)
class QueryResult:
    """An instant query's values: one (series, value) per element of the result vector or the scalar."""

    expr: str
    values: tuple[tuple[str, float], ...] = ()
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None


def _series(metric: dict[str, str]) -> str:
    name = metric.get("__name__", "")
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{inner}}}" if name or inner else "{}"


def _float(raw: Any) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


def query(base: str, expr: str, *, timeout: Timeout, cafile: Path | None = None) -> QueryResult:
    """GET /api/v1/query?query=EXPR (evaluated now)."""
    data, error, answer = _api(base, "/api/v1/query", timeout=timeout, cafile=cafile, params={"query": expr})
    if error is not None:
        return QueryResult(expr, error=error, unreachable=answer.unreachable, failure=answer.failure)
    kind, result = (data or {}).get("resultType"), (data or {}).get("result") or []
    if kind == "vector":
        return QueryResult(expr, tuple((_series(r.get("metric", {})), _float(r["value"][1])) for r in result))
    if kind == "scalar":
        return QueryResult(expr, (("scalar", _float(result[1])),))
    return QueryResult(expr, error=f"result type {kind!r}: use an expression that returns a vector or scalar")


@dataclass(frozen=True)
class Rule:
    """One recording or alerting rule with its evaluation health."""

    name: str
    kind: str
    health: str
    last_error: str
    state: str = ""


@dataclass(frozen=True)
class RuleGroup:
    """A rule group as loaded."""

    name: str
    file: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class RuleGroups:
    """Everything /api/v1/rules lists."""

    url: str
    groups: tuple[RuleGroup, ...] = ()
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None

    def names(self) -> frozenset[str]:
        """Names of the loaded groups."""
        return frozenset(g.name for g in self.groups)

    def failing(self) -> tuple[tuple[RuleGroup, Rule], ...]:
        """Rules whose last evaluation failed (health ``err``)."""
        return tuple((g, r) for g in self.groups for r in g.rules if r.health == "err")


def rules(base: str, *, timeout: Timeout, cafile: Path | None = None) -> RuleGroups:
    """GET /api/v1/rules."""
    data, error, answer = _api(base, "/api/v1/rules", timeout=timeout, cafile=cafile)
    if error is not None:
        return RuleGroups(base, error=error, unreachable=answer.unreachable, failure=answer.failure)
    groups = tuple(
        RuleGroup(
            name=str(g.get("name", "")),
            file=str(g.get("file", "")),
            rules=tuple(
                Rule(
                    name=str(r.get("name", "")),
                    kind=str(r.get("type", "")),
                    health=str(r.get("health", "unknown")),
                    last_error=str(r.get("lastError", "")),
                    state=str(r.get("state", "")),
                )
                for r in g.get("rules", [])
            ),
        )
        for g in (data or {}).get("groups", [])
    )
    return RuleGroups(base, groups)
