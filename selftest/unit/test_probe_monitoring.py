"""The metrics, Prometheus, Alertmanager, Grafana, Loki and model-server probes against loopback servers.

Prometheus and Alertmanager answers are the API's documented shapes served by a tiny server (the real
binaries run in the end-to-end tests); Grafana, Loki and Ollama are the stack's recorded-API server.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from infragate.probes import alertmanager, grafana, llm, loki, metrics, prometheus
from infragate.probes._base import Timeout
from selftest.unit.servers import closed_port, http_server, reply
from stack.recorded import server as recorded

FAST = Timeout(connect=0.5, read=2.0)
JSON = {"Content-Type": "application/json"}

EXPOSITION = """\
# HELP http_requests_total HTTP requests
# TYPE http_requests_total counter
http_requests_total{method="GET",status="200"} 12.0
http_requests_total{method="GET",status="500"} 1.0
# HELP ws_connections_active Open WebSocket connections
# TYPE ws_connections_active gauge
ws_connections_active 3.0
# HELP http_request_duration_seconds latency
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1"} 5.0
http_request_duration_seconds_bucket{le="+Inf"} 6.0
http_request_duration_seconds_count 6.0
http_request_duration_seconds_sum 0.9
"""


# ---------------------------------------------------------------------------- metrics pages


def test_scrape_prometheus_text_finds_families_and_samples() -> None:
    with http_server(reply(200, EXPOSITION, {"Content-Type": "text/plain; version=0.0.4"})) as port:
        page = metrics.scrape(f"http://127.0.0.1:{port}/metrics", timeout=FAST)
    assert page.ok
    assert page.has("http_requests_total") and page.has("http_request_duration_seconds")
    assert not page.has("process_cpu_seconds_total")
    assert [s.value for s in page.values("ws_connections_active")] == [3.0]
    assert sorted(s.value for s in page.values("http_requests_total")) == [1.0, 12.0]


def test_scrape_rejects_a_page_that_is_not_exposition_format() -> None:
    with http_server(reply(200, "<html>login</html>\n{{{", {"Content-Type": "text/html"})) as port:
        page = metrics.scrape(f"http://127.0.0.1:{port}/metrics", timeout=FAST)
    assert not page.ok and "not Prometheus text format" in (page.error or "")


def test_scrape_json_reads_jmespath_paths() -> None:
    body = json.dumps(
        {"data": {"current_metrics": {"database": {"connections": 7}, "agents": [{"active": 12}]}}}
    )
    with http_server(reply(200, body, JSON)) as port:
        page = metrics.scrape(f"http://127.0.0.1:{port}/metrics", timeout=FAST, format="json")
    assert page.ok and page.has("data.current_metrics.database")
    assert [s.value for s in page.values("data.current_metrics.database.connections")] == [7.0]
    assert [s.value for s in page.values("data.current_metrics.agents[0].active")] == [12.0]
    assert page.values("data.current_metrics.database") == ()  # not a number


def test_scrape_http_error_and_refused() -> None:
    with http_server(reply(404, "not found")) as port:
        page = metrics.scrape(f"http://127.0.0.1:{port}/metrics", timeout=FAST)
    assert page.status == 404 and page.error == "HTTP 404" and not page.unreachable
    page = metrics.scrape(f"http://127.0.0.1:{closed_port()}/metrics", timeout=FAST)
    assert page.unreachable


# ---------------------------------------------------------------------------- Prometheus API


def _routes(answers: dict[str, tuple[int, object]]) -> object:
    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        path = req.path.split("?")[0]
        status, body = answers.get(path, (404, {"status": "error", "error": "not found"}))
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    return handle


TARGETS = {
    "status": "success",
    "data": {
        "activeTargets": [
            {
                "labels": {"job": "api", "instance": "a:1"},
                "health": "up",
                "lastError": "",
                "scrapeUrl": "http://a:1/metrics",
                "lastScrape": "t",
            },
            {
                "labels": {"job": "batch", "instance": "b:2"},
                "health": "down",
                "lastError": "connect: connection refused",
                "scrapeUrl": "http://b:2/metrics",
                "lastScrape": "t",
            },
        ],
        "droppedTargets": [],
    },
}
RULES = {
    "status": "success",
    "data": {
        "groups": [
            {
                "name": "svc",
                "file": "/etc/rules.yml",
                "rules": [
                    {
                        "name": "Down",
                        "type": "alerting",
                        "health": "ok",
                        "lastError": "",
                        "state": "inactive",
                    },
                    {
                        "name": "x:rate",
                        "type": "recording",
                        "health": "err",
                        "lastError": "many-to-many matching not allowed",
                    },
                ],
            }
        ]
    },
}
QUERY = {
    "status": "success",
    "data": {"resultType": "vector", "result": [{"metric": {"job": "api"}, "value": [1700000000.0, "0.25"]}]},
}


def test_prometheus_targets_rules_and_query() -> None:
    answers = {
        "/-/ready": (200, "Prometheus Server is Ready."),
        "/-/healthy": (200, "Prometheus Server is Healthy."),
        "/api/v1/targets": (200, TARGETS),
        "/api/v1/rules": (200, RULES),
        "/api/v1/query": (200, QUERY),
    }
    with http_server(_routes(answers)) as port:  # type: ignore[arg-type]
        base = f"http://127.0.0.1:{port}"
        ready = prometheus.readiness(base, timeout=FAST)
        found = prometheus.targets(base, timeout=FAST)
        groups = prometheus.rules(base, timeout=FAST)
        result = prometheus.query(base, "rate(x[1m])", timeout=FAST)
    assert ready.ok
    assert found.jobs() == {"api", "batch"}
    assert [t.describe() for t in found.down()] == ["batch/b:2 down (connect: connection refused)"]
    assert groups.names() == {"svc"} and [r.name for _, r in groups.failing()] == ["x:rate"]
    assert result.values == (('{job="api"}', 0.25),)


def test_prometheus_query_error_is_reported() -> None:
    bad = {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}
    with http_server(_routes({"/api/v1/query": (400, bad)})) as port:  # type: ignore[arg-type]
        result = prometheus.query(f"http://127.0.0.1:{port}", "up{", timeout=FAST)
    assert result.error == "HTTP 400: bad_data: parse error at char 3" and not result.unreachable


def test_prometheus_refused_is_unreachable() -> None:
    assert prometheus.targets(f"http://127.0.0.1:{closed_port()}", timeout=FAST).unreachable


# ---------------------------------------------------------------------------- Alertmanager

AM_CONFIG = """
route:
  receiver: default
  routes:
    - receiver: pager
      matchers: ['severity="critical"']
    - receiver: team
      match_re: {team: "ops|sre"}
