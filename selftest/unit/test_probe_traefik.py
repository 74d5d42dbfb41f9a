"""Traefik as the proxy: its API read over real HTTP, the problems and WebSocket-route helpers, and the
``[[proxy]] kind = "traefik"`` inventory validation.

The API answers are real Traefik 3.7 answers recorded from the stack's configuration and faulty variants of
it (selftest/unit/traefik_api/README.md says which), served by a loopback HTTP server so
``api_state``'s request path runs; the pure helpers are also called directly. Offline: no Traefik runs.
"""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from infragate.inventory import InventoryError, components, load_target
from infragate.probes import traefik
from infragate.probes._base import Timeout
from infragate.probes.traefik import TraefikApi
from selftest.unit.servers import closed_port, http_server, reply

FAST = Timeout(connect=0.5, read=2.0)
JSON = {"Content-Type": "application/json"}
RECORDED = Path(__file__).resolve().parent / "traefik_api"
# The sample service the recordings' WebSocket service forwards to (the healthy one).
UPSTREAM = "http://127.0.0.1:31400"
# Traefik's error for the weighted service of the "misc" recording (one of its services does not exist).
GHOST = 'building HTTP service "ghost": the service "ghost@file" does not exist'


def _recorded(scenario: str, kind: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((RECORDED / f"{scenario}.{kind}.json").read_text())
    return data


@contextmanager
def traefik_api(scenario: str) -> Iterator[tuple[str, list[str]]]:
    """A loopback "Traefik API" answering a recorded scenario; yields its base URL and the paths asked."""
    answers = {f"/api/http/{kind}": json.dumps(_recorded(scenario, kind)) for kind in ("routers", "services")}
    asked: list[str] = []

    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        asked.append(req.path)
        path = urlsplit(req.path).path
        if path in answers:
            reply(200, answers[path], JSON)(req)
        else:  # what Traefik answers for an unknown API path
            reply(404, "404 page not found\n", {"Content-Type": "text/plain; charset=utf-8"})(req)

    with http_server(handle) as port:
        yield f"http://127.0.0.1:{port}", asked


def _read(scenario: str) -> TraefikApi:
    with traefik_api(scenario) as (base, _):
        return traefik.api_state(base, timeout=FAST)


# ---------------------------------------------------------------------------- the API over HTTP


def test_healthy_traefik_has_no_problems_and_its_ws_route_reaches_the_upstream() -> None:
    with traefik_api("healthy") as (base, asked):
        api = traefik.api_state(base, timeout=FAST)
    assert api.error is None and not api.unreachable
    assert {r["name"] for r in api.routers} == {
        "api@internal",
        "ping@internal",
        "sample-app@file",
        "sample-ws@file",
        "to-https@file",
    }
    assert len(api.services) == 5
    assert traefik.problems(api) == []
    route = traefik.ws_route_check(api, "sample-ws", "/ws", (UPSTREAM,))
    assert route == traefik.WsRouteCheck(True, (), (UPSTREAM,))
    # Traefik pages its lists (100 a page by default): both lists are asked for in one large page.
    assert [urlsplit(p).path for p in asked] == ["/api/http/routers", "/api/http/services"]
    assert all(int(parse_qs(urlsplit(p).query)["per_page"][0]) >= 1000 for p in asked)


def test_router_whose_service_does_not_exist_is_a_problem_in_traefiks_words() -> None:
    api = _read("service-missing")
    assert traefik.problems(api) == [
        'router sample-ws@file disabled: the service "sample-ws-v2@file" does not exist'
    ]
    route = traefik.ws_route_check(api, "sample-ws", "/ws", (UPSTREAM,))
    assert route.found and route.servers == ()
    assert route.missing == (
        'router sample-ws@file disabled: the service "sample-ws-v2@file" does not exist',
        "its service 'sample-ws-v2' does not exist",
    )


def test_wrong_upstream_port_loads_cleanly_but_the_ws_route_names_where_it_goes() -> None:
    api = _read("wrong-port")
    # Traefik builds a service pointing at a dead port without complaint: only the route check sees it.
    assert traefik.problems(api) == []
    route = traefik.ws_route_check(api, "sample-ws", "/ws", (UPSTREAM,))
    assert route.found and route.servers == ("http://127.0.0.1:1",)
    assert route.missing == (f"service sample-ws@file forwards to http://127.0.0.1:1, declared {UPSTREAM}",)


def test_rule_for_another_path_does_not_cover_the_location() -> None:
    api = _read("other-prefix")
    assert traefik.problems(api) == []
    route = traefik.ws_route_check(api, "sample-ws", "/ws", (UPSTREAM,))
    assert route.missing == ("rule PathPrefix(`/socket`) does not match /ws",)
    assert route.servers == (UPSTREAM,)


def test_exact_path_rule_covers_the_location_only_not_below_it() -> None:
    api = _read("path-rule")
    assert traefik.ws_route_check(api, "sample-ws", "/ws", (UPSTREAM,)).missing == ()
    below = traefik.ws_route_check(api, "sample-ws", "/ws/chat", (UPSTREAM,))
    assert below.missing == ("rule Path(`/ws`) does not match /ws/chat",)
    # PathPrefix (the healthy recording) covers the location and everything below it.
    healthy = _read("healthy")
    assert traefik.ws_route_check(healthy, "sample-ws", "/ws/chat", (UPSTREAM,)).missing == ()


def test_host_and_path_rule_covers_its_path() -> None:
    api = _read("host-rule")
    assert traefik.ws_route_check(api, "sample-ws", "/ws", (UPSTREAM,)).missing == ()
    assert traefik.ws_route_check(api, "sample-ws", "/api", (UPSTREAM,)).missing == (
        "rule Host(`chat.example.com`) && PathPrefix(`/ws`) does not match /api",
    )


def test_unparsable_rule_is_a_problem_with_every_error_traefik_gives() -> None:
    api = _read("bad-rule")
    [problem] = traefik.problems(api)
    assert problem.startswith("router sample-ws@file disabled: error while parsing rule PathPrefix(`/ws`")
    assert "; invalid rule PathPrefix(`/ws`, error:" in problem  # Traefik's two errors, both kept
    route = traefik.ws_route_check(api, "sample-ws", "/ws", (UPSTREAM,))
    assert route.missing[0] == problem
    assert route.missing[1] == "rule PathPrefix(`/ws` does not match /ws"


def test_disabled_routers_and_services_are_all_listed() -> None:
    api = _read("misc")
    assert traefik.problems(api) == [
        f"router canary-ws@file disabled: {GHOST}",
        'router sample-ws@file disabled: middleware "nope@file" does not exist',
        f"service ws-weighted@file disabled: {GHOST}",
    ]


def test_service_named_with_its_provider_and_two_servers() -> None:
    api = _read("misc")
    # The router names "sample-ws@file" itself: the same service as a bare "sample-ws" from the file provider.
    explicit = traefik.ws_route_check(api, "sample-ws", "/ws", (UPSTREAM,))
    assert explicit.servers == (UPSTREAM,)
    assert explicit.missing == ('router sample-ws@file disabled: middleware "nope@file" does not exist',)
    # Two servers, one with a trailing slash: both declared (in any order) is exactly right.
    pair = ("http://localhost:31401", UPSTREAM)
    assert traefik.ws_route_check(api, "pair-ws", "/pair", pair).missing == ()
    fewer = traefik.ws_route_check(api, "pair-ws", "/pair", (UPSTREAM,)).missing
    assert fewer == (
        f"service ws-pair@file forwards to {UPSTREAM}/, http://localhost:31401, declared {UPSTREAM}",
    )
    more = traefik.ws_route_check(api, "pair-ws", "/pair", (*pair, "http://127.0.0.1:31402")).missing
    assert len(more) == 1 and more[0].endswith(
        "declared http://localhost:31401, http://127.0.0.1:31400, http://127.0.0.1:31402"
    )
    # Host names are compared as written (no resolution): localhost is not 127.0.0.1.
    by_address = traefik.ws_route_check(api, "pair-ws", "/pair", (UPSTREAM, "http://127.0.0.1:31401"))
    assert len(by_address.missing) == 1 and "forwards to" in by_address.missing[0]


def test_weighted_service_lists_no_servers() -> None:
    api = _read("misc")
    route = traefik.ws_route_check(api, "canary-ws", "/canary", (UPSTREAM,))
    assert route.found and route.servers == ()
    assert route.missing == (
        f"router canary-ws@file disabled: {GHOST}",
        "service ws-weighted@file (weighted) lists no server URLs",
    )


def test_router_not_in_the_api_is_not_found_and_the_known_ones_are_named() -> None:
    api = _read("healthy")
    route = traefik.ws_route_check(api, "chat-ws", "/ws", (UPSTREAM,))
    assert not route.found and route.missing == ()
    assert route.error == (
        "no router 'chat-ws' in Traefik's API (routers: api@internal, ping@internal, sample-app@file, "
        "sample-ws@file, to-https@file)"
    )
    # Another provider's router of the same name is another router.
    assert not traefik.ws_route_check(api, "sample-ws@docker", "/ws", (UPSTREAM,)).found
    assert traefik.ws_route_check(api, "sample-ws@file", "/ws", (UPSTREAM,)).missing == ()


def test_unreachable_api_is_an_error_and_marked_unreachable() -> None:
    api = traefik.api_state(f"http://127.0.0.1:{closed_port()}", timeout=FAST)
    assert api.unreachable and api.routers == () and api.services == ()
    assert api.error is not None and api.error.startswith("GET /api/http/routers: ")
    assert "refused" in api.error.lower()
    assert traefik.problems(api) == []  # nothing read is nothing to list: CONFIG-NGINX-VALID asserts error
    route = traefik.ws_route_check(api, "sample-ws", "/ws", (UPSTREAM,))
    assert not route.found and route.error == api.error


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # api.insecure off and a basicAuth middleware in front of api@internal.
        (401, "401 Unauthorized\n", "GET /api/http/routers: HTTP 401"),
        # The API not enabled: the entrypoint answers Traefik's 404.
        (404, "404 page not found\n", "GET /api/http/routers: HTTP 404"),
        # Something else on that port (a login page), or Traefik's /api/overview object instead of a list.
        (200, "<html>login</html>", "GET /api/http/routers: not a list of Traefik objects"),
        (200, '{"http": {"routers": {"total": 5}}}', "GET /api/http/routers: not a list of Traefik objects"),
        (200, '["sample-ws@file"]', "GET /api/http/routers: not a list of Traefik objects"),
    ],
)
def test_api_answer_that_is_not_the_router_list(status: int, body: str, expected: str) -> None:
    with http_server(reply(status, body, JSON)) as port:
        api = traefik.api_state(f"http://127.0.0.1:{port}", timeout=FAST)
    assert api.error == expected and not api.unreachable
    assert api.routers == () and api.services == ()


