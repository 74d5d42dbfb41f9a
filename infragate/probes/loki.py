"""Loki HTTP API: /ready, recent entries of a stream selector (query_range), retention (/config)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import yaml

from infragate.probes import http
from infragate.probes._base import Failure, Timeout

__all__ = ["LokiReady", "Retention", "StreamEntries", "ready", "recent_entries", "retention"]


@dataclass(frozen=True)
class LokiReady:
    """/ready: 200 "ready", or 503 with the reason (e.g. "Ingester not ready: ...")."""

    status: int | None
    body: str = ""
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None


def ready(base: str, *, timeout: Timeout, cafile: Path | None = None) -> LokiReady:
    """GET /ready."""
    answer = http.request(base.rstrip("/") + "/ready", timeout=timeout, cafile=cafile)
    if answer.status is None:
        return LokiReady(None, error=answer.error, unreachable=answer.unreachable, failure=answer.failure)
    return LokiReady(answer.status, answer.body.strip()[:200])


@dataclass(frozen=True)
class StreamEntries:
    """Entries of a selector within the window: count and the newest entry's age."""

    selector: str
    window_s: float
    entries: int = 0
    newest_age_s: float | None = None
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None


def recent_entries(
    base: str, selector: str, *, window_s: float, timeout: Timeout, cafile: Path | None = None
) -> StreamEntries:
    """GET /loki/api/v1/query_range for the last ``window_s`` seconds (newest entries first, at most 100)."""
    end = time.time_ns()
    params = {
        "query": selector,
        "start": str(end - int(window_s * 1e9)),
        "end": str(end),
        "limit": "100",
        "direction": "backward",
    }
    url = f"{base.rstrip('/')}/loki/api/v1/query_range?{urlencode(params)}"
    answer = http.request(url, timeout=timeout, cafile=cafile)
    if answer.status is None:
        return StreamEntries(
            selector, window_s, error=answer.error, unreachable=answer.unreachable, failure=answer.failure
        )
    body = answer.json()
    if answer.status != 200 or not isinstance(body, dict) or body.get("status") != "success":
        text = answer.body.strip()[:200] if answer.status != 200 else "not a Loki query answer"
        return StreamEntries(selector, window_s, error=f"HTTP {answer.status}: {text}")
    stamps = [int(v[0]) for r in body["data"].get("result", []) for v in r.get("values", [])]
    newest = (end - max(stamps)) / 1e9 if stamps else None
    return StreamEntries(selector, window_s, len(stamps), newest)


@dataclass(frozen=True)
class Retention:
    """limits_config.retention_period from /config (0 = keep forever, Loki's default)."""

    hours: float | None
    text: str = ""
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT_H = {"ms": 1 / 3_600_000, "s": 1 / 3600, "m": 1 / 60, "h": 1.0, "d": 24.0, "w": 168.0, "y": 8760.0}


def parse_duration_h(text: str) -> float | None:
    """A Prometheus-style duration (``744h``, ``31d``, ``1w2d``) in hours; None when it does not parse."""
    parts = _DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return None
    return sum(float(n) * _UNIT_H[u] for n, u in parts)


def retention(base: str, *, timeout: Timeout, cafile: Path | None = None) -> Retention:
    """GET /config (YAML) and read limits_config.retention_period."""
    answer = http.request(base.rstrip("/") + "/config", timeout=timeout, cafile=cafile)
    if answer.status != 200:
        return Retention(
            None,
            error=answer.error or f"HTTP {answer.status}",
            unreachable=answer.unreachable,
            failure=answer.failure,
        )
    try:
        doc = yaml.safe_load(answer.body) or {}
    except yaml.YAMLError as exc:
        return Retention(None, error=f"/config is not YAML: {exc}")
    raw = str((doc.get("limits_config") or {}).get("retention_period", "0s"))
    hours = parse_duration_h(raw)
    return Retention(hours, raw, error=None if hours is not None else f"unreadable retention_period {raw!r}")
