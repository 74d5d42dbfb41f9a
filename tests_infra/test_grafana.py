"""Grafana's database is healthy, its declared datasources exist and pass their health check, and its
declared dashboards exist.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("GRAFANA-HEALTH")
def test_grafana_database_ok(grafana, facts, explain):
    seen = facts.grafana_health(grafana)
    assert seen.status == 200 and seen.database == "ok", explain(
        expected='HTTP 200 from /api/health with "database": "ok"',
        seen=seen.error or f"HTTP {seen.status}, database {seen.database or 'not reported'!r}",
    )


@pytest.mark.check("GRAFANA-DATASOURCES")
def test_grafana_datasource_exists(grafana_datasource, facts, explain):
    server, name = grafana_datasource
    listing = facts.grafana_datasources(server)
    names = sorted(listing.by("name"))
    assert listing.error is None and name in names, explain(
        expected=f"datasource {name!r} configured",
        seen=listing.error or f"datasources: {', '.join(names) or 'none'}",
    )


@pytest.mark.check("GRAFANA-DATASOURCES")
def test_grafana_datasource_healthy(grafana_datasource, facts, explain):
    server, name = grafana_datasource
    listing = facts.grafana_datasources(server)
    source = listing.by("name").get(name)
    health = facts.grafana_datasource_health(server, source.uid) if source is not None else None
    if health is None:
        seen = listing.error or f"datasource {name!r} not configured"
    else:
        seen = health.error or f"HTTP {health.status}, status {health.state or '?'}: {health.message}"
    assert health is not None and health.ok, explain(
        expected=f"datasource {name!r} health check status OK", seen=seen
    )


@pytest.mark.check("GRAFANA-DASHBOARDS")
def test_grafana_dashboard_exists(grafana_dashboard, facts, explain):
    server, uid = grafana_dashboard
    listing = facts.grafana_dashboards(server)
    assert listing.error is None and uid in listing.by("uid"), explain(
        expected=f"dashboard uid {uid!r}",
        seen=listing.error
        or f"dashboard missing; {len(listing.items)} dashboards: "
        + ", ".join(sorted(listing.by("uid"))[:10]),
    )


@pytest.mark.check("GRAFANA-DASHBOARDS")
def test_grafana_dashboard_tag_has_dashboards(grafana_dashboard_tag, facts, explain):
    server, tag = grafana_dashboard_tag
    listing = facts.grafana_dashboards(server)
    tagged = [d for d in listing.items if tag in d.tags]
    assert listing.error is None and tagged, explain(
        expected=f"at least one dashboard tagged {tag!r}",
        seen=listing.error
        or f"dashboard missing: none tagged {tag!r} ({len(listing.items)} dashboards in all)",
    )