def test_services_list_missing_is_an_error_even_with_routers_read() -> None:
    routers = json.dumps(_recorded("healthy", "routers"))

    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        if urlsplit(req.path).path == "/api/http/routers":
            reply(200, routers, JSON)(req)
        else:
            reply(500, "internal error\n")(req)

    with http_server(handle) as port:
        api = traefik.api_state(f"http://127.0.0.1:{port}/", timeout=FAST)  # a trailing slash is fine
    assert api.error == "GET /api/http/services: HTTP 500"
    assert api.routers == ()  # half a configuration is not reported as the configuration


# ---------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("rule", "matchers"),
    [
        ("PathPrefix(`/ws`)", [("PathPrefix", "/ws")]),
        ("Path(`/health`) || PathPrefix(`/api`)", [("Path", "/health"), ("PathPrefix", "/api")]),
        ('Host("chat.example.com") && PathPrefix("/ws")', [("PathPrefix", "/ws")]),
        ("PathPrefix(`/api`) && !PathPrefix(`/api/internal`)", [("PathPrefix", "/api")]),
        ("Host(`chat.example.com`)", []),
        ("!(PathPrefix(`/a`) || !Path(`/b`))", [("Path", "/b")]),  # doubly negated: positive
        ("PathPrefix(`/ws`", []),  # refused by Traefik
    ],
)
def test_path_matchers(rule: str, matchers: list[tuple[str, str]]) -> None:
    assert traefik.path_matchers(rule) == matchers


