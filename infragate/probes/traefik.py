"""Traefik's API: the routers and services it loaded (status, errors) and where a WebSocket route goes.

Traefik does not refuse a bad dynamic configuration the way ``nginx -t`` does: it loads what it can and
disables a router or service it cannot build (a missing service, a bad rule, a missing middleware),
recording why in that object's ``error`` list and ``status``. Its API (``/api/http/routers``,
``/api/http/services``) is therefore the effective configuration, whatever provider (file, Docker labels)
wrote it, as ``nginx -T`` is nginx's. Nothing here asserts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infragate.probes import http
from infragate.probes._base import Timeout
from infragate.probes.traefik_rules import RuleError, parse_rule, path_matchers, readable, rule_covers

__all__ = [
    "RuleError",
    "TraefikApi",
    "WsRouteCheck",
    "api_state",
    "parse_rule",
    "path_matchers",
    "problems",
    "rule_covers",
    "same_upstream",
    "ws_route_check",
]


@dataclass(frozen=True)
class TraefikApi:
    """The HTTP routers and services of one Traefik (the API's JSON objects), or why they are unknown."""

    url: str
    routers: tuple[dict[str, Any], ...] = ()
    services: tuple[dict[str, Any], ...] = ()
    error: str | None = None
    unreachable: bool = False

    def router(self, name: str) -> dict[str, Any] | None:
        """The router ``name`` (``ws@file``; a bare ``ws`` means the file provider's)."""
        full = name if "@" in name else f"{name}@file"
        return next((r for r in self.routers if r.get("name") == full), None)

    def service(self, name: str, provider: str) -> dict[str, Any] | None:
        """A service as a router names it: ``svc`` is ``svc@<the router's provider>``."""
        full = name if "@" in name else f"{name}@{provider}"
        return next((s for s in self.services if s.get("name") == full), None)


def _list(
    base: str, path: str, timeout: Timeout, cafile: Path | None
) -> tuple[list[dict[str, Any]], str | None, bool]:
    # Traefik pages its lists (per_page, default 100): ask for enough that one page holds them all.
    answer = http.request(f"{base.rstrip('/')}{path}?per_page=10000", timeout=timeout, cafile=cafile)
    if answer.status != 200:
        return [], f"GET {path}: {answer.error or f'HTTP {answer.status}'}", answer.unreachable
    body = answer.json()
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        return [], f"GET {path}: not a list of Traefik objects", False
    return body, None, False


def api_state(base: str, *, timeout: Timeout, cafile: Path | None = None) -> TraefikApi:
    """GET /api/http/routers and /api/http/services."""
    routers, error, unreachable = _list(base, "/api/http/routers", timeout, cafile)
    if error is not None:
        return TraefikApi(base, error=error, unreachable=unreachable)
    services, error, unreachable = _list(base, "/api/http/services", timeout, cafile)
    if error is not None:
        return TraefikApi(base, error=error, unreachable=unreachable)
    return TraefikApi(base, tuple(routers), tuple(services))


def _describe(kind: str, item: dict[str, Any]) -> str | None:
    errors = [str(e) for e in item.get("error") or []]
    status = str(item.get("status", "?"))
    if status == "enabled" and not errors:
        return None
    why = "; ".join(errors) or "no error given"
    return f"{kind} {item.get('name', '?')} {status}: {why}"


def problems(api: TraefikApi) -> list[str]:
    """Every router and service that is not enabled or carries an error (Traefik's own words)."""
    found = [_describe("router", r) for r in api.routers] + [_describe("service", s) for s in api.services]
    return [p for p in found if p is not None]


def _norm(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default, parts.path.rstrip("/")


def same_upstream(a: str, b: str) -> bool:
    """Two server URLs name the same upstream (scheme, host, port with its default, path)."""
    return _norm(a) == _norm(b)


@dataclass(frozen=True)
class WsRouteCheck:
    """What a Traefik WebSocket route lacks (found False: no such router, or the API is unreadable)."""

    found: bool
    missing: tuple[str, ...] = ()
    servers: tuple[str, ...] = field(default=())
    error: str | None = None


def ws_route_check(api: TraefikApi, router: str, location: str, upstreams: tuple[str, ...]) -> WsRouteCheck:
    """The router exists and is enabled, its rule covers ``location``, and its service (a load balancer)
    forwards to exactly ``upstreams``."""
    if api.error is not None:
        return WsRouteCheck(False, error=api.error)
    found = api.router(router)
    if found is None:
        names = ", ".join(sorted(str(r.get("name")) for r in api.routers)) or "none"
        return WsRouteCheck(False, error=f"no router {router!r} in Traefik's API (routers: {names})")
    missing: list[str] = []
    state = _describe("router", found)
    if state is not None:
        missing.append(state)
    rule = str(found.get("rule", ""))
    syntax = str(found.get("ruleSyntax") or "v3")
    if state is None and not readable(rule, syntax):
        # Traefik runs this router, so it read the rule (a default syntax of v2 set in the static
        # configuration leaves no ruleSyntax on the router): read it as v2, else leave it undecided
        # rather than fail a rule Traefik itself accepted.
        syntax = "v2" if readable(rule, "v2") else ""
    if syntax and not rule_covers(rule, location, syntax):
        missing.append(f"rule {rule} does not match {location}")
    provider = str(found.get("provider", "file"))
    service = api.service(str(found.get("service", "")), provider)
    if service is None:
        missing.append(f"its service {found.get('service')!r} does not exist")
        return WsRouteCheck(True, tuple(missing))
    servers = tuple(str(s.get("url", "")) for s in (service.get("loadBalancer") or {}).get("servers") or [])
    if not servers:
        missing.append(f"service {service.get('name')} ({service.get('type', '?')}) lists no server URLs")
    else:
        extra = [s for s in servers if not any(same_upstream(s, u) for u in upstreams)]
        absent = [u for u in upstreams if not any(same_upstream(s, u) for s in servers)]
        if extra or absent:
            name = service.get("name")
            missing.append(
                f"service {name} forwards to {', '.join(servers)}, declared {', '.join(upstreams)}"
            )
    return WsRouteCheck(True, tuple(missing), servers)
