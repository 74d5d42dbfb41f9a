"""Traefik facts: its API's routers and services, and a WebSocket route read from them (kind = "traefik")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infragate.facts import Context, Endpoint, fact, url_endpoint
from infragate.probes import traefik

if TYPE_CHECKING:
    from infragate.inventory import Proxy, WsLocation
    from infragate.probes.traefik import TraefikApi, WsRouteCheck


def _api_endpoint(proxy: Proxy, *_: Any) -> Endpoint | None:
    """The API's host and port: an unreachable Traefik is remembered like any endpoint."""
    return url_endpoint(proxy.api_url) if proxy.api_url else None


@fact(endpoint=_api_endpoint)
def traefik_api(ctx: Context, proxy: Proxy) -> TraefikApi:
    """Traefik's HTTP routers and services as its API reports them."""
    assert proxy.api_url is not None  # validated: a Traefik proxy declares api_url
    return traefik.api_state(proxy.api_url, timeout=ctx.timeout, cafile=ctx.trust(proxy))


@fact(endpoint=_api_endpoint)
def traefik_problems(ctx: Context, proxy: Proxy) -> list[str]:
    """Routers and services Traefik disabled or loaded with errors (empty: all enabled)."""
    return traefik.problems(ctx.get("traefik_api", proxy))


@fact(endpoint=_api_endpoint)
def traefik_ws_route(ctx: Context, proxy: Proxy, location: WsLocation) -> WsRouteCheck:
    """A WebSocket location's router: enabled, its rule covering the path, its service's servers."""
    assert location.router is not None  # validated for kind = "traefik"
    api = ctx.get("traefik_api", proxy)
    return traefik.ws_route_check(api, location.router, location.location, location.upstreams)