@pytest.mark.parametrize(
    ("rule", "location", "covers"),
    [
        ("PathPrefix(`/ws`)", "/ws", True),
        ("PathPrefix(`/ws`)", "/ws/chat", True),
        ("PathPrefix(`/ws`)", "/api", False),
        ("PathPrefix(`/`)", "/ws", True),
        ("Path(`/ws`)", "/ws", True),
        ("Path(`/ws`)", "/ws/", False),
        ("Path(`/health`) || PathPrefix(`/api`)", "/api/upload", True),
        ("Path(`/health`) || PathPrefix(`/api`)", "/ws", False),
        ("Host(`chat.example.com`)", "/ws", True),  # no path matcher: every path of that host
        ("Host(`chat.example.com`) && PathPrefix(`/ws`)", "/ws", True),
        ("PathPrefix(`/ws`", "/ws", False),  # unparsable: Traefik disables it, it matches nothing
    ],
)
def test_rule_covers(rule: str, location: str, covers: bool) -> None:
    assert traefik.rule_covers(rule, location) is covers


# Traefik v3's rule semantics (pkg/muxer/http/matcher.go, pkg/rules): Path is equality, PathPrefix a plain
# string prefix, PathRegexp an unanchored Go regexp search; !, && (tighter) and || over matchers, with
# parentheses; matchers that do not read the path may match.
@pytest.mark.parametrize(
    ("rule", "location", "covers"),
    [
        # PathPrefix is a string prefix, not a path segment: /wsx covers nothing of /ws, /ws covers /wsx.
        ("PathPrefix(`/wsx`)", "/ws", False),
        ("PathPrefix(`/ws/`)", "/ws", False),
        ("PathPrefix(`/ws`)", "/wsx", True),
        ("PathPrefix(`/ws`)", "/ws/", True),
        ("Path(`/ws`)", "/wsx", False),
        # PathRegexp: Go's MatchString searches anywhere unless anchored.
        ("PathRegexp(`^/ws(/.*)?$`)", "/ws", True),
        ("PathRegexp(`^/ws(/.*)?$`)", "/ws/chat", True),
        ("PathRegexp(`^/ws(/.*)?$`)", "/wsx", False),
        ("PathRegexp(`^/(api|ws)/`)", "/ws", False),
        ("PathRegexp(`ws`)", "/api/ws", True),
        ("PathRegexp(`^/ws\\z`)", "/ws", True),  # Go's end of text \z
        ("PathRegexp(`^/ws\\z`)", "/ws/x", False),
        ("PathRegexp(`^/[[:alpha:]]+$`)", "/ws", True),  # Go-only syntax: undecidable here, may match
        ("PathRegexp(`^/\\pL+$`)", "/ws", True),
        # An OR branch without a path matcher covers every path (of its hosts).
        ("Host(`a.example`) || PathPrefix(`/api`)", "/ws", True),
        ("Path(`/health`) || PathPrefix(`/api`)", "/ws", False),
        ("Host(`a.example`) && PathPrefix(`/api`) || Host(`b.example`)", "/ws", True),
        # && binds tighter than ||; parentheses regroup.
        ("Path(`/a`) || PathPrefix(`/ws`) && Host(`x`)", "/ws", True),
        ("(Path(`/a`) || Host(`x`)) && PathPrefix(`/api`)", "/ws", False),
        ("(Path(`/a`) || PathPrefix(`/ws`)) && Host(`x`)", "/ws", True),
        ("((PathPrefix(`/ws`)))", "/ws", True),
        # Negation, also of a group and of a matcher that does not read the path.
        ("PathPrefix(`/`) && !PathPrefix(`/ws`)", "/ws", False),
        ("!(PathPrefix(`/api`) || PathPrefix(`/admin`))", "/ws", True),
        ("!(PathPrefix(`/ws`) || PathPrefix(`/admin`))", "/ws", False),
        ("!(Host(`a`) && PathPrefix(`/ws`))", "/ws", True),  # other hosts' /ws
        ("!Host(`a`)", "/ws", True),
        ("Host(`a`) || !PathPrefix(`/ws`)", "/ws", True),
        ("Method(`GET`) && Header(`Upgrade`, `websocket`) && Path(`/ws`)", "/ws", True),
        # Spellings Traefik accepts: as written, lower, upper and title case; "quoted" Go strings.
        ("pathprefix(`/ws`)", "/ws", True),
        ("PATHPREFIX(`/ws`)", "/ws", True),
        ("Pathprefix(`/ws`)", "/ws", True),
        ('PathPrefix("/w\\x73")', "/ws", True),
        ("PathPrefix(`/ws`,)", "/ws", True),
        # Rules Traefik refuses (the router is disabled): they match nothing.
        ("pathPrefix(`/ws`)", "/ws", False),
        ("PathPrefix('/ws')", "/ws", False),
        ("PathPrefix(`ws`)", "/ws", False),
        ("PathPrefix(`/api`, `/ws`)", "/ws", False),
        ("Header(`Upgrade`)", "/ws", False),
        ("PathPrefix(`/ws`) &&", "/ws", False),
        ("(PathPrefix(`/ws`)", "/ws", False),
        ("PathPrefix(`/ws`))", "/ws", False),
        ("", "/ws", False),
    ],
)
def test_rule_covers_as_traefik_v3_matches(rule: str, location: str, covers: bool) -> None:
    assert traefik.rule_covers(rule, location) is covers


