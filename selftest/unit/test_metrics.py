"""--metrics-file and --pushgateway (issue 13 item 3): the series, the file, the push, and the run when the
Pushgateway is dead or hung. Offline: a tiny loopback Pushgateway stand-in, closed ports and blackholes.
"""

from __future__ import annotations

import base64
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from infragate import results_metrics
from infragate.results_metrics import CheckResult, RunResults
from selftest.unit.servers import blackhole, closed_port

ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition: (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def status_of(found: dict[tuple[str, frozenset[tuple[str, str]]], float], check: str) -> tuple[str, float]:
    """(state label, value) of the one infragate_check_status sample of CHECK."""
    (hit,) = [
        (dict(k[1]), v)
        for k, v in found.items()
        if k[0] == "infragate_check_status" and ("check", check) in k[1]
    ]
    return hit[0]["state"], hit[1]


RUN = RunResults(
    target="prod",
    checks=(
        CheckResult("TLS-CERT-EXPIRY", "critical", "tls.endpoints/proxy", "failed"),
        CheckResult("CORS-ALLOWED-ORIGIN", "warning", "cors/api", "blocked"),
        CheckResult("PG-READY", "critical", "postgres/db", "passed"),
        CheckResult("PG-READY", "critical", "postgres/db", "skipped"),
        CheckResult("LLM-LATENCY", "warning", "llm/chat", "skipped"),
        CheckResult("GPU-MEMORY", "warning", "", "not_applicable"),
    ),
    gate_open=False,
    duration_s=12.5,
    finished_at=1_800_000_000.0,
)


def test_each_state_has_its_value_and_label() -> None:
    found = samples(results_metrics.exposition(RUN))
    assert status_of(found, "TLS-CERT-EXPIRY") == ("failed", 0.0)
    assert status_of(found, "CORS-ALLOWED-ORIGIN") == ("blocked", 0.0)
    assert status_of(found, "PG-READY") == ("passed", 1.0)  # one of two tests skipped: the entry ran
    assert status_of(found, "LLM-LATENCY") == ("skipped", -1.0)
    assert status_of(found, "GPU-MEMORY") == ("not_applicable", -1.0)
    labels = frozenset({"target": "prod"}.items())
    assert found[("infragate_gate_open", labels)] == 0.0
    assert found[("infragate_run_duration_seconds", labels)] == 12.5
    assert found[("infragate_run_timestamp_seconds", labels)] == 1_800_000_000.0
    by_state = {dict(k[1])["state"]: v for k, v in found.items() if k[0] == "infragate_checks"}
    assert by_state == {"passed": 1, "failed": 1, "blocked": 1, "skipped": 1, "not_applicable": 1}
    full = [dict(k[1]) for k in found if k[0] == "infragate_check_status"]
    assert {"target": "prod", "check": "TLS-CERT-EXPIRY", "entry": "tls.endpoints/proxy"}.items() <= full[
        [f["check"] for f in full].index("TLS-CERT-EXPIRY")
    ].items()


def test_worst_state_of_one_entry_wins() -> None:
    merged = results_metrics.merge(
        [CheckResult("A", "critical", "e", "passed"), CheckResult("A", "critical", "e", "failed")]
    )
    assert [m.state for m in merged] == ["failed"]
    with pytest.raises(ValueError, match="unknown state"):
        CheckResult("A", "critical", "e", "red")


def test_textfile_is_replaced_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "infragate.prom"
    path.write_text("stale\n")
    results_metrics.write_textfile(path, RUN)
    assert os.listdir(tmp_path) == ["infragate.prom"]
    assert status_of(samples(path.read_text()), "TLS-CERT-EXPIRY") == ("failed", 0.0)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("127.0.0.1:9091", "http(s)://"),
        ("ftp://gw:9091", "http(s)://"),
        ("http://gw:99999", "out of range"),
        ("http://gw:9091/?x=1", "no query"),
    ],
)
def test_bad_pushgateway_urls_are_named(url: str, problem: str) -> None:
    found = results_metrics.url_problem(url)
    assert found is not None and problem in found


