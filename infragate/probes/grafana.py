"""Grafana HTTP API: /api/health, datasources and their health checks, dashboard search."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from infragate.probes import http
from infragate.probes._base import Failure, Timeout

__all__ = [
    "Dashboard",
    "Datasource",
    "DatasourceHealth",
    "GrafanaHealth",
    "Listing",
    "dashboards",
    "datasource_health",
    "datasources",
    "health",
]


def _get(
    base: str, path: str, *, timeout: Timeout, cafile: Path | None, token: str | None
) -> http.HttpAnswer:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return http.request(base.rstrip("/") + path, timeout=timeout, cafile=cafile, headers=headers)


def _api_error(answer: http.HttpAnswer) -> str:
    if answer.status is None:
        return answer.error or "no answer"
    body = answer.json()
    message = body.get("message") if isinstance(body, dict) else None
    return f"HTTP {answer.status}" + (f": {message}" if message else "")


@dataclass(frozen=True)
class GrafanaHealth:
    """/api/health: Grafana answers 200 with database ok, 503 with database failing."""

    status: int | None
    database: str = ""
    version: str = ""
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None


def health(
    base: str, *, timeout: Timeout, cafile: Path | None = None, token: str | None = None
) -> GrafanaHealth:
    """GET /api/health (no authentication needed)."""
    answer = _get(base, "/api/health", timeout=timeout, cafile=cafile, token=token)
    if answer.status is None:
        return GrafanaHealth(None, error=answer.error, unreachable=answer.unreachable, failure=answer.failure)
    body = answer.json()
    if not isinstance(body, dict):
        return GrafanaHealth(answer.status, error=f"HTTP {answer.status}, not a Grafana health document")
    return GrafanaHealth(answer.status, str(body.get("database", "")), str(body.get("version", "")))


@dataclass(frozen=True)
class Datasource:
    """One configured datasource."""

    uid: str
    name: str
    kind: str
    url: str


@dataclass(frozen=True)
class Dashboard:
    """One dashboard found by /api/search."""

    uid: str
    title: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Listing:
    """A list endpoint's items (datasources or dashboards)."""

    items: tuple[Any, ...] = ()
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None

    def by(self, attr: str) -> Mapping[str, Any]:
        """Items keyed by one attribute (``name``, ``uid``)."""
        return {getattr(i, attr): i for i in self.items}


def datasources(
    base: str, *, timeout: Timeout, cafile: Path | None = None, token: str | None = None
) -> Listing:
    """GET /api/datasources."""
    answer = _get(base, "/api/datasources", timeout=timeout, cafile=cafile, token=token)
    body = answer.json() if answer.status == 200 else None
    if not isinstance(body, list):
        return Listing(error=_api_error(answer), unreachable=answer.unreachable, failure=answer.failure)
    return Listing(
        tuple(
            Datasource(
                str(d.get("uid", "")), str(d.get("name", "")), str(d.get("type", "")), str(d.get("url", ""))
            )
            for d in body
        )
    )


@dataclass(frozen=True)
class DatasourceHealth:
    """/api/datasources/uid/<uid>/health: status OK or ERROR with the backend's message."""

    uid: str
    status: int | None
    state: str = ""
    message: str = ""
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        """Grafana reached the datasource's backend."""
        return self.status == 200 and self.state == "OK"


def datasource_health(
    base: str, uid: str, *, timeout: Timeout, cafile: Path | None = None, token: str | None = None
) -> DatasourceHealth:
    """GET /api/datasources/uid/<uid>/health (Grafana runs the datasource's own test)."""
    answer = _get(
        base,
        f"/api/datasources/uid/{quote(uid, safe='')}/health",
        timeout=timeout,
        cafile=cafile,
        token=token,
    )
    if answer.status is None:
        return DatasourceHealth(
            uid, None, error=answer.error, unreachable=answer.unreachable, failure=answer.failure
        )
    body = answer.json()
    if not isinstance(body, dict):
        return DatasourceHealth(uid, answer.status, error=f"HTTP {answer.status}, not a health document")
    return DatasourceHealth(uid, answer.status, str(body.get("status", "")), str(body.get("message", "")))


def dashboards(
    base: str, *, timeout: Timeout, cafile: Path | None = None, token: str | None = None
) -> Listing:
    """GET /api/search?type=dash-db (every dashboard the credentials can see)."""
    answer = _get(base, "/api/search?type=dash-db&limit=5000", timeout=timeout, cafile=cafile, token=token)
    body = answer.json() if answer.status == 200 else None
    if not isinstance(body, list):
        return Listing(error=_api_error(answer), unreachable=answer.unreachable, failure=answer.failure)
    return Listing(
        tuple(
            Dashboard(
                str(d.get("uid", "")), str(d.get("title", "")), tuple(str(t) for t in d.get("tags") or ())
            )
            for d in body
        )
    )
