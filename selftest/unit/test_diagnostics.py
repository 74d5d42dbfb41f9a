"""Issue 13 item 4, offline: diagnostics as data (allow-list, placeholders), their bounds and redaction, and
a real pytest run whose failing check carries them in its one JUnit <system-out> (junit_logging=all) while
its passing check carries none."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import testinfra

from fixtures.diagnostics import SECTION, _merge_system_out
from infragate.catalog import load_catalog
from infragate.diagnostics import (
    DiagnosticError,
    Limits,
    Session,
    parse_diagnostics,
    redact_output,
    render,
    secret_values,
)
from infragate.inventory._validate import Secret

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------- data


def test_catalog_diagnostics_parse_and_cover_each_family() -> None:
    catalog = load_catalog()
    kinds = {d.kind for check in catalog for d in check.diagnostics}
    with_diagnostics = {check.id for check in catalog if check.diagnostics}
    # nginx/HTTP, TLS, PostgreSQL, Redis and host services/logs each get the runbook's look-around.
    for check_id in (
        "HTTP-HEALTH",
        "TLS-CERT-EXPIRY",
        "PG-LONG-QUERIES",
        "REDIS-MEMORY",
        "HOST-SERVICE-ACTIVE",
    ):
        assert check_id in with_diagnostics
    assert {"log_tail", "nginx_config", "tls_peer", "sql", "redis_info", "journal", "listeners"} <= kinds


@pytest.mark.parametrize(
    ("raw", "word"),
    [
        ([{"kind": "command", "run": "rm -rf /"}], "not one of"),
        ([{"kind": "log_tail", "path": "/var/log/x; rm -rf /", "rm": 1}], "unknown keys"),
        ([{"kind": "log_tail", "path": "{target.secret}"}], "placeholders"),
        ([{"kind": "log_tail", "path": "/x", "lines": 100000}], "lines"),
        ([{"kind": "sql", "query": "DELETE FROM users"}], "one SELECT"),
        ([{"kind": "sql", "query": "SELECT 1; DROP TABLE users"}], "one SELECT"),
        ([{"kind": "redis_info", "section": "all\r\nFLUSHALL"}], "section"),
        ({"kind": "journal"}, "must be a list"),
    ],
)
def test_only_allow_listed_read_only_kinds(raw: Any, word: str) -> None:
    with pytest.raises(DiagnosticError, match=word):
        parse_diagnostics(raw, "X")


# ---------------------------------------------------------------------------------------- redaction


def test_redaction_of_inventory_secrets_and_credential_shaped_text() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl"
    text = "\n".join(
        [
            "connected with s3cr3t-value-42 as app",
            "DATABASE_URL=postgresql://app:pgpass-99@db:5432/app",
            'settings: {"api_key": "k-123456", "password": "hunter2"}',
            "GET /ws?token=abcdef123456 HTTP/1.1",
            "Authorization: Bearer abcdefghijklmnop",
            "ALTER ROLE app PASSWORD 'rolepass'",
            "requirepass redispass",
            f"refresh {jwt}",
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----",
            "an ordinary line with status 502",
        ]
    )
    out = redact_output(text, ["s3cr3t-value-42"])
    for leaked in (
        "s3cr3t-value-42",
        "pgpass-99",
        "k-123456",
        "hunter2",
        "abcdef123456",
        "abcdefghijklmnop",
        "rolepass",
        "redispass",
        jwt,
        "MIIEvQIBADANBg",
    ):
        assert leaked not in out
    assert "an ordinary line with status 502" in out
    assert "postgresql://app:***@db:5432/app" in out


@dataclass(frozen=True)
class _Db:
    name: str
    password_env: Secret | None


@dataclass(frozen=True)
class _Target:
    name: str
    postgres: tuple[_Db, ...]
    thresholds: dict[str, Any]
    host: Any = None
    proxy: Any = None


def test_secret_values_walks_the_inventory() -> None:
    target = _Target(
        "t", (_Db("a", Secret("A", "value-a")), _Db("b", None)), {"x": {"y": Secret("B", "value-b")}}
    )
    assert set(secret_values(target)) == {"value-a", "value-b"}


# ---------------------------------------------------------------------------------------- running


@dataclass(frozen=True)
class _Log:
    name: str
    path: Path


@dataclass(frozen=True)
class _Host:
    logs: tuple[_Log, ...] = ()
    transport: str = "local://"


class _Counting:
    """The local testinfra host, counting commands (and optionally hanging like a dead ssh link)."""

    def __init__(self, hang_s: float = 0.0) -> None:
        self.calls = 0
        self.hang_s = hang_s
        self.host = testinfra.get_host("local://")

    def run(self, command: str, *args: str) -> Any:
        self.calls += 1
        if self.hang_s:
            time.sleep(self.hang_s)
        return self.host.run(command, *args)


def _target(tmp_path: Path, lines: list[str]) -> tuple[_Target, _Log]:
    log = _Log("app", tmp_path / "app.log")
    log.path.write_text("".join(f"{line}\n" for line in lines))
    return _Target("t", (), {}, host=_Host((log,))), log


def test_log_tail_bounded_redacted_and_run_once(tmp_path: Path) -> None:
    lines = [f"line {i}" for i in range(100)] + ["login ok password=hunter2", "using sekrit-token-value"]
    target, log = _target(tmp_path, lines)
    session = Session(secrets=("sekrit-token-value",), limits=Limits(max_lines=10))
    runner = _Counting()
    specs = parse_diagnostics([{"kind": "log_tail", "path": "{entry.path}", "lines": 50}], "X")
    first = session.collect(specs, log, target, lambda: runner, who="HOST-LOG-ERRORS t/app")
    (out,) = first
    assert out.title == f"tail -n 50 -- {log.path}"
    assert out.text.splitlines()[-1] == "using ***"
    assert "password=***" in out.text and "hunter2" not in out.text
    assert len(out.text.splitlines()) == 10 and "truncated: last 10 of 50 lines" in out.note
    again = session.collect(specs, log, target, lambda: runner, who="HOST-LOG-SIZE t/app")
    assert runner.calls == 1 and "output taken for HOST-LOG-ERRORS t/app" in again[0].note
    text = render(first, "[HOST-LOG-ERRORS] t/app")
    assert text.startswith("[HOST-LOG-ERRORS] t/app (read-only diagnostics, secrets redacted)\n$ tail -n 50")


def test_placeholders_never_reach_a_command_as_options_or_from_nowhere(tmp_path: Path) -> None:
    target, _ = _target(tmp_path, ["x"])
    session = Session()
    runner = _Counting()
    dashed = _Log("evil", Path("-n1000 /etc/shadow"))
    specs = parse_diagnostics(
        [{"kind": "log_tail", "path": "{entry.path}"}, {"kind": "journal", "unit": "{entry.unit}"}], "X"
    )
    outs = session.collect(specs, dashed, target, lambda: runner)
    assert [o.note for o in outs] == [
        "not run: '-n1000 /etc/shadow' starts with '-'",
        "not run: the entry has no unit",
    ]
    assert runner.calls == 0
    # Without [host] a host-side diagnostic would read the machine pytest runs on: not run.
    outs = Session().collect(specs[:1], _Log("a", tmp_path / "app.log"), _Target("t", (), {}), lambda: runner)
    assert outs[0].note == "not run: the target declares no [host] transport" and runner.calls == 0


def test_listeners_and_missing_tool_and_hard_deadline(tmp_path: Path) -> None:
    target, _ = _target(tmp_path, ["x"])

    @dataclass(frozen=True)
    class Port:
        name: str
        url: str

    # A port nothing listens on (the URL's port: placeholders fall back to the URL's host and port).
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    spec = parse_diagnostics([{"kind": "listeners", "port": "{entry.port}"}], "X")
    (out,) = Session().collect(spec, Port("api", f"http://127.0.0.1:{free}/health"), target, _Counting)
    assert out.text == f"nothing listens on TCP port {free}"

    @dataclass(frozen=True)
    class Unit:
        name: str
        container: str

    docker = parse_diagnostics([{"kind": "docker_logs", "container": "{entry.container}"}], "X")
    (out,) = Session().collect(docker, Unit("api", "no-such-container-infragate"), target, _Counting)
    # No docker here (127), or a docker without that container: the note says so, the run goes on.
    assert "docker: command not found on the host" in out.note or "exit status" in out.note

    tail = parse_diagnostics([{"kind": "log_tail", "path": "declared"}], "X")
    hung = Session(limits=Limits(each_s=0.5))
    (out,) = hung.collect(tail, None, target, lambda: _Counting(hang_s=3.0))
    assert out.note == "timed out after 0.5 s" and out.text == ""
    # The next host-side diagnostic of the run is not attempted through the hung transport.
    (out,) = hung.collect(docker, Unit("api", "other"), target, lambda: _Counting(hang_s=3.0))
    assert out.note.startswith("not run: the host transport hung (tail -n 50")


def test_merge_keeps_one_system_out() -> None:
    case = ET.Element("testcase")
    theirs = ET.SubElement(case, "system-out")
    theirs.text = "captured\n"
    ours = ET.Element("system-out")
    ours.text = f" {SECTION} ".center(80, "-") + "\nfindings\n"
    case.insert(0, ours)
    _merge_system_out(case)
    (only,) = case.findall("system-out")
    assert only.text is not None and only.text.startswith("captured\n") and only.text.endswith("findings\n")


# ---------------------------------------------------------------------------------------- a real run

INVENTORY = """
[target]
description = "diagnostics self-test"

