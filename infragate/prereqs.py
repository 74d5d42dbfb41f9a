"""Root causes: which failed check blocks which, from the catalog's ``requires`` and the inventory.

A failure of check C on an inventory part is *blocked* when a check that C requires (directly or through
its own prerequisites) failed in the same run, on the same target and the same endpoint (host:port) or
the same inventory entry. The blocker named is that failure's own root: the failure nothing blocks.
Pure data in, data out (no pytest): fixtures/rootcause.py feeds it the run's results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infragate.catalog import Catalog
from infragate.facts import url_endpoint

__all__ = ["Result", "closure", "closure_any", "depth", "endpoint_key", "find_blockers", "root_order"]

# One machine spelled three ways is one endpoint (fixtures/facts.py keys its dead endpoints the same way).
_LOOPBACK = ("localhost", "::1", "[::1]")


@dataclass(frozen=True)
class Result:
    """One check test's outcome, as far as root causes care."""

    key: str  # the test's node id
    check_id: str
    target: str
    entry: str  # "component/name", or "" when the test has no inventory entry
    endpoint: str  # "host:port", or "" for host-side entries (files, processes)
    failed: bool


def _normal(host: str, port: int) -> str:
    return f"{'127.0.0.1' if host in _LOOPBACK else host}:{port}"


def endpoint_key(entry: Any, databases: Mapping[str, Any] | None = None) -> str:
    """``host:port`` an entry's probes connect to ("" when none): url, base_url, login_url, host+port,
    else the endpoint of the ``[[postgres]]`` entry its ``database`` names (migrations, tenants)."""
    for attr in ("url", "base_url", "login_url"):
        url = getattr(entry, attr, None)
        if isinstance(url, str) and "://" in url:
            url_host, url_port = url_endpoint(url)
            return _normal(url_host, url_port) if url_host else ""
    host, port = getattr(entry, "host", None), getattr(entry, "port", None)
    if isinstance(host, str) and isinstance(port, int):
        return _normal(host, port)
    database = getattr(entry, "database", None)
    if isinstance(database, str) and databases and database in databases:
        return endpoint_key(databases[database])
    return ""


def closure(catalog: Catalog, check_id: str) -> tuple[str, ...]:
    """Every check ``check_id`` requires, directly or through its prerequisites (nearest first)."""
    seen: dict[str, None] = {}
    todo = list(catalog[check_id].requires) if check_id in catalog else []
    while todo:
        one = todo.pop(0)
        if one not in seen:
            seen[one] = None
            todo.extend(catalog[one].requires)
    return tuple(seen)


def closure_any(catalog: Catalog, check_id: str) -> tuple[str, ...]:
    """The ``requires_any`` checks of ``check_id`` and everything they require: any of these failed on the
    same target blocks it, whatever the entry."""
    seen: dict[str, None] = {}
    for one in catalog[check_id].requires_any if check_id in catalog else ():
        for found in (one, *closure(catalog, one)):
            seen[found] = None
    return tuple(seen)


def depth(catalog: Catalog, check_id: str) -> int:
    """How many prerequisite layers lie under a check (0: requires nothing); runs lower layers first."""
    if check_id not in catalog:
        return 0
    required = (*catalog[check_id].requires, *catalog[check_id].requires_any)
    return 1 + max(depth(catalog, r) for r in required) if required else 0


def _same_place(a: Result, b: Result) -> bool:
    if a.target != b.target:
        return False
    return bool(a.endpoint and a.endpoint == b.endpoint) or bool(a.entry and a.entry == b.entry)


def _rank(catalog: Catalog, result: Result) -> tuple[int, int, str]:
    order = list(catalog.checks).index(result.check_id) if result.check_id in catalog else len(catalog)
    return depth(catalog, result.check_id), order, result.key


def find_blockers(catalog: Catalog, results: Iterable[Result]) -> dict[str, Result]:
    """Failed result's key -> the root failure that blocks it (absent: it is a root cause itself).

    Results are judged lowest layer first, so a prerequisite's own root is known when a dependent asks;
    among several failed prerequisites the lowest layer wins (ties: catalog order, then node id).
    """
    failed = sorted((r for r in results if r.failed), key=lambda r: _rank(catalog, r))
    roots: dict[str, Result] = {}
    for result in failed:
        required = set(closure(catalog, result.check_id))
        anywhere = set(closure_any(catalog, result.check_id))
        candidates = [
            p
            for p in failed
            if (p.check_id in required and _same_place(p, result))
            or (p.check_id in anywhere and p.target == result.target)
        ]
        if candidates:
            first = min(candidates, key=lambda r: _rank(catalog, r))
            roots[result.key] = roots.get(first.key, first)
    return roots


def root_order(catalog: Catalog, severity: str, check_id: str, blocked: int) -> tuple[int, int, int, int]:
    """Sort key of root causes: critical first, then the lowest layer, then the most blocked, then
    catalog order (an SRE reads the port before the certificate, the certificate before CORS)."""
    order = list(catalog.checks).index(check_id) if check_id in catalog else len(catalog)
    return (0 if severity == "critical" else 1, depth(catalog, check_id), -blocked, order)
