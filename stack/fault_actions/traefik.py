"""Faults of Traefik, the stack's second proxy: its WebSocket route broken two ways, and Traefik stopped.

The route faults rewrite Traefik's dynamic configuration (stack/traefik.py renders it from the active
markers) and Traefik's file provider reloads it by itself, about 2 s later (its providers throttle): the
fault is live once Traefik's API shows the change. Data (expect_fail, messages): stack/faults.d/traefik.toml.
"""

from __future__ import annotations

import json
from typing import Any

from stack import probes, proc, traefik
from stack.faults import Action
from stack.parts import Context, TraefikPart

__all__ = ["ACTIONS"]


def _api(ctx: Context, path: str) -> Any:
    status, body = probes.http_get(ctx.ports.traefik_api, path)
    return json.loads(body) if status == 200 else None


def _ws_router(ctx: Context) -> Any:
    return _api(ctx, f"/api/http/routers/{traefik.WS_ROUTER}@file") or {}


def _ws_servers(ctx: Context) -> list[str]:
    service = _api(ctx, f"/api/http/services/{traefik.WS_SERVICE}@file") or {}
    return [str(s.get("url")) for s in (service.get("loadBalancer") or {}).get("servers") or []]


def _rewrite(ctx: Context) -> None:
    # Marker written (apply) or removed (heal) before this runs: render for the markers as they are now.
    TraefikPart(ctx).write_dynamic()


def _ws_through_traefik(ctx: Context) -> bool:
    return probes.ws_echo(f"wss://localhost:{ctx.ports.traefik_https}/ws", ctx.tls.ca)


def _route_healthy(ctx: Context) -> bool:
    """The WebSocket router enabled on its own service, which forwards to the sample service, and a
    session through Traefik echoes."""
    router = _ws_router(ctx)
    return (
        router.get("status") == "enabled"
        and router.get("service") == traefik.WS_SERVICE
        and _ws_servers(ctx) == [f"http://127.0.0.1:{ctx.ports.service}"]
        and _ws_through_traefik(ctx)
    )


def _upstream_wrong(ctx: Context) -> bool:
    return _ws_servers(ctx) == [f"http://127.0.0.1:{traefik.CLOSED_PORT}"]


def _router_disabled(ctx: Context) -> bool:
    return bool(_ws_router(ctx).get("status") == "disabled")


def _traefik_down(ctx: Context) -> bool:
    return not any(proc.port_open(p) for p in TraefikPart(ctx).ports())


ACTIONS: dict[str, Action] = {
    traefik.WS_WRONG_PORT_FAULT: Action(
        needs=("traefik",),
        broken=_upstream_wrong,
        healthy=_route_healthy,
        on_apply=_rewrite,
        on_heal=_rewrite,
    ),
    traefik.WS_SERVICE_MISSING_FAULT: Action(
        needs=("traefik",),
        broken=_router_disabled,
        healthy=_route_healthy,
        on_apply=_rewrite,
        on_heal=_rewrite,
    ),
    "traefik-stopped": Action(
        needs=("traefik",),
        broken=_traefik_down,
        healthy=lambda ctx: TraefikPart(ctx).probe() and _route_healthy(ctx),
        stops="traefik",
    ),
}