def test_parse_rule_gives_the_expression_tree() -> None:
    assert traefik.parse_rule("Host(`a`) && !(Path(`/x`) || PathPrefix(`/y`)) || Method(`GET`)") == (
        "or",
        (
            "and",
            ("call", "Host", ("a",)),
            ("not", ("or", ("call", "Path", ("/x",)), ("call", "PathPrefix", ("/y",)))),
        ),
        ("call", "Method", ("GET",)),
    )
    with pytest.raises(traefik.RuleError, match="unknown matcher HostSNI"):
        traefik.parse_rule("HostSNI(`*`)")  # a TCP matcher, not an HTTP one


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://127.0.0.1:31400", "http://127.0.0.1:31400/", True),
        ("http://App.Internal:8000", "http://app.internal:8000", True),
        ("http://app", "http://app:80", True),
        ("https://app", "https://app:443", True),
        ("http://app:443", "https://app:443", False),
        ("http://127.0.0.1:31400", "http://127.0.0.1:1", False),
        ("http://127.0.0.1:8000/chat", "http://127.0.0.1:8000", False),
        ("http://localhost:8000", "http://127.0.0.1:8000", False),
    ],
)
def test_same_upstream(a: str, b: str, same: bool) -> None:
    assert traefik.same_upstream(a, b) is same
    assert traefik.same_upstream(b, a) is same


