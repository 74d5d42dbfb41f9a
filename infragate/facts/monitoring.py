"""Monitoring facts: metrics pages, Prometheus, Alertmanager, Grafana, Loki and model servers."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infragate.facts import Context, fact
from infragate.probes import alertmanager, grafana, llm, loki, metrics, prometheus
from infragate.probes.alertmanager import Route

if TYPE_CHECKING:
    from infragate.inventory import (
        Alertmanager,
        Grafana,
        Llm,
        Loki,
        MetricRange,
        MetricsEndpoint,
        Prometheus,
        PromQuery,
    )
    from infragate.probes.alertmanager import Alerts, AmStatus
    from infragate.probes.grafana import DatasourceHealth, GrafanaHealth, Listing
    from infragate.probes.llm import Generation, ModelList
    from infragate.probes.loki import LokiReady, Retention, StreamEntries
    from infragate.probes.metrics import MetricsPage, Sample
    from infragate.probes.prometheus import QueryResult, Readiness, RuleGroups, Targets


def _web(ctx: Context, entry: Any) -> dict[str, Any]:
    return {"timeout": ctx.timeout, "cafile": ctx.trust(entry)}


@fact()
def scrape(ctx: Context, endpoint: MetricsEndpoint) -> MetricsPage:
    """The parsed metrics page of an endpoint."""
    return metrics.scrape(endpoint.url, format=endpoint.format, **_web(ctx, endpoint))


@fact()
def ready(ctx: Context, server: Prometheus | Alertmanager) -> Readiness:
    """/-/ready and /-/healthy of Prometheus or Alertmanager."""
    return prometheus.readiness(server.url, **_web(ctx, server))


@fact()
def targets(ctx: Context, server: Prometheus, confirm_s: float = 0.0) -> Targets:
    """Active scrape targets; one seen down is re-read for up to ``confirm_s`` (one failed scrape of a
    restarting target is not an outage, as Prometheus's own ``for:`` clause says)."""
    deadline = time.monotonic() + confirm_s
    seen = prometheus.targets(server.url, **_web(ctx, server))
    while seen.error is None and seen.down() and time.monotonic() < deadline:
        time.sleep(0.5)
        seen = prometheus.targets(server.url, **_web(ctx, server))
    return seen


@fact()
def query(ctx: Context, server: Prometheus, expr: str) -> QueryResult:
    """An instant PromQL query."""
    return prometheus.query(server.url, expr, **_web(ctx, server))


@fact()
def rules(ctx: Context, server: Prometheus) -> RuleGroups:
    """Loaded rule groups and their health."""
    return prometheus.rules(server.url, **_web(ctx, server))


@fact()
def am_status(ctx: Context, server: Alertmanager) -> AmStatus:
    """Alertmanager's /api/v2/status."""
    return alertmanager.status(server.url, **_web(ctx, server))


@fact()
def alerts(ctx: Context, server: Alertmanager) -> Alerts:
    """Alertmanager's active, unsilenced alerts."""
    return alertmanager.alerts(server.url, **_web(ctx, server))


@fact()
def critical_route(ctx: Context, server: Alertmanager) -> Route:
    """Where Alertmanager's loaded configuration routes an alert carrying ``critical_labels``."""
    status: AmStatus = ctx.get("am_status", server)
    if status.error is not None:
        return Route((), error=status.error)
    return alertmanager.route(status.config, server.critical_labels)


def _grafana(ctx: Context, server: Grafana) -> dict[str, Any]:
    token = server.token_env.value if server.token_env else None
    return {**_web(ctx, server), "token": token}


@fact()
def grafana_health(ctx: Context, server: Grafana) -> GrafanaHealth:
    """Grafana's /api/health."""
    return grafana.health(server.url, **_grafana(ctx, server))


@fact()
def grafana_datasources(ctx: Context, server: Grafana) -> Listing:
    """Grafana's configured datasources."""
    return grafana.datasources(server.url, **_grafana(ctx, server))


@fact()
def grafana_datasource_health(ctx: Context, server: Grafana, uid: str) -> DatasourceHealth:
    """One datasource's health check, run by Grafana."""
    return grafana.datasource_health(server.url, uid, **_grafana(ctx, server))


@fact()
def grafana_dashboards(ctx: Context, server: Grafana) -> Listing:
    """Every dashboard Grafana's search lists."""
    return grafana.dashboards(server.url, **_grafana(ctx, server))


@fact()
def loki_ready(ctx: Context, server: Loki) -> LokiReady:
    """Loki's /ready."""
    return loki.ready(server.url, **_web(ctx, server))


@fact()
def loki_entries(ctx: Context, server: Loki, selector: str, window_s: float) -> StreamEntries:
    """Entries of one stream selector in the last ``window_s`` seconds."""
    return loki.recent_entries(server.url, selector, window_s=window_s, **_web(ctx, server))


@fact()
def loki_retention(ctx: Context, server: Loki) -> Retention:
    """Loki's configured retention."""
    return loki.retention(server.url, **_web(ctx, server))


def _llm(ctx: Context, server: Llm) -> dict[str, Any]:
    token = server.api_key_env.value if server.api_key_env is not None else None
    return {**_web(ctx, server), "kind": server.kind, "token": token}


@fact()
def llm_models(ctx: Context, server: Llm) -> ModelList:
    """The model server's listing (Ollama /api/tags or OpenAI-compatible /v1/models)."""
    return llm.models(server.url, **_llm(ctx, server))


@fact()
def llm_generate(ctx: Context, server: Llm, model: str, budget_s: float) -> Generation:
    """One short, bounded generation (intrusive: it spends the model server's time and quota)."""
    return llm.generate(
        server.url, model, server.prompt, budget_s=budget_s, max_tokens=server.max_tokens, **_llm(ctx, server)
    )


def _outside(value: float, low: float | None, high: float | None) -> bool:
    return math.isnan(value) or (low is not None and value < low) or (high is not None and value > high)


@dataclass(frozen=True)
class RangeCheck:
    """Samples of a series on a metrics page and those outside the declared range."""

    page: MetricsPage
    samples: tuple[Sample, ...]
    outside: tuple[Sample, ...]


@fact()
def metric_range(ctx: Context, endpoint: MetricsEndpoint, bounds: MetricRange) -> RangeCheck:
    """The series' samples judged against the declared ``min``/``max``."""
    page: MetricsPage = ctx.get("scrape", endpoint)
    samples = page.values(bounds.series) if page.ok else ()
    outside = tuple(s for s in samples if _outside(s.value, bounds.min, bounds.max))
    return RangeCheck(page, samples, outside)


@dataclass(frozen=True)
class QueryCheck:
    """A PromQL result and the series outside the declared bounds (NaN counts as outside)."""

    result: QueryResult
    outside: tuple[tuple[str, float], ...]


@fact()
def query_bounds(ctx: Context, server: Prometheus, q: PromQuery) -> QueryCheck:
    """A declared PromQL query judged against its ``min``/``max``."""
    result: QueryResult = ctx.get("query", server, q.expr)
    return QueryCheck(result, tuple((s, v) for s, v in result.values if _outside(v, q.min, q.max)))
