"""Offline runs of our locustfiles against small local servers (no reference stack needed).

Each test runs Locust for a few seconds through infragate.load, exactly as ``pytest tests_load``
does, against an HTTP server and a WebSocket echo server started here on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from websockets.sync.server import ServerConnection, serve

from infragate.catalog import load_catalog
from infragate.inventory import Load, LoadRequest, LoadScenario, LoadWebSocket, Secret, Target
from infragate.load import WS_CONNECT, WS_ECHO, WS_HOLD, WS_OPEN, Plan, evaluate, plan_scenario, run_plan

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILES = ROOT / "tests_load" / "locustfiles"
CATALOG = load_catalog()
PASSWORD = "offline-Pa55word-never-in-reports"


class _Api(BaseHTTPRequestHandler):
    """/health, /auth/login, /auth/refresh and a bearer-protected /api/me."""

    protocol_version = "HTTP/1.1"  # keep-alive, like a real service
    # Headers and body in one segment (no Nagle/delayed-ACK stalls of 40 ms per request).
    wbufsize = 65536
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        """Health and the authenticated endpoint."""
        if self.path == "/health":
            self._send(200, {"status": "ok"})
        elif self.path == "/api/me":
            ok = self.headers.get("Authorization", "").startswith("Bearer access-")
            self._send(200 if ok else 401, {"username": "demo"} if ok else {"detail": "no token"})
        else:
            self._send(404, {"detail": "not found"})

    def do_POST(self) -> None:
        """Login (checks the password) and refresh."""
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if self.path == "/auth/login" and body.get("password") == PASSWORD:
            self._send(200, {"access_token": "access-1", "refresh_token": "refresh-1", "expires_in": 900})
        elif self.path == "/auth/refresh" and body.get("refresh_token") == "refresh-1":
            self._send(200, {"access_token": "access-2", "expires_in": 900})
        else:
            self._send(401, {"detail": "invalid credentials"})


class _Server(ThreadingHTTPServer):
    """Threaded, with a listen backlog for a burst of users (the default 5 drops SYNs: 1 s stalls)."""

    daemon_threads = True
    request_queue_size = 256


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    """A local HTTP API on an ephemeral port."""
    server = _Server(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def ws_echo() -> Iterator[str]:
    """A local WebSocket echo server (threaded, one thread per connection)."""

    def echo(conn: ServerConnection) -> None:
        for message in conn:
            conn.send(message)

    with serve(echo, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}/ws"
        server.shutdown()


def _target(tmp_path: Path) -> Target:
    return Target(name="offline", path=tmp_path / "offline.toml", load=Load(max_users=200, max_duration_s=20))


def _plan(tmp_path: Path, scenario: LoadScenario | LoadWebSocket) -> Plan:
    return plan_scenario(_target(tmp_path), CATALOG, scenario, locustfile_dir=LOCUSTFILES)


def _files_text(directory: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in directory.rglob("*") if p.is_file())


def test_health_users_report_and_judge(api: str, tmp_path: Path) -> None:
    scenario = LoadScenario(
        name="health",
        check="LOAD-HTTP-HEALTH",
        base_url=api,
        requests=(LoadRequest(path="/health"),),
        users=20,
        spawn_rate=20,
        duration_s=3,
        pacing_s=0.2,
    )
    result = run_plan(_plan(tmp_path, scenario), tmp_path / "health")
    total = result.total
    assert total.requests > 0 and total.failures == 0
    # Pacing caps the rate (20 users, one request per 0.2 s each): a behaviour, not a speed. How fast a
    # busy machine gets there is not asserted (no timed assertions in selftest/; bench/ measures speed).
    assert total.rps <= 100 * 1.35
    verdicts = evaluate(result)
    assert verdicts and all(v.describe() for v in verdicts)  # every SLO judged and explained
    for name in ("locust.html", "locust_stats.csv", "locust.json", "locust_failures.csv"):
        assert (result.out_dir / name).is_file(), name
    assert result.exit_code == 0
    assert result.cpu.processes


def test_auth_flow_logs_in_calls_and_refreshes_without_leaking(api: str, tmp_path: Path) -> None:
    scenario = LoadScenario(
        name="auth",
        check="LOAD-AUTH-FLOW",
        base_url=api,
        requests=(LoadRequest(path="/api/me", auth=True),),
        users=5,
        spawn_rate=5,
        duration_s=3,
        pacing_s=0.1,
        refresh_every=3,
        username="demo",
        password_env=Secret("OFFLINE_APP_PASSWORD", PASSWORD),
    )
    plan = _plan(tmp_path, scenario)
    # The secret is only in the child's environment: not in ours, not on its command line.
    assert "OFFLINE_APP_PASSWORD" not in os.environ
    result = run_plan(plan, tmp_path / "auth")
    names = {e.name: e for e in result.entries}
    assert names["login"].requests == 5 and names["login"].failures == 0
    assert names["refresh"].requests > 0 and names["refresh"].failures == 0
    assert names["/api/me"].requests > 20 and names["/api/me"].failures == 0
    assert PASSWORD not in _files_text(tmp_path)


def test_wrong_password_fails_the_error_ratio(api: str, tmp_path: Path) -> None:
    scenario = LoadScenario(
        name="auth",
        check="LOAD-AUTH-FLOW",
        base_url=api,
        requests=(LoadRequest(path="/api/me", auth=True),),
        users=3,
        spawn_rate=3,
        duration_s=2,
        pacing_s=0.2,
        username="demo",
        password_env=Secret("OFFLINE_APP_PASSWORD", "wrong-password-also-secret"),
    )
    result = run_plan(_plan(tmp_path, scenario), tmp_path / "bad")
    verdict = next(v for v in evaluate(result) if v.slo.key == "max_error_ratio")
    assert verdict.ok is False
    assert "wrong-password-also-secret" not in _files_text(tmp_path)


def test_websocket_sessions_connect_echo_hold(ws_echo: str, tmp_path: Path) -> None:
    scenario = LoadWebSocket(
        name="ws", url=ws_echo, sessions=50, spawn_rate=50, hold_s=2, message_interval_s=0.5
    )
    result = run_plan(_plan(tmp_path, scenario), tmp_path / "ws")
    assert result.entry(WS_CONNECT).requests == 50 and result.entry(WS_CONNECT).failures == 0
    assert result.entry(WS_ECHO).requests >= 150 and result.entry(WS_ECHO).failures == 0
    assert result.entry(WS_HOLD).successes == 50
    assert result.entry(WS_OPEN).requests == 50
    assert all(v.ok for v in evaluate(result)), [v.describe() for v in evaluate(result)]


def test_refused_websocket_is_one_failed_handshake_per_session(tmp_path: Path) -> None:
    # Nothing listens there: each session fails once and is not retried (no retry storm).
    scenario = LoadWebSocket(
        name="ws", url="ws://127.0.0.1:9/ws", sessions=20, spawn_rate=20, hold_s=1, message_interval_s=0.5
    )
    result = run_plan(_plan(tmp_path, scenario), tmp_path / "ws-down")
    connect = result.entry(WS_CONNECT)
    assert (connect.requests, connect.failures) == (20, 20)
    verdicts = {v.slo.key: v for v in evaluate(result)}
    assert verdicts["max_failed_handshakes"].ok is False
    assert verdicts["min_sessions_held"].ok is False


def test_exploratory_run_reads_the_inventory(api: str, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "offline.toml").write_text(
        "[load]\nmax_users = 10\n\n[[load.http]]\n"
        f'name = "health"\ncheck = "LOAD-HTTP-HEALTH"\nbase_url = "{api}"\npacing_s = 0.2\n'
        'requests = [{ path = "/health" }]\n'
    )
    cmd = [sys.executable, "-m", "locust", "-f", "tests_load", "--target", "offline"]
    cmd += ["--inventory", str(inventory), "--headless", "-u", "5", "-r", "5", "-t", "2s", "--only-summary"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "GET      /health" in proc.stdout + proc.stderr
    # User classes without a scenario in this inventory are not spawned.
    assert "not spawned" in proc.stderr and "WebSocketSessionUser" in proc.stderr


def test_exploratory_run_without_target_says_how(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "locust", "-f", "tests_load", "--headless", "-u", "1", "-t", "1s"]
    env = {k: v for k, v in os.environ.items() if k not in ("INFRAGATE_HOST", "INFRAGATE_SCENARIO")}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode != 0
    assert "give --target NAME" in proc.stderr


def test_saturated_generator_is_an_error_in_junit(api: str, tmp_path: Path) -> None:
    # A CPU limit of 0.1 % makes any run "saturated": its SLO tests must be errors, never passes,
    # except a failed error-ratio SLO (the target itself answered with errors: /missing is a 404).
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "offline.toml").write_text(
        "[load]\nmax_users = 10\ngenerator_cpu_limit_pct = 0.1\n\n[[load.http]]\n"
        f'name = "health"\ncheck = "LOAD-HTTP-HEALTH"\nbase_url = "{api}"\nusers = 5\nspawn_rate = 5\n'
        'duration_s = 3\npacing_s = 0.1\nrequests = [{ path = "/missing" }]\n'
    )
    junit = tmp_path / "junit.xml"
    cmd = [sys.executable, "-m", "pytest", "tests_load", "--host=offline", f"--inventory={inventory}"]
    cmd += [f"--load-reports={tmp_path / 'reports'}", f"--junitxml={junit}", f"--html={tmp_path / 'r.html'}"]
    cmd += ["-p", "no:cacheprovider", "-k", "test_load_health"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAGATE_")}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    cases = {c.get("name"): c for c in ET.parse(junit).iter("testcase")}
    p95 = cases["test_load_health_p95_within_slo[LOAD-HTTP-HEALTH offline/health]"]
    error = p95.find("error")
    assert error is not None, proc.stdout[-2000:]
    assert "load generator saturated; results describe the generator, not the target" in (
        error.get("message") or ""
    ) + (error.text or "")
    assert (
        cases["test_load_health_error_ratio_within_slo[LOAD-HTTP-HEALTH offline/health]"].find("failure")
        is not None
    )
    assert (
        cases["test_load_health_generator_not_saturated[LOAD-HTTP-HEALTH offline/health]"].find("error")
        is not None
    )
    assert proc.returncode == 1