receivers:
  - name: default
    email_configs: [{to: a@example.test}]
  - name: pager
  - name: team
    webhook_configs: [{url: "http://x"}]
"""


def test_route_follows_first_matching_child() -> None:
    critical = alertmanager.route(AM_CONFIG, {"severity": "critical"})
    assert critical.receivers == ("pager",) and critical.empty_receivers() == ("pager",)
    team = alertmanager.route(AM_CONFIG, {"severity": "warning", "team": "sre"})
    assert team.receivers == ("team",) and team.empty_receivers() == ()
    assert alertmanager.route(AM_CONFIG, {"severity": "info"}).receivers == ("default",)


def test_alertmanager_status_and_alerts() -> None:
    status_doc = {
        "cluster": {"status": "ready", "peers": [{"name": "a"}, {"name": "b"}]},
        "config": {"original": AM_CONFIG},
    }
    alerts_doc = [
        {
            "labels": {"alertname": "Down", "severity": "critical"},
            "annotations": {"summary": "down"},
            "startsAt": "2026-11-28T06:00:00Z",
        },
        {
            "labels": {"alertname": "Slow", "severity": "warning"},
            "annotations": {},
            "startsAt": "2026-11-28T06:00:00Z",
        },
    ]
    with http_server(
        _routes({"/api/v2/status": (200, status_doc), "/api/v2/alerts": (200, alerts_doc)})
    ) as port:  # type: ignore[arg-type]
        base = f"http://127.0.0.1:{port}"
        status = alertmanager.status(base, timeout=FAST)
        found = alertmanager.alerts(base, timeout=FAST)
    assert (status.cluster_status, status.peers) == ("ready", 2) and "pager" in status.config
    assert [a.describe() for a in found.matching({"severity": "critical"})] == [
        "Down since 2026-11-28 06:00:00: down"
    ]


# ------------------------------------------------------------------------ recorded Grafana / Loki / Ollama


@contextmanager
def recorded_api(flags: Path) -> Iterator[str]:
    """The stack's recorded-API server on an ephemeral port; yields its base URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), recorded.make_handler(recorded.Recorded(flags))
    )
    server.daemon_threads = True  # the slow-generation answer must not hold the teardown
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_grafana_probes_healthy_and_under_faults(tmp_path: Path) -> None:
    with recorded_api(tmp_path) as base:
        assert grafana.health(base, timeout=FAST).database == "ok"
        sources = grafana.datasources(base, timeout=FAST).by("name")
        assert set(sources) == {"Prometheus", "Loki"}
        assert grafana.datasource_health(base, sources["Prometheus"].uid, timeout=FAST).ok
        assert {d.uid for d in grafana.dashboards(base, timeout=FAST).items} == {"coach-api", "coach-logs"}
        for flag in (
            recorded.GRAFANA_DB_FAILING,
            recorded.GRAFANA_DATASOURCE_DOWN,
            recorded.GRAFANA_DASHBOARDS_MISSING,
        ):
            (tmp_path / flag).touch()
        health = grafana.health(base, timeout=FAST)
        assert (health.status, health.database) == (503, "failing")
        down = grafana.datasource_health(base, sources["Prometheus"].uid, timeout=FAST)
        assert down.status == 400 and down.state == "ERROR" and "connection refused" in down.message
        assert grafana.dashboards(base, timeout=FAST).items == ()


