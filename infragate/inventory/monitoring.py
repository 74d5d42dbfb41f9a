"""Metrics pages, Prometheus, Alertmanager, Grafana, Loki and model servers (probes: metrics, prometheus)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from infragate.inventory._validate import HttpUrl, Invalid, LocalFile, Secret, Signed

__all__ = [
    "Alertmanager",
    "Grafana",
    "Llm",
    "Loki",
    "MetricRange",
    "Metrics",
    "MetricsEndpoint",
    "PromQuery",
    "Prometheus",
]


def _check_bounds(low: float | None, high: float | None) -> None:
    """[min, max] must not be empty."""
    if low is not None and high is not None and high < low:
        raise Invalid("max", f"must be at least min ({low:g}), got {high:g}")


@dataclass(frozen=True)
class MetricRange:
    """Bounds of one metric: every sample of ``series`` (a JSON path on JSON pages) lies in [min, max]."""

    series: str
    min: Signed | None = None
    max: Signed | None = None

    def __post_init__(self) -> None:
        _check_bounds(self.min, self.max)


@dataclass(frozen=True)
class MetricsEndpoint:
    """A metrics page: Prometheus text exposition or a JSON document (``format``)."""

    name: str
    url: HttpUrl
    format: Literal["prometheus", "json"] = "prometheus"
    series: tuple[str, ...] = ()
    ranges: tuple[MetricRange, ...] = ()
    ca_bundle: LocalFile | None = None


@dataclass(frozen=True)
class Metrics:
    """Metrics endpoints of a target."""

    endpoints: tuple[MetricsEndpoint, ...] = ()


@dataclass(frozen=True)
class PromQuery:
    """A PromQL expression whose every result value must lie in [min, max]."""

    name: str
    expr: str
    min: Signed | None = None
    max: Signed | None = None

    def __post_init__(self) -> None:
        _check_bounds(self.min, self.max)


@dataclass(frozen=True)
class Prometheus:
    """A Prometheus server: scrape jobs that must be up, rule groups that must be loaded, queries."""

    name: str
    url: HttpUrl
    jobs: tuple[str, ...] = ()
    rule_groups: tuple[str, ...] = ()
    queries: tuple[PromQuery, ...] = ()
    confirm_down_s: float | None = None
    ca_bundle: LocalFile | None = None


@dataclass(frozen=True)
class Alertmanager:
    """An Alertmanager: no critical alert firing, and critical alerts routed to a real receiver."""

    name: str
    url: HttpUrl
    critical_labels: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({"severity": "critical"})
    )
    critical_receiver: str | None = None
    cluster_peers: int | None = None
    ca_bundle: LocalFile | None = None


@dataclass(frozen=True)
class Grafana:
    """A Grafana server: its database health, datasources (by name) and dashboards (by uid or tag)."""

    name: str
    url: HttpUrl
    datasources: tuple[str, ...] = ()
    dashboards: tuple[str, ...] = ()
    dashboard_tags: tuple[str, ...] = ()
    token_env: Secret | None = None
    ca_bundle: LocalFile | None = None


@dataclass(frozen=True)
class Loki:
    """A Loki server: readiness, log streams (LogQL selectors) that must have recent entries, retention."""

    name: str
    url: HttpUrl
    streams: tuple[str, ...] = ()
    window_s: float | None = None
    min_retention_h: float | None = None
    ca_bundle: LocalFile | None = None


@dataclass(frozen=True)
class Llm:
    """A model server: listing, declared models, one short generation under a budget.

    ``kind`` is the API it speaks: ``ollama`` (/api/tags, /api/generate) or ``openai`` (any
    OpenAI-compatible server: /v1/models, /v1/chat/completions; ``url`` with or without the /v1 suffix),
    whose key is read from ``api_key_env`` and presented as ``Authorization: Bearer``.
    """

    name: str
    url: HttpUrl
    kind: Literal["ollama", "openai"] = "ollama"
    models: tuple[str, ...] = ()
    probe_model: str | None = None
    prompt: str = "Reply with the single word OK."
    max_generate_s: float | None = None
    # Bounds the LLM-LATENCY generation (num_predict / max_tokens): a probe must not spend a quota.
    max_tokens: int = 8
    api_key_env: Secret | None = None
    ca_bundle: LocalFile | None = None

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise Invalid("max_tokens", f"must be at least 1, got {self.max_tokens}")
        if self.api_key_env is not None and self.kind != "openai":
            raise Invalid("api_key_env", f'is for kind = "openai"; kind is {self.kind!r}')

    @property
    def probe(self) -> str | None:
        """The model LLM-LATENCY asks: ``probe_model``, else the first declared model."""
        return self.probe_model or (self.models[0] if self.models else None)