def test_credentials_never_shown() -> None:
    assert results_metrics.redact_url("https://bot:s3cret@gw.example:9091/") == "https://gw.example:9091/"
    assert results_metrics.url_problem("https://bot:s3cret@gw.example:9091") is None


@dataclass
class Sink:
    """What the Pushgateway stand-in received: (method, path, Authorization header, body)."""

    port: int
    requests: list[tuple[str, str, str, str]] = field(default_factory=list)


@contextmanager
def pushgateway_sink(status: int = 200) -> Iterator[Sink]:
    """A loopback stand-in for the Pushgateway's API: records PUT/POST/DELETE, answers STATUS."""
    received: list[tuple[str, str, str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            received.append((self.command, self.path, self.headers.get("Authorization") or "", body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_DELETE = do_PUT

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Sink(server.server_address[1], received)
    finally:
        server.shutdown()
        server.server_close()


def test_push_replaces_the_targets_group_with_basic_auth() -> None:
    with pushgateway_sink() as sink:
        results_metrics.push(f"http://bot:s3cret@127.0.0.1:{sink.port}", RUN, timeout=5)
        results_metrics.delete(f"http://127.0.0.1:{sink.port}", target="prod", timeout=5)
    (put, delete) = sink.requests
    assert put[:2] == ("PUT", "/metrics/job/infragate/target/prod")
    assert put[2] == "Basic " + base64.b64encode(b"bot:s3cret").decode()
    assert status_of(samples(put[3]), "TLS-CERT-EXPIRY") == ("failed", 0.0)
    assert delete[:3] == ("DELETE", "/metrics/job/infragate/target/prod", "")


# ---------------------------------------------------------------------------- the plugin, as a user runs it


def run_checks(tmp_path: Path, inventory: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`pytest tests_infra --host=t` against an inventory written into tmp_path."""
    (tmp_path / "t.toml").write_text(inventory)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "tests_infra",
        "--host=t",
        f"--inventory={tmp_path}",
        f"--junitxml={tmp_path / 'junit.xml'}",
        f"--html={tmp_path / 'report.html'}",
        "-p",
        "no:cacheprovider",
        "-q",
        *args,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAGATE_")}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def listener() -> Iterator[int]:
    """A port that accepts TCP connections (HOST-PORT-REACHABLE passes on it)."""
    with blackhole() as port:
        yield port


def _inventory(open_port: int, read_timeout: float = 3.0) -> str:
    # One check that passes (an open port) and one critical check that fails (Redis on a closed port).
    return (
        f"[target]\nconnect_timeout = 1.0\nread_timeout = {read_timeout}\n"
        f"[[host.ports]]\nname='web'\nhost='127.0.0.1'\nport={open_port}\n"
        f"[[redis]]\nname='cache'\nhost='127.0.0.1'\nport={closed_port()}\n"
    )


def _metric_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("infragate metrics:")]


def test_run_writes_file_and_pushes_the_same(tmp_path: Path, listener: int) -> None:
    prom = tmp_path / "node" / "infragate.prom"
    prom.parent.mkdir()
    with pushgateway_sink() as sink:
        result = run_checks(
            tmp_path,
            _inventory(listener),
            f"--metrics-file={prom}",
            f"--pushgateway=http://127.0.0.1:{sink.port}/",
        )
    assert result.returncode == 1, result.stdout[-2000:]
    found = samples(prom.read_text())
    assert status_of(found, "REDIS-PING")[1] == 0.0
    assert status_of(found, "HOST-PORT-REACHABLE") == ("passed", 1.0)
    assert found[("infragate_gate_open", frozenset({("target", "t")}))] == 0.0
    entries = {dict(k[1])["entry"] for k in found if k[0] == "infragate_check_status"}
    assert any(e.endswith("cache") for e in entries) and any(e.endswith("web") for e in entries)
    ((method, path, _, body),) = sink.requests
    assert (method, path) == ("PUT", "/metrics/job/infragate/target/t")
    pushed = samples(body)
    assert {k for k in pushed if k[0] == "infragate_check_status"} == {
        k for k in found if k[0] == "infragate_check_status"
    }
    lines = _metric_lines(result.stdout)
    assert len(lines) == 2 and "gate closed" in lines[0] and "job=infragate, target=t" in lines[1]


def test_xdist_run_names_the_same_checks_as_a_plain_run(tmp_path: Path, listener: int) -> None:
    # Under -n the workers collect, not the controller that writes the file (fixtures/workers.py): the
    # check ids that do not apply to the target must still be there, -1 with state not_applicable.
    found: dict[str, set[tuple[str, str]]] = {}
    for mode, args in (("plain", ()), ("xdist", ("-n", "2"))):
        prom = tmp_path / f"{mode}.prom"
        run_dir = tmp_path / mode
        run_dir.mkdir()
        result = run_checks(run_dir, _inventory(listener), f"--metrics-file={prom}", *args)
        assert result.returncode == 1, result.stdout[-2000:]
        found[mode] = {
            (dict(k[1])["check"], dict(k[1])["state"])
            for k in samples(prom.read_text())
            if k[0] == "infragate_check_status"
        }
    assert ("HOST-GPU-MEMORY", "not_applicable") in found["plain"]
    # The same check ids, and the same ones not applicable; not every verdict (HOST-CPU-LOAD reads this
    # machine's live load, which may differ between the two runs on a busy CI machine).
    for states in (found["plain"], found["xdist"]):
        assert ("REDIS-PING", "failed") in states and ("HOST-PORT-REACHABLE", "passed") in states
    assert {c for c, _ in found["xdist"]} == {c for c, _ in found["plain"]}
    assert {c for c, s in found["xdist"] if s == "not_applicable"} == {
        c for c, s in found["plain"] if s == "not_applicable"
    }


def test_dead_pushgateway_is_one_warning_and_the_same_outcome(tmp_path: Path, listener: int) -> None:
    prom = tmp_path / "infragate.prom"
    result = run_checks(
        tmp_path,
        _inventory(listener),
        f"--metrics-file={prom}",
        f"--pushgateway=http://127.0.0.1:{closed_port()}",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output
    (warning,) = [line for line in _metric_lines(result.stdout) if "WARNING" in line]
    assert "push to http://127.0.0.1:" in warning and "refused" in warning.lower()
    assert status_of(samples(prom.read_text()), "REDIS-PING")[1] == 0.0  # the file does not depend on it


def test_hung_pushgateway_costs_one_read_timeout(tmp_path: Path, listener: int) -> None:
    with blackhole() as hung:
        result = run_checks(
            tmp_path, _inventory(listener, read_timeout=1.0), f"--pushgateway=http://127.0.0.1:{hung}"
        )
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    (warning,) = _metric_lines(result.stdout)
    assert "WARNING" in warning and "timed out" in warning


def test_refused_push_names_the_gateways_answer(tmp_path: Path, listener: int) -> None:
    with pushgateway_sink(status=400) as sink:
        result = run_checks(tmp_path, _inventory(listener), f"--pushgateway=http://127.0.0.1:{sink.port}")
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    (warning,) = _metric_lines(result.stdout)
    assert "WARNING" in warning and "400" in warning


@pytest.mark.parametrize(
    ("option", "rule"),
    [
        ("--metrics-file={tmp}/missing/infragate.prom", "no such directory"),
        ("--metrics-file={tmp}/infragate.txt", "must end in .prom"),
        ("--pushgateway=gateway:9091", "http(s)://"),
        ("--pushgateway=http://bot:s3cret@gateway:70000", "out of range"),
    ],
)
def test_bad_option_stops_before_any_test(tmp_path: Path, listener: int, option: str, rule: str) -> None:
    result = run_checks(tmp_path, _inventory(listener), option.format(tmp=tmp_path))
    assert result.returncode == 4, result.stdout[-1000:] + result.stderr
    (line,) = [s for s in result.stderr.splitlines() if s.strip()]
    assert rule in line and option.split("=", 1)[0] in line
    assert "s3cret" not in result.stdout + result.stderr and "Traceback" not in result.stderr