def test_router_and_service_lookup_by_provider() -> None:
    docker_router = {"name": "chat@docker", "provider": "docker", "service": "chat", "status": "enabled"}
    docker_service = {"name": "chat@docker", "provider": "docker", "status": "enabled"}
    file_service = {"name": "chat@file", "provider": "file", "status": "enabled"}
    api = TraefikApi("http://t", (docker_router,), (file_service, docker_service))
    assert api.router("chat") is None  # a bare name is the file provider's
    assert api.router("chat@docker") is docker_router
    assert api.service("chat", "docker") is docker_service  # as the docker router names it
    assert api.service("chat", "file") is file_service
    assert api.service("chat@file", "docker") is file_service  # an explicit provider wins


def test_problems_without_error_text_and_with_a_warning() -> None:
    api = TraefikApi(
        "http://t",
        routers=({"name": "a@file", "status": "warning", "error": ["tls options x@file do not exist"]},),
        services=({"name": "s@file"},),  # no status at all
    )
    assert traefik.problems(api) == [
        "router a@file warning: tls options x@file do not exist",
        "service s@file ?: no error given",
    ]
    enabled_with_error = TraefikApi("http://t", ({"name": "b@file", "status": "enabled", "error": ["x"]},))
    assert traefik.problems(enabled_with_error) == ["router b@file enabled: x"]


# ---------------------------------------------------------------------------- the inventory


TRAEFIK_PROXY = """\
[[proxy]]
kind = "traefik"
api_url = "http://127.0.0.1:8080"

[[proxy.websocket_locations]]
name = "chat"
location = "/ws"
router = "sample-ws"
upstreams = ["http://127.0.0.1:8000", "http://127.0.0.1:8001"]
"""


def _load(tmp_path: Path, text: str) -> Any:
    (tmp_path / "nginx.conf").write_text("events {}\nhttp {}\n")
    path = tmp_path / "t.toml"
    path.write_text(text)
    return load_target(path)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(InventoryError) as caught:
        _load(tmp_path, text)
    return str(caught.value).removeprefix(f"{tmp_path / 't.toml'}: ")