[host]
transport = "local://"
logrotate_configs = ["{dir}/logrotate.d"]

[[host.logs]]
name = "app"
path = "{dir}/app.log"

[[redis]]
name = "cache"
host = "127.0.0.1"
port = 1
password_env = "DIAG_SELFTEST_REDIS_PASSWORD"
"""


# junit_logging=all (pytest writes its own system-out: ours is merged into it). The plain case and xdist
# (the worker runs the diagnostics, the controller writes the XML) run in selftest/e2e/test_diagnostics.py:
# an xdist start-up here cost 45 s on the shared 2-core machine.
def test_failing_check_carries_diagnostics_in_junit_passing_none(tmp_path: Path) -> None:
    secret = "diag-selftest-secret-7f3a"
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    (tmp_path / "app.log").write_text(
        # The secrets sit on INFO lines: HOST-LOG-ERRORS's own message quotes error lines unredacted
        # (its probe's business); the tail around them is this plugin's, and must redact them.
        f"{stamp} INFO connected (auth {secret})\n{stamp} ERROR upstream refused\n"
        f"{stamp} INFO db password=pw-1234\n"
    )
    (tmp_path / "logrotate.d").mkdir()
    (tmp_path / "logrotate.d" / "app").write_text(f"{tmp_path}/app.log {{\n  daily\n}}\n")
    (tmp_path / "diag.toml").write_text(INVENTORY.replace("{dir}", str(tmp_path)))
    env = {**os.environ, "DIAG_SELFTEST_REDIS_PASSWORD": secret}
    env.pop("INFRAGATE_HOST", None)
    junit = tmp_path / "junit.xml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests_infra",
            "--host=diag",
            f"--inventory={tmp_path}",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
            "-k",
            "HOST-LOG-ERRORS or test_log_below_size_limit",
            "-o",
            "junit_logging=all",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    cases = {case.get("name", ""): case for case in ET.parse(junit).iter("testcase")}
    failing = next(c for n, c in cases.items() if "HOST-LOG-ERRORS" in n)
    passing = next(c for n, c in cases.items() if "test_log_below_size_limit" in n)
    assert failing.find("failure") is not None and passing.find("failure") is None
    outs = failing.findall("system-out")
    assert len(outs) == 1, [o.text for o in outs]
    text = outs[0].text or ""
    assert f"$ tail -n 30 -- {tmp_path}/app.log" in text
    assert "INFO connected (auth ***)" in text and "password=***" in text and "ERROR upstream refused" in text
    assert not [o.text for o in passing.findall("system-out") if SECTION in (o.text or "")]
    assert SECTION in proc.stdout  # the terminal shows the section under the failure
    assert secret not in junit.read_text() + proc.stdout + proc.stderr


def test_fleet_diagnostics_title_names_the_host(tmp_path: Path) -> None:
    # Two hosts on this machine, each with a disk over its (tiny) threshold: each failure's diagnostics
    # say which host they describe, like its failure message does.
    hosts = "".join(
        f'[[hosts]]\nname = "{name}"\ntransport = "local://"\n'
        f'[[hosts.disks]]\nname = "root"\npath = "/"\nmax_used_pct = 0.001\n'
        for name in ("web-1", "web-2")
    )
    (tmp_path / "fleet.toml").write_text(hosts)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAGATE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests_infra", "--host=fleet", f"--inventory={tmp_path}",
         "-p", "no:cacheprovider", "-k", "HOST-DISK-FREE"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    for name in ("web-1", "web-2"):
        assert f"[HOST-DISK-FREE] fleet/{name}/root (read-only diagnostics" in proc.stdout
    # The same command on another host is another machine's answer: run again, not copied from web-1.
    assert proc.stdout.count("$ df -hP -- /") == 2 and "output taken for" not in proc.stdout
