"""RECORDED API answers for Grafana, Loki and Ollama, which cannot be installed on this machine.

This is not Grafana, Loki or Ollama. It serves, on one loopback port, JSON answers shaped exactly like the
documented responses of the real APIs (Grafana HTTP API: /api/health, /api/datasources,
/api/datasources/uid/<uid>/health, /api/search, /api/dashboards/tags; Loki HTTP API: /ready,
/loki/api/v1/query_range, /loki/api/v1/labels, /config; Ollama API: /api/tags, /api/generate), so that
infragate's probes for those servers run against real HTTP. Faults switch an answer to the documented
failure shape: a flag file named after the fault in the directory given on the command line.

    python -m stack.recorded.server PORT FLAG_DIR
"""

from __future__ import annotations

import http.server
import json
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

# Fault flags (file names in FLAG_DIR); stack/fault_actions/monitoring.py writes and removes them.
GRAFANA_DB_FAILING = "grafana-db-failing"
GRAFANA_DATASOURCE_DOWN = "grafana-datasource-down"
GRAFANA_DASHBOARDS_MISSING = "grafana-dashboards-missing"
LOKI_NOT_READY = "loki-not-ready"
LOKI_NO_LOGS = "loki-no-logs"
LOKI_SHORT_RETENTION = "loki-short-retention"
LLM_MODEL_MISSING = "llm-model-missing"
LLM_SLOW = "llm-slow"
LLM_SLOW_S = 2.5  # over local.toml's 2 s budget, under its 3 s read timeout (budget + 1 s)

GRAFANA_VERSION = {"commit": "8a5b4ea6e9", "version": "10.4.2"}
DATASOURCES: list[dict[str, Any]] = [
    {
        "id": 1,
        "uid": "prometheus-main",
        "orgId": 1,
        "name": "Prometheus",
        "type": "prometheus",
        "typeName": "Prometheus",
        "typeLogoUrl": "public/app/plugins/datasource/prometheus/img/prometheus_logo.svg",
        "access": "proxy",
        "url": "http://prometheus:9090",
        "user": "",
        "database": "",
        "basicAuth": False,
        "isDefault": True,
        "jsonData": {"httpMethod": "POST"},
        "readOnly": True,
    },
    {
        "id": 2,
        "uid": "loki-main",
        "orgId": 1,
        "name": "Loki",
        "type": "loki",
        "typeName": "Loki",
        "typeLogoUrl": "public/app/plugins/datasource/loki/img/loki_icon.svg",
        "access": "proxy",
        "url": "http://loki:3100",
        "user": "",
        "database": "",
        "basicAuth": False,
        "isDefault": False,
        "jsonData": {"maxLines": 1000},
        "readOnly": True,
    },
]
DATASOURCE_OK = {
    "prometheus": "Successfully queried the Prometheus API.",
    "loki": "Data source successfully connected.",
}
DATASOURCE_DOWN = (
    'Post "http://prometheus:9090/api/v1/query": dial tcp 10.0.0.5:9090: connect: connection refused'
    " - There was an error returned querying the Prometheus API."
)
DASHBOARDS: list[dict[str, Any]] = [
    {"id": 11, "uid": "coach-api", "title": "Coach API", "tags": ["coach", "api"]},
    {"id": 12, "uid": "coach-logs", "title": "Coach Logs", "tags": ["coach", "logs"]},
]
LOKI_STREAMS: list[dict[str, str]] = [
    {"job": "coach-api", "level": "info", "filename": "/var/log/coach/api.log"},
    {"job": "coach-worker", "level": "info", "filename": "/var/log/coach/worker.log"},
]
MODELS: list[dict[str, Any]] = [
    {
        "name": "qwen2.5-coder:32b-instruct-q4_K_M",
        "model": "qwen2.5-coder:32b-instruct-q4_K_M",
        "modified_at": "2026-11-02T09:12:44.183215876Z",
        "size": 19851349856,
        "digest": "4bd6cbf2d094264457a17aab6bd6acd1ed7a72fb8f8be3cfb193f63c78dd56df",
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "qwen2",
            "families": ["qwen2"],
            "parameter_size": "32.8B",
            "quantization_level": "Q4_K_M",
        },
    },
    {
        "name": "nomic-embed-text:latest",
        "model": "nomic-embed-text:latest",
        "modified_at": "2026-10-21T17:40:03.512344502Z",
        "size": 274302450,
        "digest": "0a109f422b47e3a30ba2b10eca18548e944e8a23073ee3f3e947efcf3c45e59f",
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "nomic-bert",
            "families": ["nomic-bert"],
            "parameter_size": "137M",
            "quantization_level": "F16",
        },
    },
]
_MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"')


