"""The restore drill against a throw-away PostgreSQL cluster: custom and plain dumps restore as a role
with CREATEDB only, counts are compared with the live tables, a cut dump fails, and no scratch remains."""

from __future__ import annotations

import gzip
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from infragate.probes import pg_restore
from selftest.unit.test_probe_datastores import PG_BIN, pg_port

__all__ = ["pg_port"]  # the module-scoped cluster fixture, shared with the datastore probes' tests

ROLE, DB = "drill_app", "drill_src"


def _admin(port: int, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=dbname, autocommit=True)


def _scratches(port: int) -> list[str]:
    with _admin(port) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'infragate\\_restore\\_%'")
        return [str(r[0]) for r in rows.fetchall()]


@pytest.fixture(scope="module")
def source(pg_port: int) -> Iterator[int]:
    """A database owned by a role that may CREATEDB but is no superuser, with an untrusted extension."""
    with _admin(pg_port) as conn:
        conn.execute(f"CREATE ROLE {ROLE} LOGIN CREATEDB")
        conn.execute(f"CREATE DATABASE {DB} OWNER {ROLE}")
    with _admin(pg_port, DB) as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements")  # a superuser's: the role cannot restore it
    with psycopg.connect(host="127.0.0.1", port=pg_port, user=ROLE, dbname=DB, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shop")
        conn.execute("CREATE TABLE shop.orders (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO shop.orders SELECT g, 'n' || g FROM generate_series(1, 30) g")
        conn.execute("CREATE TABLE users (id int PRIMARY KEY)")
        conn.execute("INSERT INTO users SELECT generate_series(1, 3)")
    yield pg_port


def _dump(port: int, out: Path, *options: str) -> Path:
    argv = [str(PG_BIN / "pg_dump"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", *options, DB]
    out.write_bytes(subprocess.run(argv, capture_output=True, check=True, timeout=60).stdout)
    return out


def _drill(port: int, backup: Path, tables: tuple[str, ...] = ()) -> pg_restore.RestoreDrill:
    return pg_restore.drill(
        "127.0.0.1",
        port,
        dbname=DB,
        user=ROLE,
        password=None,
        sslmode="disable",
        backup=backup,
        tables=tables,
        connect_timeout=3.0,
        budget_s=60.0,
    )


def test_custom_dump_restores_and_counts_match(source: int, tmp_path: Path) -> None:
    drill = _drill(source, _dump(source, tmp_path / "db.dump", "-Fc"))
    assert drill.restored, drill.error
    counts = {t.table: (t.restored, t.live) for t in drill.tables}
    assert counts == {"public.users": (3, 3), "shop.orders": (30, 30)}
    assert drill.skipped_extensions == ("pg_stat_statements",)
    assert drill.dropped and drill.scratch is not None and drill.scratch.startswith("infragate_restore_")
    assert _scratches(source) == []


def test_plain_gzipped_dump_restores(source: int, tmp_path: Path) -> None:
    plain = _dump(source, tmp_path / "db.sql")
    packed = tmp_path / "db.sql.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert pg_restore.dump_format(packed) == "plain.gz"
    drill = _drill(source, packed)
    assert drill.restored, drill.error
    assert {t.table: t.restored for t in drill.tables} == {"public.users": 3, "shop.orders": 30}
    assert drill.dropped and _scratches(source) == []


def test_live_rows_added_after_the_backup_show_as_drift(source: int, tmp_path: Path) -> None:
    backup = _dump(source, tmp_path / "db.dump", "-Fc")
    with _admin(source, DB) as conn:
        conn.execute("INSERT INTO users SELECT generate_series(4, 6)")
    try:
        drill = _drill(source, backup, tables=("users", "shop.missing"))
    finally:
        with _admin(source, DB) as conn:
            conn.execute("DELETE FROM users WHERE id > 3")
    by_name = {t.table: t for t in drill.tables}
    assert by_name["public.users"].describe() == "public.users: restored 3, live 6"
    assert by_name["public.users"].drift == pytest.approx(0.5)
    assert (
        by_name["shop.missing"].describe()
        == "shop.missing: missing from the backup, not in the live database"
    )


def test_cut_dump_fails_and_leaves_no_scratch(source: int, tmp_path: Path) -> None:
    whole = _dump(source, tmp_path / "db.dump", "-Fc").read_bytes()
    cut = tmp_path / "cut.dump"
    cut.write_bytes(whole[: len(whole) // 2])
    drill = _drill(source, cut)
    assert not drill.restored and "end of file" in (drill.error or "")
    assert drill.dropped and drill.drop_error is None
    assert _scratches(source) == []


def test_role_without_createdb_creates_nothing(source: int, tmp_path: Path) -> None:
    backup = _dump(source, tmp_path / "db.dump", "-Fc")
    with _admin(source) as conn:
        conn.execute(f"ALTER ROLE {ROLE} NOCREATEDB")
    try:
        drill = _drill(source, backup)
    finally:
        with _admin(source) as conn:
            conn.execute(f"ALTER ROLE {ROLE} CREATEDB")
    assert not drill.restored and drill.scratch is None
    assert "could not create a scratch database" in (drill.error or "")


def test_split_extensions_of_a_toc_listing() -> None:
    toc = [
        "; Archive created at 2026-12-01\n",
        "2; 3079 16386 EXTENSION - pg_stat_statements \n",
        "3354; 0 0 COMMENT - EXTENSION pg_stat_statements \n",
        "215; 1259 16444 TABLE public users app\n",
    ]
    kept, names = pg_restore.split_extensions(toc, pg_restore._TOC_EXTENSION)
    assert names == ["pg_stat_statements"] and kept == [toc[0], toc[3]]


def test_formats_by_first_bytes(tmp_path: Path) -> None:
    (tmp_path / "c").write_bytes(b"PGDMP\x01\x0e")
    (tmp_path / "p").write_text("--\n-- PostgreSQL database dump\n")
    (tmp_path / "d").mkdir()
    assert [pg_restore.dump_format(tmp_path / n) for n in "cpd"] == ["custom", "plain", "directory"]


def test_password_is_not_in_the_server_repr() -> None:
    server = pg_restore._Server("db", 5432, "app", "require", 3, password="s3cret-value")
    assert "s3cret-value" not in repr(server) and "s3cret-value" not in " ".join(server.tool_args())
    assert server.tool_env()["PGPASSWORD"] == "s3cret-value"
