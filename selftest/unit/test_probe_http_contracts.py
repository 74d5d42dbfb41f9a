"""The HTTP contract probes against real loopback servers: warmed-up timings, health documents read by
JMESPath, the running-app debug-page probe, the OpenAI-compatible LLM API; and the inventory shape."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from infragate.catalog import load_catalog
from infragate.inventory import InventoryError
from infragate.inventory._validate import build
from infragate.inventory.http import HttpEndpoint
from infragate.inventory.monitoring import Llm
from infragate.probes import api, debug_pages, health, llm
from infragate.probes._base import Timeout
from infragate.probes.exchange import Outgoing
from selftest.unit.servers import closed_port, http_server

FAST = Timeout(connect=0.5, read=1.0)
KEY = "sk-test-0123456789abcdef"


def _reply(handler: http.server.BaseHTTPRequestHandler, status: int, body: Any, ctype: str = "") -> None:
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", ctype or "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


# ---------------------------------------------------------------------------- timings after a warm-up


def test_timed_warms_up_once_and_measures_the_declared_request() -> None:
    seen: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def handle(handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        with lock:
            seen.append((handler.command, json.loads(handler.rfile.read(length)) if length else None))
        _reply(handler, 200, {"ok": True})

    with http_server(handle, protocol="HTTP/1.1") as port:
        out = Outgoing(f"http://127.0.0.1:{port}/chat", "POST", json={"message": "hi"})
        timings = api.timed(out, 3, timeout=FAST, warmup=1)
    assert timings.error is None and timings.statuses == (200, 200, 200)
    assert len(timings.warmup_ms) == 1 and len(timings.elapsed_ms) == 3
    assert seen == [("POST", {"message": "hi"})] * 4  # one warm-up + three measured, all the declared body
    assert "warm-up" in timings.describe() and "median" in timings.describe()


def test_timed_refused_is_unreachable_and_says_so() -> None:
    timings = api.timed(Outgoing(f"http://127.0.0.1:{closed_port()}/"), 3, timeout=FAST)
    assert timings.unreachable and timings.elapsed_ms == () and "no response" in timings.describe()


# ---------------------------------------------------------------------------- health documents


def test_components_flat_and_nested() -> None:
    flat = {"database": "connected", "cache": "error: ConnectionError"}
    report = health.components_report(flat, {"database": "database", "cache": "cache"}, ["ok", "connected"])
    assert report.healthy == ("database",)
    assert report.unhealthy == ("cache 'error: ConnectionError' at cache",)
    nested = {"status": "unhealthy", "checks": {"db": {"status": "down", "error": "OperationalError"}}}
    report = health.components_report(nested, {"db": "checks.db.status", "queue": "checks.q.status"}, ["up"])
    assert report.unhealthy == (
        "db 'down' at checks.db.status (OperationalError)",
        "queue missing at checks.q.status",
    )
    assert report.overall == "unhealthy"


def test_status_word_catches_a_lying_health_page() -> None:
    words = load_catalog()["HTTP-HEALTH"].thresholds["unhealthy_values"]
    assert health.status_word({"status": "Unhealthy"}, words) == "Unhealthy"
    assert health.status_word({"status": "ok"}, words) is None
    assert health.status_word([{"status": "down"}], words) is None  # only the document's own status


# ---------------------------------------------------------------------------- running-app debug pages

_DEBUG_404 = (
    "<html><body><p>Using the URLconf defined in <code>site.urls</code>, the server tried these URL "
    "patterns</p><p>You're seeing this error because you have <code>DEBUG = True</code></p></body></html>"
)


def _debug_app(debug: bool) -> Any:
    def handle(handler: http.server.BaseHTTPRequestHandler) -> None:
        if handler.path.rstrip("/").endswith(debug_pages.MISSING_SEGMENT):
            _reply(handler, 404, _DEBUG_404 if debug else "<h1>Not Found</h1>", "text/html")
        elif handler.command == "POST":
            tb = 'Traceback (most recent call last):\n  File "app.py", line 3' if debug else "bad request"
            _reply(handler, 500 if debug else 400, tb, "text/plain")
        else:
            _reply(handler, 200, {"status": "ok"})

    return handle


def test_missing_url_stays_under_the_endpoint() -> None:
    assert (
        debug_pages.missing_url("https://h/drf/health/?x=1") == "https://h/drf/health/infragate-no-such-page/"
    )
    assert debug_pages.missing_url("http://h/api/items") == "http://h/api/items/infragate-no-such-page"


def test_debug_probe_finds_the_catalog_signatures_and_nothing_on_a_quiet_app() -> None:
    signatures = load_catalog()["CONFIG-DEBUG-OFF"].thresholds["debug_pages"]
    with http_server(_debug_app(debug=True)) as port:
        found = debug_pages.probe(f"http://127.0.0.1:{port}/api/", signatures, timeout=FAST)
    assert [p.answer.status for p in found] == [404, 500]
    assert "Django technical page" in found[0].found and "Python traceback" in found[1].found
    assert "URLconf" in found[0].excerpt
    with http_server(_debug_app(debug=False)) as port:
        quiet = debug_pages.probe(f"http://127.0.0.1:{port}/api/", signatures, timeout=FAST)
    assert [p.answer.status for p in quiet] == [404, 400] and not any(p.found for p in quiet)


# ---------------------------------------------------------------------------- OpenAI-compatible LLM


def _openai(fail: bool) -> Any:
    def handle(handler: http.server.BaseHTTPRequestHandler) -> None:
        if handler.headers.get("Authorization") != f"Bearer {KEY}":
            _reply(
                handler,
                401,
                {"error": {"message": f"Incorrect API key provided: {KEY[:6]}", "code": "invalid_api_key"}},
            )
        elif handler.path == "/v1/models":
            _reply(handler, 200, {"object": "list", "data": [{"id": "m-1", "object": "model"}]})
        elif fail:
            _reply(handler, 500, {"error": {"message": "The server had an error", "type": "server_error"}})
        else:
            length = int(handler.headers.get("Content-Length") or 0)
            asked = json.loads(handler.rfile.read(length))
            content = "pong" if asked["max_tokens"] == 8 and not asked["stream"] else "wrong request"
            _reply(handler, 200, {"choices": [{"message": {"role": "assistant", "content": content}}]})

    return handle


def test_openai_listing_and_bounded_completion() -> None:
    with http_server(_openai(fail=False)) as port:
        base = f"http://127.0.0.1:{port}/v1"  # a base with the /v1 suffix works as well
        listing = llm.models(base, timeout=FAST, kind="openai", token=KEY)
        done = llm.generate(base, "m-1", "ping", timeout=FAST, budget_s=2.0, kind="openai", token=KEY)
        refused = llm.models(base, timeout=FAST, kind="openai", token=None)
    assert listing.error is None and listing.has("m-1") and not listing.has("m-2")
    assert listing.url.endswith("/v1/models")
    assert done.error is None and done.reply == "pong"
    assert refused.status == 401 and "Incorrect API key" in (refused.error or "")


def test_openai_completion_failure_is_reported_without_the_key() -> None:
    with http_server(_openai(fail=True)) as port:
        failed = llm.generate(
            f"http://127.0.0.1:{port}", "m-1", "ping", timeout=FAST, budget_s=2.0, kind="openai", token=KEY
        )
    assert failed.status == 500 and failed.error == "HTTP 500: The server had an error"
    assert KEY not in repr(failed)


# ---------------------------------------------------------------------------- the inventory shape


def _endpoint(**keys: Any) -> HttpEndpoint:
    return build(
        HttpEndpoint, {"name": "e", "url": "http://h/health", **keys}, "http.endpoints[0]", Path(".")
    )


def test_endpoint_roles_requests_and_components() -> None:
    assert _endpoint().kind == "health" and _endpoint(frontend=True).kind == "frontend"
    chat = _endpoint(role="api", request={"method": "POST", "json": {"m": 1}})
    assert chat.call.url == "http://h/health" and chat.call.method == "POST" and chat.probes_debug
    assert _endpoint().detailed_call is None
    legacy = _endpoint(detailed_url="http://h/health?detailed=true", health_components=["db"])
    assert legacy.component_paths == {"db": "components.db.status"}
    assert legacy.detailed_call is not None and legacy.detailed_call.url == "http://h/health?detailed=true"
    flat = _endpoint(components={"database": "database"}, detailed={"headers": {"X-Token": "t"}})
    assert flat.detailed_call is not None and flat.detailed_call.url == "http://h/health"


@pytest.mark.parametrize(
    ("keys", "words"),
    [
        ({"frontend": True, "role": "api"}, "frontend: frontend = true contradicts role"),
        (
            {"components": {"a": "a"}, "health_components": ["a"]},
            "components: components and health_components",
        ),
        ({"components": {"a": "a.["}}, "components.a: not a JMESPath expression"),
        ({"role": "backend"}, "role: expected one of health, api, frontend, static"),
        ({"expect": {"status": [999]}}, "expect.status[0]: must be an HTTP status code"),
    ],
)
def test_endpoint_mistakes_are_one_line(keys: dict[str, Any], words: str) -> None:
    with pytest.raises(InventoryError, match=None) as caught:
        _endpoint(**keys)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_llm_key_only_for_openai() -> None:
    with pytest.raises(InventoryError, match="api_key_env: is for kind"):
        build(Llm, {"name": "m", "url": "http://h", "api_key_env": "PATH"}, "llm[0]", Path("."))
    entry = build(
        Llm, {"name": "m", "url": "http://h", "kind": "openai", "models": ["a"]}, "llm[0]", Path(".")
    )
    assert entry.probe == "a"
