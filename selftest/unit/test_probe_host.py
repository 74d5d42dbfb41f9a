"""Host, nginx, SQLite and Alembic probes against real local things: processes, sockets, files, nginx -t."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import testinfra

from infragate.probes import host, migrations, python_app, sqlite

LOCAL = testinfra.get_host("local://")


@pytest.fixture
def sleeper() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A process with a unique command line, waited for (no zombie)."""
    tag = f"infragate-{uuid.uuid4().hex}"
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", tag])
    yield child, tag
    child.kill()
    child.wait()


def test_processes_match_the_whole_command_line_not_the_probe_itself(sleeper: Any) -> None:
    child, tag = sleeper
    found = host.processes(LOCAL, rf"\S+ -c .* {tag}")
    assert [p.pid for p in found] == [child.pid]
    assert found[0].rss_kb > 0
    # A pattern that only appears somewhere in the line is no match: another instance's line could hold it.
    assert host.processes(LOCAL, tag) == ()


def test_process_match_bounds_and_which_matched(sleeper: Any) -> None:
    child, tag = sleeper
    match = host.process_match(LOCAL, rf".* {tag}", 2, None)
    assert not match.within and f"pid {child.pid}: " in match.described and tag in match.described
    assert host.process_match(LOCAL, rf".* {tag}", 1, 1).within


def test_processes_none_after_exit(sleeper: Any) -> None:
    child, tag = sleeper
    child.kill()
    child.wait()
    assert host.processes(LOCAL, rf".* {tag}") == ()
    assert "no process running" in host.process_match(LOCAL, rf".* {tag}").described


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
        sockets = host.listening(LOCAL)
    found = host.port_listeners(sockets, "127.0.0.1", port, None)
    assert found.listening and found.sockets[0].address == "127.0.0.1"
    owner = found.sockets[0].processes[0]
    assert owner.startswith("python") or owner == "pytest"
    assert host.port_listeners(sockets, "127.0.0.1", port, owner).owned
    other = host.port_listeners(sockets, "127.0.0.1", port, "nginx")
    assert not other.owned and f"127.0.0.1:{port} {owner}" in other.described
    assert not host.port_listeners(sockets, "127.0.0.2", port, None).listening


def test_file_stat_mode_and_missing(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("k")
    secret.chmod(0o644)
    stat = host.file_stat(LOCAL, str(secret))
    assert stat.exists and stat.mode == 0o644 and stat.world_readable
    assert not host.file_stat(LOCAL, str(tmp_path / "nope")).exists
    found = host.file_permissions(LOCAL, str(secret), owner=stat.owner, group=None, mode="0600", secret=True)
    assert found.wrong == ("mode", "world-readable")
    assert (
        host.file_permissions(LOCAL, str(secret), owner=None, group=None, mode="644", secret=False).wrong
        == ()
    )


def test_disk_usage_matches_shutil(tmp_path: Path) -> None:
    usage = host.disk_usage(LOCAL, str(tmp_path))
    expected = shutil.disk_usage(tmp_path)
    assert usage.error is None and usage.size_bytes == expected.total
    assert 0 <= usage.used_pct <= 100


def test_compile_sources_reports_syntax_errors(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text("x = 1\n")
    (tmp_path / "bad.py").write_text("def f(:\n")
    result = python_app.compile_sources(LOCAL, sys.executable, str(tmp_path))
    assert result.files == 2 and len(result.errors) == 1 and "bad.py:1" in result.errors[0]
    assert not list(tmp_path.rglob("*.pyc"))


def test_compile_sources_skips_virtualenvs_site_packages_and_excluded(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    for broken in ("venv/lib/x.py", "lib/site-packages/y.py", "vendor/z.py", "gen/old.py"):
        (tmp_path / broken).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / broken).write_text("def f(:\n")
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    result = python_app.compile_sources(
        LOCAL, sys.executable, str(tmp_path), ("vendor", str(tmp_path / "gen"))
    )
    assert (result.files, result.errors) == (1, ())
    assert {Path(p).name for p in result.skipped} == {"venv", "site-packages", "vendor", "gen"}


def test_missing_requirements(tmp_path: Path) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("pytest>=1\n# comment\ninfragate-absent-package>=1.0\npytest<1\n")
    missing = python_app.missing_requirements(LOCAL, sys.executable, str(reqs))
    assert missing.error is None
    assert missing.items[0] == "infragate-absent-package>=1.0" and missing.items[1].startswith(
        "pytest<1 (installed"
    )


def test_sqlite_integrity_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
        db.executemany("INSERT INTO users (email) VALUES (?)", [("x" * 200,) for _ in range(500)])
    db.close()
    assert sqlite.integrity(LOCAL, str(path)).ok
    schema = sqlite.schema(LOCAL, str(path), {"users": ["id", "email", "name"], "orders": []})
    assert schema.missing == ("users.name", "orders")
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
    assert migrations.script_heads(scripts) == migrations.ScriptHeads(("b2c3d4e5f6a7",))
    (scripts / "versions" / "c3_branch.py").write_text(
        'revision = "c3"\ndown_revision = "a1b2c3d4e5f6"\nbranch_labels = None\ndepends_on = None\n'
    )
    assert migrations.script_heads(scripts).heads == ("b2c3d4e5f6a7", "c3")
    assert migrations.script_heads(tmp_path / "absent").error is not None
