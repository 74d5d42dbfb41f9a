"""Metrics pages: Prometheus text exposition (prometheus_client's parser) or a JSON document."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from prometheus_client.parser import text_string_to_metric_families

from infragate.jsonpath import MISSING, search
from infragate.probes import http
from infragate.probes._base import Failure, Timeout

__all__ = ["MetricsPage", "Sample", "parse_json", "parse_text", "scrape"]


@dataclass(frozen=True)
class Sample:
    """One sample: its name (``foo_bucket``, ``foo_total``, a JSON path), labels and value."""

    name: str
    value: float
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def describe(self) -> str:
        """``name{a="b"}`` as Prometheus writes it."""
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        return f"{self.name}{{{inner}}}" if inner else self.name


@dataclass(frozen=True)
class MetricsPage:
    """What a metrics URL served: the families (or JSON paths) and samples it holds."""

    url: str
    format: str
    status: int | None
    families: frozenset[str] = frozenset()
    samples: tuple[Sample, ...] = ()
    document: Any = None
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        """The page was fetched (HTTP 200) and parsed."""
        return self.status == 200 and self.error is None

    def has(self, series: str) -> bool:
        """A family, a sample name or a JSON path of the page."""
        if self.format == "json":
            return search(self.document, series) is not MISSING
        return series in self.families or any(s.name == series for s in self.samples)

    def values(self, series: str) -> tuple[Sample, ...]:
        """Samples named ``series`` (a family name selects its plain samples: counters, gauges)."""
        if self.format == "json":
            value = search(self.document, series)
            number = _number(value)
            return () if number is None else (Sample(series, number),)
        exact = tuple(s for s in self.samples if s.name == series)
        if exact:
            return exact
        return tuple(s for s in self.samples if s.name in (f"{series}_total", f"{series}_sum"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def parse_text(text: str) -> tuple[frozenset[str], tuple[Sample, ...]]:
    """Families and samples of a Prometheus text exposition; raises ValueError when it does not parse."""
    families: set[str] = set()
    samples: list[Sample] = []
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        # prometheus_client strips _total from counter family names; keep both spellings findable.
        if family.type == "counter":
            families.add(f"{family.name}_total")
        for s in family.samples:
            samples.append(Sample(s.name, float(s.value), MappingProxyType(dict(s.labels))))
    return frozenset(families), tuple(samples)


def _flatten(document: Any, prefix: str = "") -> list[Sample]:
    out: list[Sample] = []
    if isinstance(document, Mapping):
        for key, value in document.items():
            out.extend(_flatten(value, f"{prefix}{key}."))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            out.extend(_flatten(value, f"{prefix}{index}."))
    else:
        number = _number(document)
        if number is not None and not math.isnan(number):
            out.append(Sample(prefix.rstrip("."), number))
    return out


def parse_json(document: Any) -> tuple[frozenset[str], tuple[Sample, ...]]:
    """Numeric leaves of a JSON document as samples named by their dotted path."""
    samples = _flatten(document)
    return frozenset(s.name for s in samples), tuple(samples)


def scrape(
    url: str,
    *,
    timeout: Timeout,
    format: Literal["prometheus", "json"] = "prometheus",
    cafile: Path | None = None,
) -> MetricsPage:
    """GET a metrics page and parse it in the declared format."""
    accept = "application/json" if format == "json" else "text/plain;version=0.0.4"
    answer = http.request(url, timeout=timeout, cafile=cafile, headers={"Accept": accept})
    if answer.status != 200:
        error = answer.error or f"HTTP {answer.status}"
        return MetricsPage(
            url, format, answer.status, error=error, unreachable=answer.unreachable, failure=answer.failure
        )
    if format == "json":
        document = answer.json()
        if document is None:
            return MetricsPage(url, format, answer.status, error="the body is not JSON")
        families, samples = parse_json(document)
        return MetricsPage(url, format, answer.status, families, samples, document)
    try:
        families, samples = parse_text(answer.body)
    except (ValueError, IndexError, TypeError) as exc:
        return MetricsPage(url, format, answer.status, error=f"not Prometheus text format: {exc}")
    return MetricsPage(url, format, answer.status, families, samples)