class Recorded:
    """The recorded answers; ``flags`` says which documented failure shape each one takes."""

    def __init__(self, flag_dir: Path) -> None:
        self.flag_dir = flag_dir

    def flag(self, name: str) -> bool:
        """True while fault ``name`` is applied."""
        return (self.flag_dir / name).exists()

    def get(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """(status, JSON document or text) of a GET."""
        if path == "/api/health":
            if self.flag(GRAFANA_DB_FAILING):
                return 503, {**GRAFANA_VERSION, "database": "failing"}
            return 200, {**GRAFANA_VERSION, "database": "ok"}
        if path == "/api/datasources":
            return 200, DATASOURCES
        found = re.fullmatch(r"/api/datasources/uid/([^/]+)/health", path)
        if found:
            return self.datasource_health(unquote(found.group(1)))
        if path == "/api/search":
            return 200, self.search(query)
        if path == "/api/dashboards/tags":
            tags: dict[str, int] = {}
            for board in self.dashboards():
                for tag in board["tags"]:
                    tags[tag] = tags.get(tag, 0) + 1
            return 200, [{"term": t, "count": n} for t, n in sorted(tags.items())]
        if path == "/ready":
            if self.flag(LOKI_NOT_READY):
                return 503, "Ingester not ready: waiting for 15s after being ready\n"
            return 200, "ready\n"
        if path == "/loki/api/v1/query_range":
            return 200, self.query_range(query)
        if path == "/loki/api/v1/labels":
            return 200, {"status": "success", "data": sorted({k for s in LOKI_STREAMS for k in s})}
        if path == "/config":
            retention = "24h" if self.flag(LOKI_SHORT_RETENTION) else "744h"
            return (
                200,
                f"compactor:\n  retention_enabled: true\nlimits_config:\n  retention_period: {retention}\n",
            )
        if path == "/api/tags":
            return 200, {"models": self.models()}
        return 404, {"message": "Not found"}

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        """(status, JSON document) of a POST."""
        if path == "/api/generate" and isinstance(body, dict):
            model = str(body.get("model", ""))
            if model not in {m["name"] for m in self.models()}:
                return 404, {"error": f'model "{model}" not found, try pulling it first'}
            start = time.monotonic_ns()
            if self.flag(LLM_SLOW):
                time.sleep(LLM_SLOW_S)  # a model swapped out to CPU, or a queue in front of it
            total = time.monotonic_ns() - start + 1_000_000
            return 200, {
                "model": model,
                "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "response": "OK",
                "done": True,
                "done_reason": "stop",
                "context": [1, 2, 3],
                "total_duration": total,
                "load_duration": 500_000,
                "prompt_eval_count": 8,
                "prompt_eval_duration": 200_000,
                "eval_count": 2,
                "eval_duration": total - 700_000,
            }
        return 404, {"error": "not found"}

    def datasource_health(self, uid: str) -> tuple[int, Any]:
        """Grafana's per-datasource health check."""
        source = next((d for d in DATASOURCES if d["uid"] == uid), None)
        if source is None:
            return 404, {"message": "Data source not found"}
        if source["type"] == "prometheus" and self.flag(GRAFANA_DATASOURCE_DOWN):
            return 400, {"message": DATASOURCE_DOWN, "status": "ERROR"}
        return 200, {"message": DATASOURCE_OK[str(source["type"])], "status": "OK"}

    def dashboards(self) -> list[dict[str, Any]]:
        """Dashboards currently provisioned."""
        return [] if self.flag(GRAFANA_DASHBOARDS_MISSING) else DASHBOARDS

    def search(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        """/api/search filtered by dashboardUIDs and tag (all tags must match), as Grafana does."""
        uids, tags = set(query.get("dashboardUIDs", [])), set(query.get("tag", []))
        out = []
        for board in self.dashboards():
            if uids and board["uid"] not in uids:
                continue
            if not tags <= set(board["tags"]):
                continue
            slug = board["title"].lower().replace(" ", "-")
            out.append(
                {
                    **board,
                    "uri": f"db/{slug}",
                    "url": f"/d/{board['uid']}/{slug}",
                    "slug": "",
                    "type": "dash-db",
                    "isStarred": False,
                    "sortMeta": 0,
                }
            )
        return out

    def query_range(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """Streams matching an equality-only selector, one line per stream, timestamped a second ago."""
        selector = dict(_MATCHER.findall(query.get("query", [""])[0]))
        streams = [] if self.flag(LOKI_NO_LOGS) else LOKI_STREAMS
        now_ns = time.time_ns() - 1_000_000_000
        result = [
            {"stream": s, "values": [[str(now_ns), f'level={s["level"]} msg="request served"']]}
            for s in streams
            if selector and all(s.get(k) == v for k, v in selector.items())
        ]
        return {
            "status": "success",
            "data": {
                "resultType": "streams",
                "result": result,
                "stats": {"summary": {"totalEntriesReturned": len(result)}},
            },
        }

    def models(self) -> list[dict[str, Any]]:
        """Models the Ollama server has pulled."""
        if self.flag(LLM_MODEL_MISSING):
            return [m for m in MODELS if not m["name"].startswith("qwen2.5-coder")]
        return MODELS


def make_handler(recorded: Recorded) -> type[http.server.BaseHTTPRequestHandler]:
    """A request handler bound to ``recorded``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "infragate-recorded-api"

        def _send(self, status: int, payload: Any) -> None:
            if isinstance(payload, str):
                data, kind = payload.encode(), "text/plain; charset=utf-8"
            else:
                data, kind = json.dumps(payload).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            self._send(*recorded.get(parts.path, parse_qs(parts.query)))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                self._send(400, {"error": "invalid JSON body"})
                return
            self._send(*recorded.post(urlsplit(self.path).path, body))

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return Handler


def main(argv: list[str]) -> None:
    """Serve on 127.0.0.1:PORT until killed."""
    port, flag_dir = int(argv[0]), Path(argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), make_handler(Recorded(flag_dir)))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
