"""Host, nginx, SQLite and Alembic probes against real local things: processes, sockets, files, nginx -t."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import testinfra

from infragate.probes import host, migrations, nginx, sqlite

LOCAL = testinfra.get_host("local://")


@pytest.fixture
def sleeper() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A process with a unique command line, waited for (no zombie)."""
    tag = f"infragate-{uuid.uuid4().hex}"
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", tag])
    yield child, tag
    child.kill()
    child.wait()


def test_processes_match_command_line_not_the_probe_itself(sleeper: Any) -> None:
    child, tag = sleeper
    found = host.processes(LOCAL, tag)
    assert [p.pid for p in found] == [child.pid]
    assert found[0].rss_kb > 0


def test_processes_none_after_exit(sleeper: Any) -> None:
    child, tag = sleeper
    child.kill()
    child.wait()
    assert host.processes(LOCAL, tag) == ()


def test_pidfile_live_and_stale(sleeper: Any, tmp_path: Path) -> None:
    child, _ = sleeper
    pidfile = tmp_path / "x.pid"
    pidfile.write_text(f"{child.pid}\n")
    assert host.pidfile_process(LOCAL, str(pidfile))[1] is not None
    child.kill()
    child.wait()
    pid, info, why = host.pidfile_process(LOCAL, str(pidfile))
    assert (pid, info) == (child.pid, None) and "stale pid file" in why
    assert "unreadable" in host.pidfile_process(LOCAL, str(tmp_path / "absent.pid"))[2]


def test_listening_names_the_owner() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        found = [s for s in host.listening(LOCAL) if s.port == port]
    assert found and found[0].address == "127.0.0.1"
    assert any(name.startswith("python") or name == "pytest" for name in found[0].processes)


def test_file_stat_mode_and_missing(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("k")
    secret.chmod(0o644)
    stat = host.file_stat(LOCAL, str(secret))
    assert stat.exists and stat.mode == 0o644 and stat.world_readable
    assert not host.file_stat(LOCAL, str(tmp_path / "nope")).exists


def test_disk_usage_matches_shutil(tmp_path: Path) -> None:
    usage = host.disk_usage(LOCAL, str(tmp_path))
    expected = shutil.disk_usage(tmp_path)
    assert usage.error is None and usage.size_bytes == expected.total
    assert 0 <= usage.used_pct <= 100


def test_scan_log_counts_only_the_window() -> None:
    now = datetime(2026, 11, 28, 7, 0, 0)
    text = (
        "2026-11-28 06:00:00,000 ERROR old failure\n"
        "2026-11-28 06:55:00,000 ERROR recent failure\n"
        "Traceback line without a stamp ERROR\n"
        "2026/11/28 06:58:00 [error] 12#12: upstream refused\n"
        "2026-11-28 06:59:00,000 INFO fine\n"
    )
    scan = host.scan_log(text, r"\bERROR\b|\[error\]", now=now, window=timedelta(minutes=15))
    assert scan.matches == 3
    assert "upstream refused" in scan.examples[-1]


def test_parse_env_and_lookup() -> None:
    values = host.parse_env("# c\nexport A=1\nB='two words'\nC=\nD=x # note\n")
    assert values == {"A": "1", "B": "two words", "C": "", "D": "x"}
    assert host.lookup({"a": {"b": 3}}, "a.b") == (True, 3)
    assert host.lookup({"a": {}}, "a.b") == (False, None)


def test_compile_sources_reports_syntax_errors(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text("x = 1\n")
    (tmp_path / "bad.py").write_text("def f(:\n")
    result = host.compile_sources(LOCAL, sys.executable, str(tmp_path))
    assert result.files == 2 and len(result.errors) == 1 and "bad.py:1" in result.errors[0]
    assert not list(tmp_path.rglob("*.pyc"))


def test_missing_requirements(tmp_path: Path) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("pytest>=1\n# comment\ninfragate-absent-package>=1.0\npytest<1\n")
    missing, why = host.missing_requirements(LOCAL, sys.executable, str(reqs))
    assert why is None
    assert missing[0] == "infragate-absent-package>=1.0" and missing[1].startswith("pytest<1 (installed")


NGINX_CONF = """
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{}}
http {{
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    access_log off;
    server {{
        listen 127.0.0.1:1;
        location /ws {{
            proxy_pass http://127.0.0.1:2;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_buffering off;
            proxy_read_timeout 1h;
        }}
        {extra}
    }}
}}
"""


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")
@pytest.mark.parametrize("extra", ["", "bogus_directive on;"], ids=["valid", "invalid"])
def test_nginx_test_and_location(tmp_path: Path, extra: str) -> None:
    (tmp_path / "tmp").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=tmp_path, extra=extra))
    result = nginx.config_test(LOCAL, "nginx", str(conf), str(tmp_path))
    assert result.ok == (extra == "")
    loc = nginx.location(LOCAL, "nginx", str(conf), "/ws", str(tmp_path))
    if extra:
        assert not result.ok and "bogus_directive" in result.output and not loc.found
    else:
        assert loc.values("proxy_http_version") == ["1.1"]
        assert 'Connection "upgrade"' in loc.values("proxy_set_header")
        assert nginx.parse_duration_s(loc.values("proxy_read_timeout")[0]) == 3600


def test_sqlite_integrity_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
        db.executemany("INSERT INTO users (email) VALUES (?)", [("x" * 200,) for _ in range(500)])
    db.close()
    assert sqlite.integrity(LOCAL, str(path)).ok
    schema = sqlite.schema(LOCAL, str(path))
    assert schema.missing({"users": ["id", "email"], "orders": []}) == ["orders"]
    with path.open("r+b") as handle:
        handle.seek(path.stat().st_size // 2)
        handle.write(b"\xa5" * 4096)
    assert not sqlite.integrity(LOCAL, str(path)).ok
    assert not sqlite.integrity(LOCAL, str(tmp_path / "absent.db")).ok
    assert not (tmp_path / "absent.db").exists()


def test_alembic_script_heads(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "stack" / "migrations"
    scripts = tmp_path / "migrations"
    shutil.copytree(source, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    assert migrations.script_heads(scripts) == (("b2c3d4e5f6a7",), None)
    (scripts / "versions" / "c3_branch.py").write_text(
        'revision = "c3"\ndown_revision = "a1b2c3d4e5f6"\nbranch_labels = None\ndepends_on = None\n'
    )
    assert migrations.script_heads(scripts)[0] == ("b2c3d4e5f6a7", "c3")
    assert migrations.script_heads(tmp_path / "absent")[1] is not None
