"""Traefik as the proxy (``kind = "traefik"``): every router and service it loaded is enabled, and each
WebSocket route goes where it is declared to. Its ping is an ``http.endpoints`` health entry
(HTTP-HEALTH) and the handshake through it a ``websocket.endpoints`` entry via the proxy (WS-CONNECT-PROXY).

Runbook 000 runs behind Traefik: where nginx has ``nginx -t`` and ``nginx -T``, Traefik has its API, which
reports what it loaded and why it disabled a router or service.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("CONFIG-NGINX-VALID")
def test_traefik_routers_and_services_enabled(traefik_proxy, facts, explain):
    api = facts.traefik_api(traefik_proxy)
    assert api.error is None, explain(
        expected=f"Traefik's API readable at {traefik_proxy.api_url}", seen=api.error
    )
    problems = facts.traefik_problems(traefik_proxy)
    assert not problems, explain(
        expected=(
            f"every router and service of Traefik enabled without errors ({len(api.routers)} routers, "
            f"{len(api.services)} services; fix the dynamic configuration, Traefik reloads it)"
        ),
        seen="; ".join(problems),
    )


@pytest.mark.check("CONFIG-PROXY-WS")
def test_traefik_ws_route_reaches_upstream(traefik_ws_route, facts, explain):
    proxy, loc = traefik_ws_route
    found = facts.traefik_ws_route(proxy, loc)
    assert found.found, explain(
        expected=f"router {loc.router} in Traefik's API ({proxy.api_url})", seen=found.error, entry=proxy
    )
    assert not found.missing, explain(
        expected=(
            f"router {loc.router} enabled, matching {loc.location}, its service forwarding to "
            f"{', '.join(loc.upstreams)} (Traefik's dynamic configuration)"
        ),
        seen="; ".join(found.missing),
        entry=proxy,
    )
