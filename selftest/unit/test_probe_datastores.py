"""The data store probes against real loopback servers: a throw-away PostgreSQL cluster and redis-server."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from infragate.probes import pg_stats, redis_info
from selftest.unit.servers import closed_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


# ---------------------------------------------------------------------------- Redis


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A redis-server on loopback with a password and a 16 MB cap."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed")
    port, folder = _free_port(), tmp_path_factory.mktemp("redis")
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)]
    argv += ["--requirepass", "secret-pw", "--maxmemory", "16mb", "--maxmemory-policy", "noeviction"]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_redis_snapshot_reads_info_config_and_pings(redis_port: int) -> None:
    got = redis_info.snapshot("127.0.0.1", redis_port, password="secret-pw", samples=20, timeout=2.0)
    assert got.ok, got.error
    assert got.number("maxmemory") == 16 * 2**20
    assert got.text("maxmemory-policy") == "noeviction"
    assert got.text("save") == ""
    assert got.text("rdb_last_bgsave_status") == "ok"
    assert len(got.ping_ms) == 20 and all(ms > 0 for ms in got.ping_ms)


def test_redis_snapshot_sees_a_blocked_client(redis_port: int) -> None:
    with socket.create_connection(("127.0.0.1", redis_port)) as sock:
        sock.sendall(b"AUTH secret-pw\r\n")
        assert sock.recv(16).startswith(b"+OK")
        sock.sendall(b"BLPOP unit:queue 0\r\n")
        deadline = time.monotonic() + 5
        got = redis_info.snapshot("127.0.0.1", redis_port, password="secret-pw", samples=1, timeout=2.0)
        while got.number("blocked_clients") < 1 and time.monotonic() < deadline:
            got = redis_info.snapshot("127.0.0.1", redis_port, password="secret-pw", samples=1, timeout=2.0)
    assert got.number("blocked_clients") == 1
    assert got.number("connected_clients") >= 2


def test_redis_wrong_password_is_an_error_not_unreachable(redis_port: int) -> None:
    got = redis_info.snapshot("127.0.0.1", redis_port, password="wrong", samples=1, timeout=2.0)
    assert not got.ok and not got.unreachable
    assert "wrong" not in (got.error or "").split()  # the error names the cause, not the password


def test_redis_closed_port_is_unreachable() -> None:
    got = redis_info.snapshot("127.0.0.1", closed_port(), samples=1, timeout=1.0)
    assert not got.ok and got.unreachable


# ---------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def pg_port() -> Iterator[int]:
    """A throw-away PostgreSQL 15 cluster on loopback (trust auth), run as the postgres user."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 server binaries not installed")
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user")
    if os.geteuid() not in (0, owner.pw_uid):
        pytest.skip("needs root or the postgres user to run initdb")
    # Not under pytest's basetemp: that is private to the current user and initdb runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="infragate-unit-pg-"))
    root.chmod(0o755)
    data, port = root / "data", _free_port()

    def as_postgres(*argv: str) -> subprocess.CompletedProcess[bytes]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *argv], capture_output=True, check=True, cwd=root, timeout=60)

    data.mkdir()
    os.chown(data, owner.pw_uid, owner.pw_gid)
    as_postgres(str(PG_BIN / "initdb"), "--no-sync", "-D", str(data), "-U", "postgres", "--auth=trust")
    opts = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={data} -c fsync=off"
    as_postgres(str(PG_BIN / "pg_ctl"), "start", "-w", "-D", str(data), "-o", opts, "-l", str(data / "log"))
    try:
        yield port
    finally:
        as_postgres(str(PG_BIN / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate")
        shutil.rmtree(root, ignore_errors=True)


def _snapshot(port: int, **kwargs: object) -> pg_stats.PgStats:
    return pg_stats.snapshot(
        "127.0.0.1",
        port,
        dbname="postgres",
        user="postgres",
        password=None,
        timeout=5.0,
        **kwargs,  # type: ignore[arg-type]
    )


def _conn(port: int, *, autocommit: bool = True) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host="127.0.0.1", port=port, dbname="postgres", user="postgres", autocommit=autocommit
    )


def test_pg_snapshot_reads_counters_and_settings(pg_port: int) -> None:
    got = _snapshot(pg_port, settings=("max_connections", "no_such.setting"))
    assert got.ok, got.error
    assert got.max_connections == 100 and got.backends >= 1
    assert got.settings == {"max_connections": "100", "no_such.setting": None}
    assert not got.statements_installed  # not preloaded in this cluster
    assert got.database_bytes > 1_000_000


def test_pg_snapshot_sees_idle_transaction_and_lock_wait(pg_port: int) -> None:
    with _conn(pg_port) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS unit_lock (id int PRIMARY KEY, v int)")
        setup.execute("INSERT INTO unit_lock VALUES (1, 0) ON CONFLICT DO NOTHING")
    holder = _conn(pg_port, autocommit=False)
    holder.execute("UPDATE unit_lock SET v = v + 1 WHERE id = 1")
    holder_pid = holder.info.backend_pid
    waiter = subprocess.Popen(
        [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres", "-d", "postgres",
         "-c", "UPDATE unit_lock SET v = v + 1 WHERE id = 1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        got = _snapshot(pg_port)
        while not got.lock_waits and time.monotonic() < deadline:
            time.sleep(0.1)
            got = _snapshot(pg_port)
        assert [s.pid for s in got.idle_in_transaction] == [holder_pid]
        (wait,) = got.lock_waits
        assert wait.blocking_pids == (holder_pid,)
        assert "UPDATE unit_lock" in wait.query and "UPDATE unit_lock" in (wait.blocking_query or "")
        assert any(s.query.startswith("UPDATE unit_lock") for s in got.active_queries)
    finally:
        holder.rollback()
        holder.close()
        waiter.wait(timeout=10)


def test_pg_snapshot_counts_dead_tuples_and_unused_indexes(pg_port: int) -> None:
    with _conn(pg_port) as conn:
        conn.execute("CREATE TABLE unit_dead (id int) WITH (autovacuum_enabled = false)")
        conn.execute("INSERT INTO unit_dead SELECT generate_series(1, 4000)")
        conn.execute("DELETE FROM unit_dead WHERE id <= 3000")
        conn.execute("CREATE INDEX unit_dead_id ON unit_dead (id)")  # after the DELETE: never scanned
    got = _snapshot(pg_port)
    (table,) = [t for t in got.tables if t.table == "public.unit_dead"]
    assert (table.live, table.dead) == (1000, 3000) and table.ratio == 3.0
    assert table.since_vacuum_s is None
    assert [i.index for i in got.unused_indexes if i.table == "public.unit_dead"] == ["public.unit_dead_id"]


def test_pg_deadlock_counter_readable(pg_port: int) -> None:
    count = pg_stats.deadlocks(
        "127.0.0.1", pg_port, dbname="postgres", user="postgres", password=None, timeout=5.0
    )
    assert count == _snapshot(pg_port).deadlocks


def test_pg_closed_port_is_unreachable() -> None:
    got = pg_stats.snapshot("127.0.0.1", closed_port(), dbname="x", user="x", password=None, timeout=2.0)
    assert not got.ok and got.unreachable


def test_pg_schema_dump_writes_ddl(pg_port: int) -> None:
    if pg_stats.find_pg_dump() is None:
        pytest.skip("pg_dump not installed")
    got = pg_stats.schema_dump(
        "127.0.0.1", pg_port, dbname="postgres", user="postgres", password=None, timeout=5.0
    )
    assert got.ok, got.error
    assert got.size_bytes > 0


def test_pg_schema_dump_of_missing_database_fails_with_reason(pg_port: int) -> None:
    if pg_stats.find_pg_dump() is None:
        pytest.skip("pg_dump not installed")
    got = pg_stats.schema_dump(
        "127.0.0.1", pg_port, dbname="nope", user="postgres", password=None, timeout=5.0
    )
    assert not got.ok and "nope" in (got.error or "")


# ---------------------------------------------------------------------------- backup files


def test_newest_backup_is_the_latest_mtime(tmp_path: Path) -> None:
    old, new = tmp_path / "db-1.dump", tmp_path / "db-2.dump"
    old.write_bytes(b"x" * 10)
    new.write_bytes(b"y" * 20)
    past = time.time() - 7200
    os.utime(old, (past, past))
    got = pg_stats.newest_backup(tmp_path, "db-*.dump")
    assert got.path == new and got.size_bytes == 20 and got.age_hours is not None and got.age_hours < 0.1


def test_newest_backup_reports_empty_and_missing_dirs(tmp_path: Path) -> None:
    assert pg_stats.newest_backup(tmp_path, "*.dump").error == "no file matching '*.dump'"
    assert pg_stats.newest_backup(tmp_path / "absent").error == "directory does not exist"
