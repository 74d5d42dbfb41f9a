"""Alertmanager API v2: status (configuration, cluster), active alerts, and where an alert is routed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from infragate.probes import http
from infragate.probes._base import Failure, Timeout

__all__ = ["ActiveAlert", "Alerts", "AmStatus", "Route", "alerts", "route", "status"]


@dataclass(frozen=True)
class AmStatus:
    """/api/v2/status: the loaded configuration (YAML text) and the cluster's state."""

    url: str
    status: int | None
    config: str = ""
    cluster_status: str = ""
    peers: int = 0
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None


def status(base: str, *, timeout: Timeout, cafile: Path | None = None) -> AmStatus:
    """GET /api/v2/status."""
    answer = http.request(base.rstrip("/") + "/api/v2/status", timeout=timeout, cafile=cafile)
    if answer.status != 200:
        return AmStatus(
            base,
            answer.status,
            error=answer.error or f"HTTP {answer.status}",
            unreachable=answer.unreachable,
            failure=answer.failure,
        )
    body = answer.json()
    if not isinstance(body, dict):
        return AmStatus(base, answer.status, error="not an Alertmanager v2 status document")
    cluster = body.get("cluster") or {}
    return AmStatus(
        base,
        answer.status,
        config=str((body.get("config") or {}).get("original", "")),
        cluster_status=str(cluster.get("status", "")),
        peers=len(cluster.get("peers") or []),
    )


@dataclass(frozen=True)
class ActiveAlert:
    """One alert Alertmanager holds as active (not silenced, not inhibited)."""

    name: str
    labels: Mapping[str, str]
    starts_at: str
    summary: str = ""

    def describe(self) -> str:
        """``Name (since ..., summary)``."""
        extra = f": {self.summary}" if self.summary else ""
        return f"{self.name} since {self.starts_at}{extra}"


@dataclass(frozen=True)
class Alerts:
    """GET /api/v2/alerts?active=true&silenced=false&inhibited=false."""

    url: str
    alerts: tuple[ActiveAlert, ...] = ()
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None

    def matching(self, labels: Mapping[str, str]) -> tuple[ActiveAlert, ...]:
        """Alerts carrying every one of ``labels``."""
        return tuple(a for a in self.alerts if all(a.labels.get(k) == v for k, v in labels.items()))


def alerts(base: str, *, timeout: Timeout, cafile: Path | None = None) -> Alerts:
    """The active, unsilenced, uninhibited alerts."""
    url = base.rstrip("/") + "/api/v2/alerts?active=true&silenced=false&inhibited=false&unprocessed=false"
    answer = http.request(url, timeout=timeout, cafile=cafile)
    if answer.status != 200:
        return Alerts(
            base,
            error=answer.error or f"HTTP {answer.status}",
            unreachable=answer.unreachable,
            failure=answer.failure,
        )
    body = answer.json()
    if not isinstance(body, list):
        return Alerts(base, error="not an Alertmanager v2 alert list")
    found = tuple(
        ActiveAlert(
            name=str(a.get("labels", {}).get("alertname", "?")),
            labels=MappingProxyType(dict(a.get("labels", {}))),
            starts_at=str(a.get("startsAt", "?"))[:19].replace("T", " "),
            summary=str((a.get("annotations") or {}).get("summary", "")),
        )
        for a in body
    )
    return Alerts(base, found)


# ---------------------------------------------------------------------------- routing

_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


def _matches(route: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    for key, value in (route.get("match") or {}).items():
        if labels.get(key, "") != str(value):
            return False
    for key, value in (route.get("match_re") or {}).items():
        if not re.fullmatch(str(value), labels.get(key, "")):
            return False
    for raw in route.get("matchers") or []:
        found = _MATCHER.match(str(raw))
        if found is None:
            return False
        key, op, value = found.groups()
        seen = labels.get(key, "")
        ok = {
            "=": seen == value,
            "!=": seen != value,
            "=~": re.fullmatch(value, seen) is not None,
            "!~": re.fullmatch(value, seen) is None,
        }[op]
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class Route:
    """Where an alert with given labels goes: the receivers reached and their integrations."""

    receivers: tuple[str, ...]
    integrations: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    error: str | None = None

    def empty_receivers(self) -> tuple[str, ...]:
        """Reached receivers with no integration at all (alerts sent there go nowhere)."""
        return tuple(r for r in self.receivers if not self.integrations.get(r))


def _walk(node: Mapping[str, Any], labels: Mapping[str, str], inherited: str) -> list[str]:
    receiver = str(node.get("receiver") or inherited)
    reached: list[str] = []
    for child in node.get("routes") or []:
        if _matches(child, labels):
            reached.extend(_walk(child, labels, receiver))
            if not child.get("continue", False):
                break
    return reached or [receiver]


def route(config_yaml: str, labels: Mapping[str, str]) -> Route:
    """Route ``labels`` through an Alertmanager configuration the way Alertmanager does (first match wins)."""
    try:
        doc = yaml.safe_load(config_yaml) or {}
    except yaml.YAMLError as exc:
        return Route((), error=f"configuration is not YAML: {exc}")
    root = doc.get("route") or {}
    reached = tuple(dict.fromkeys(_walk(root, labels, str(root.get("receiver", "")))))
    integrations = {
        str(r.get("name")): tuple(k for k, v in r.items() if k.endswith("_configs") and v)
        for r in doc.get("receivers") or []
    }
    return Route(reached, MappingProxyType(integrations))