def test_traefik_proxy_loads(tmp_path: Path) -> None:
    [proxy] = _load(tmp_path, TRAEFIK_PROXY).proxy
    assert (proxy.kind, proxy.name, proxy.api_url) == ("traefik", "traefik", "http://127.0.0.1:8080")
    assert proxy.nginx_conf is None
    [loc] = proxy.websocket_locations
    assert (loc.name, loc.location, loc.router) == ("chat", "/ws", "sample-ws")
    assert loc.upstreams == ("http://127.0.0.1:8000", "http://127.0.0.1:8001")


def test_nginx_and_traefik_proxies_side_by_side(tmp_path: Path) -> None:
    text = 'name = "edge"\nnginx_conf = "nginx.conf"\n'
    target = _load(tmp_path, f"[[proxy]]\n{text}\n{TRAEFIK_PROXY}")
    assert [(p.name, p.kind) for p in target.proxy] == [("edge", "nginx"), ("traefik", "traefik")]
    assert [p.name for p in components(target, "proxy")] == ["edge", "traefik"]
    assert [loc.name for loc in components(target, "proxy.websocket_locations")] == ["chat"]


def test_single_proxy_table_is_one_nginx_entry(tmp_path: Path) -> None:
    target = _load(tmp_path, '[proxy]\nnginx_conf = "nginx.conf"\n')
    [proxy] = target.proxy
    assert (proxy.kind, proxy.name, proxy.nginx_conf) == ("nginx", "nginx", tmp_path / "nginx.conf")
    assert proxy.api_url is None


def test_traefik_proxy_requires_api_url(tmp_path: Path) -> None:
    text = TRAEFIK_PROXY.replace('api_url = "http://127.0.0.1:8080"\n', "")
    assert _error(tmp_path, text) == (
        "proxy[0].api_url: required for a Traefik proxy (its API, e.g. http://127.0.0.1:8080)"
    )


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('nginx_conf = "nginx.conf"', "nginx_conf"),
        ('nginx_prefix = "."', "nginx_prefix"),
        ('upload = [{ name = "up", location = "/api/upload", max_bytes = 1048576 }]', "upload"),
    ],
)
def test_nginx_only_keys_rejected_for_traefik(tmp_path: Path, line: str, key: str) -> None:
    text = TRAEFIK_PROXY.replace('kind = "traefik"\n', f'kind = "traefik"\n{line}\n')
    assert _error(tmp_path, text) == f'proxy[0].{key}: only for kind = "nginx", not "traefik"'


@pytest.mark.parametrize(
    "replace",
    [
        ('router = "sample-ws"\n', ""),
        ('upstreams = ["http://127.0.0.1:8000", "http://127.0.0.1:8001"]\n', ""),
        ('upstreams = ["http://127.0.0.1:8000", "http://127.0.0.1:8001"]', "upstreams = []"),
    ],
)
def test_traefik_ws_location_needs_router_and_upstreams(tmp_path: Path, replace: tuple[str, str]) -> None:
    text = TRAEFIK_PROXY.replace(*replace)
    assert text != TRAEFIK_PROXY
    assert _error(tmp_path, text).endswith(
        "websocket_locations.chat: a Traefik WebSocket location needs router and upstreams"
    )


def test_traefik_ws_upstreams_are_urls(tmp_path: Path) -> None:
    text = TRAEFIK_PROXY.replace('"http://127.0.0.1:8001"', '"127.0.0.1:8001"')
    message = _error(tmp_path, text)
    assert message.startswith("proxy[0].websocket_locations[0].upstreams[1]: must be a URL")


def test_nginx_proxy_rejects_traefik_keys(tmp_path: Path) -> None:
    api = _error(tmp_path, '[[proxy]]\nnginx_conf = "nginx.conf"\napi_url = "http://127.0.0.1:8080"\n')
    assert api == 'proxy[0].api_url: only for kind = "traefik"'
    ws = '[[proxy.websocket_locations]]\nname = "ws"\nlocation = "/ws"\nrouter = "sample-ws"\n'
    routed = _error(tmp_path, f'[[proxy]]\nnginx_conf = "nginx.conf"\n{ws}')
    assert routed.endswith('websocket_locations.ws: router and upstreams: only for kind = "traefik"')
    missing_conf = _error(tmp_path, '[[proxy]]\nkind = "nginx"\n')
    assert missing_conf.startswith("proxy[0].nginx_conf: required for an nginx proxy")