def test_loki_probes_healthy_and_under_faults(tmp_path: Path) -> None:
    with recorded_api(tmp_path) as base:
        assert loki.ready(base, timeout=FAST).status == 200
        entries = loki.recent_entries(base, '{job="coach-api"}', window_s=300, timeout=FAST)
        assert entries.entries == 1 and entries.newest_age_s is not None and entries.newest_age_s < 60
        assert loki.recent_entries(base, '{job="nope"}', window_s=300, timeout=FAST).entries == 0
        assert loki.retention(base, timeout=FAST).hours == 744
        for flag in (recorded.LOKI_NOT_READY, recorded.LOKI_NO_LOGS, recorded.LOKI_SHORT_RETENTION):
            (tmp_path / flag).touch()
        not_ready = loki.ready(base, timeout=FAST)
        assert not_ready.status == 503 and "Ingester not ready" in not_ready.body
        assert loki.recent_entries(base, '{job="coach-api"}', window_s=300, timeout=FAST).entries == 0
        assert loki.retention(base, timeout=FAST).hours == 24


@pytest.mark.parametrize(
    ("text", "hours"), [("744h", 744.0), ("31d", 744.0), ("1w2d", 216.0), ("0s", 0.0), ("soon", None)]
)
def test_loki_duration(text: str, hours: float | None) -> None:
    assert loki.parse_duration_h(text) == hours


def test_llm_probes_healthy_and_under_faults(tmp_path: Path) -> None:
    model = "qwen2.5-coder:32b-instruct-q4_K_M"
    with recorded_api(tmp_path) as base:
        listing = llm.models(base, timeout=FAST)
        assert listing.has(model) and listing.has("nomic-embed-text") and not listing.has("llama3")
        done = llm.generate(base, model, "hi", timeout=FAST, budget_s=2.0)
        assert done.status == 200 and done.reply == "OK" and done.error is None
        (tmp_path / recorded.LLM_SLOW).touch()
        slow = llm.generate(base, model, "hi", timeout=FAST, budget_s=1.0)
        assert slow.status is None and "timed out" in (slow.error or "") and not slow.unreachable
        (tmp_path / recorded.LLM_MODEL_MISSING).touch()
        assert not llm.models(base, timeout=FAST).has(model)
        missing = llm.generate(base, model, "hi", timeout=FAST, budget_s=5.0)
        assert missing.status == 404 and "not found, try pulling it first" in (missing.error or "")
    assert llm.models(f"http://127.0.0.1:{closed_port()}", timeout=FAST).unreachable