def test_unknown_proxy_kind_rejected(tmp_path: Path) -> None:
    text = TRAEFIK_PROXY.replace('kind = "traefik"', 'kind = "caddy"')
    assert _error(tmp_path, text) == "proxy[0].kind: expected one of nginx, traefik, got 'caddy'"


def test_rule_with_a_negated_matcher_taking_the_location_does_not_cover_it() -> None:
    # Traefik sends /ws elsewhere: the route looks right but excludes its own path.
    assert not traefik.rule_covers("PathPrefix(`/`) && !PathPrefix(`/ws`)", "/ws")
    assert traefik.rule_covers("PathPrefix(`/`) && !PathPrefix(`/admin`)", "/ws")


# Routers with ruleSyntax v2, as Traefik 3.7 ran them on the stack (its API listed them enabled with
# "ruleSyntax": "v2"; requests through it: /ws/x, /socket/a, /wsx and /chat/abc reached the service,
# /chat/ABC, /chat/abc/d and /other got Traefik's own 404). The same PathPrefix with two paths in v3
# syntax was disabled ("unexpected number of parameters; got 2").
@pytest.mark.parametrize(
    ("rule", "location", "covers"),
    [
        ("PathPrefix(`/ws`, `/socket`)", "/ws/x", True),
        ("PathPrefix(`/ws`, `/socket`)", "/socket/a", True),
        ("PathPrefix(`/ws`, `/socket`)", "/wsx", True),
        ("PathPrefix(`/ws`, `/socket`)", "/other", False),
        ("Path(`/chat/{room:[a-z]+}`)", "/chat/abc", True),
        ("Path(`/chat/{room:[a-z]+}`)", "/chat/ABC", False),
        ("Path(`/chat/{room:[a-z]+}`)", "/chat/abc/d", False),
        ("Path(`/chat/{room}`)", "/chat/x", True),
        ("Path(`/chat/{room}`)", "/chat/x/y", False),
        ("Host(`a.example`) && PathPrefix(`/api/{v:v[0-9]+}`)", "/api/v2/ws", True),
        ("Headers(`Upgrade`, `websocket`) && Path(`/ws`)", "/ws", True),
        ("HostRegexp(`{sub:[a-z]+}.example.com`)", "/anything", True),
        ("PathPrefix(`/a.b`)", "/aXb", False),  # literal text is literal, not a regexp
    ],
)
def test_rule_covers_as_traefik_v2_syntax_matches(rule: str, location: str, covers: bool) -> None:
    assert traefik.rule_covers(rule, location, "v2") is covers


def test_v2_rule_of_an_enabled_router_is_read_as_v2_not_failed() -> None:
    service = {"name": "app@file", "loadBalancer": {"servers": [{"url": "http://127.0.0.1:8000"}]}}
    ups = ("http://127.0.0.1:8000",)

    def check(router: dict[str, Any]) -> tuple[str, ...]:
        base = {"name": "ws@file", "service": "app", "status": "enabled", **router}
        return traefik.ws_route_check(TraefikApi("http://t", (base,), (service,)), "ws", "/ws", ups).missing

    assert check({"rule": "PathPrefix(`/ws`, `/socket`)", "ruleSyntax": "v2"}) == ()
    assert check({"rule": "PathPrefix(`/api`, `/socket`)", "ruleSyntax": "v2"}) == (
        "rule PathPrefix(`/api`, `/socket`) does not match /ws",
    )
    # Enabled without ruleSyntax (core.defaultRuleSyntax = v2 in the static configuration): read as v2.
    assert check({"rule": "PathPrefix(`/ws`, `/socket`)"}) == ()
    # The same rule on a router Traefik disabled: the router's state says so, and the rule covers nothing.
    disabled = check({"rule": "PathPrefix(`/ws`, `/socket`)", "status": "disabled", "error": ["parse"]})
    assert "rule PathPrefix(`/ws`, `/socket`) does not match /ws" in disabled and len(disabled) == 2
