"""PostgreSQL restore drill (PG-RESTORE-DRILL, intrusive): the newest backup restores into a scratch
database and its tables hold as many rows as the live database's; the scratch database is dropped
afterwards, whatever happened.

Custom, tar and directory archives go through ``pg_restore``, plain SQL (``.sql``, ``.sql.gz``) through
``psql -v ON_ERROR_STOP=1``; both stop at the first error. Ownership, privileges, tablespaces and
publications are not restored (a drill proves the data comes back, not that every role exists here), and
extensions are created ahead where the role may (trusted ones), else reported as skipped: a table that
needs one then fails the restore with PostgreSQL's own words. The live counts are read in a read-only
session. Passwords go to the client tools through PGPASSWORD, never argv.
"""

from __future__ import annotations

import gzip
import math
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infragate.facts import Context, fact
from infragate.lazy import lazy_module
from infragate.probes._base import describe_error, is_unreachable

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from infragate.inventory import Postgres
    from infragate.probes.pg_stats import BackupFile
else:
    psycopg = lazy_module("psycopg")
    sql = lazy_module("psycopg.sql")

__all__ = ["RestoreDrill", "TableCount", "drill", "dump_format", "find_tool", "split_extensions"]

SCRATCH_PREFIX = "infragate_restore_"
# pg_restore -l lines: "<id>; <tableoid> <oid> EXTENSION - <name> <owner>" and its COMMENT.
_TOC_EXTENSION = re.compile(r"^\d+; \d+ \d+ (?:EXTENSION - |COMMENT - EXTENSION )(\S+)")
_SQL_EXTENSION = re.compile(r'^(?:CREATE EXTENSION (?:IF NOT EXISTS )?|COMMENT ON EXTENSION )"?([\w-]+)"?')
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


@dataclass(frozen=True)
class TableCount:
    """Rows of one table in the restored scratch database and in the live database (None: absent)."""

    table: str
    restored: int | None
    live: int | None

    @property
    def drift(self) -> float:
        """|live - restored| relative to the larger of the two (1.0 when the table is absent on a side)."""
        if self.restored is None or self.live is None:
            return 1.0
        return abs(self.live - self.restored) / max(self.live, self.restored, 1)

    def describe(self) -> str:
        """``public.users: restored 0, live 12``."""
        restored = "missing from the backup" if self.restored is None else f"restored {self.restored}"
        live = "not in the live database" if self.live is None else f"live {self.live}"
        return f"{self.table}: {restored}, {live}"


@dataclass(frozen=True)
class _Server:
    """Where to connect; the password stays out of repr (tracebacks with locals print reprs)."""

    host: str
    port: int
    user: str
    sslmode: str
    connect_timeout: int
    password: str | None = field(default=None, repr=False)

    def connect(self, dbname: str) -> psycopg.Connection[Any]:
        """An autocommit session on ``dbname``."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            sslmode=self.sslmode,
            connect_timeout=self.connect_timeout,
            dbname=dbname,
            autocommit=True,
        )

    def tool_args(self) -> list[str]:
        """Connection options of pg_restore and psql (no password: it goes through the environment)."""
        return ["--no-password", "-h", self.host, "-p", str(self.port), "-U", self.user]

    def tool_env(self) -> dict[str, str]:
        """The client tools' environment: PGPASSWORD there, never in argv (argv is visible in ps)."""
        env = {
            "PATH": "/usr/bin:/bin",
            "PGSSLMODE": self.sslmode,
            "PGCONNECT_TIMEOUT": str(self.connect_timeout),
        }
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env


@dataclass(frozen=True)
class RestoreDrill:
    """What restoring one backup into a scratch database showed, and whether the scratch is gone."""

    backup: Path | None
    scratch: str | None = None
    restored: bool = False
    error: str | None = None
    tables: tuple[TableCount, ...] = ()
    skipped_extensions: tuple[str, ...] = ()
    dropped: bool = False
    drop_error: str | None = None
    elapsed_s: float = 0.0
    unreachable: bool = False

    def drifting(self, max_drift: float) -> tuple[TableCount, ...]:
        """Tables whose restored row count is further than ``max_drift`` (a ratio) from the live one."""
        return tuple(t for t in self.tables if t.drift > max_drift)


def find_tool(name: str) -> str | None:
    """A PostgreSQL client binary on PATH, else the newest Debian cluster's."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    return str(candidates[-1]) if candidates else None


def dump_format(path: Path) -> str:
    """``directory``, ``custom``, ``tar``, ``plain.gz`` or ``plain``, by the file's first bytes."""
    if path.is_dir():
        return "directory"
    with path.open("rb") as fh:
        head = fh.read(512)
    if head.startswith(b"PGDMP"):
        return "custom"
    if head[257:262] == b"ustar":
        return "tar"
    return "plain.gz" if head.startswith(b"\x1f\x8b") else "plain"


def split_extensions(lines: Iterable[str], pattern: re.Pattern[str]) -> tuple[list[str], list[str]]:
    """Lines without the extension entries ``pattern`` matches, and those extensions' names (in order)."""
    kept: list[str] = []
    names: list[str] = []
    for line in lines:
        match = pattern.match(line)
        if match is None:
            kept.append(line)
        elif match[1] not in names:
            names.append(match[1])
    return kept, names


def _plain_lines(path: Path, fmt: str) -> Iterator[str]:
    opener: Any = gzip.open if fmt == "plain.gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        yield from fh


class _Failed(Exception):
    """A drill step failed; its message is the drill's error."""


def _last_line(stderr: bytes) -> str:
    lines = [ln for ln in stderr.decode(errors="replace").strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower() or "fatal" in ln.lower()]
    return (errors or lines or ["no output"])[-1].strip()[:300]


def _run(argv: list[str], env: dict[str, str], budget: float, what: str) -> bytes:
    try:
        done = subprocess.run(argv, capture_output=True, env=env, timeout=max(budget, 1.0), check=False)
    except subprocess.TimeoutExpired:
        raise _Failed(f"{what} timed out after {budget:.0f} s") from None
    if done.returncode != 0:
        raise _Failed(f"{what} failed (exit {done.returncode}): {_last_line(done.stderr)}")
    return done.stdout


def _count(conn: psycopg.Connection[Any], tables: Iterable[tuple[str, str]]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for schema, name in tables:
        exists = conn.execute(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
            (schema, name),
        ).fetchone()
        row = (
            conn.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(name))
            ).fetchone()
            if exists
            else None
        )
        out[f"{schema}.{name}"] = int(row[0]) if row else None
    return out


def _tables_of(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname <> ALL(%s)"
        " AND n.nspname NOT LIKE 'pg\\_%%' ORDER BY 1, 2",
        (list(_SYSTEM_SCHEMAS),),
    ).fetchall()
    return [(str(s), str(t)) for s, t in rows]


def _qualified(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    return (schema or "public", name)


def drill(
    host: str,
    port: int,
    *,
    dbname: str,
    user: str,
    password: str | None,
    sslmode: str = "prefer",
    backup: Path,
    tables: tuple[str, ...] = (),
    connect_timeout: float,
    budget_s: float,
) -> RestoreDrill:
    """Restore ``backup`` into a new scratch database, count rows there and live, drop the scratch."""
    start = time.monotonic()
    server = _Server(host, port, user, sslmode, max(2, math.ceil(connect_timeout)), password)
    try:
        admin = server.connect(dbname)
    except psycopg.Error as exc:
        return RestoreDrill(backup, error=describe_error(exc), unreachable=is_unreachable(exc))
    scratch = f"{SCRATCH_PREFIX}{time.strftime('%Y%m%d%H%M%S')}_{secrets.token_hex(3)}"
    try:
        with admin:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(scratch)))
    except psycopg.Error as exc:
        # Nothing was created, so nothing to drop: no scratch name in the result.
        return RestoreDrill(backup, error=f"could not create a scratch database: {describe_error(exc)}")
    restored, error = False, None
    counts: tuple[TableCount, ...] = ()
    skipped: tuple[str, ...] = ()
    try:
        skipped = _restore(server, scratch, backup, budget_s - (time.monotonic() - start))
        restored = True
        counts = _compare(server, dbname, scratch, tables)
    except _Failed as exc:
        error = str(exc)
    except psycopg.Error as exc:
        error = describe_error(exc)
    finally:
        dropped, drop_error = _drop(server, dbname, scratch)
    return RestoreDrill(
        backup, scratch, restored, error, counts, skipped, dropped, drop_error, time.monotonic() - start
    )


def _create_extensions(server: _Server, scratch: str, names: list[str]) -> tuple[str, ...]:
    """Create ``names`` in the scratch database where the role may; the ones it may not, by name."""
    skipped: list[str] = []
    if not names:
        return ()
    with server.connect(scratch) as conn:
        for name in names:
            try:
                conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name)))
            except psycopg.Error:
                skipped.append(name)
    return tuple(skipped)


def _restore(server: _Server, scratch: str, backup: Path, budget: float) -> tuple[str, ...]:
    fmt = dump_format(backup)
    env, target = server.tool_env(), server.tool_args()
    with tempfile.TemporaryDirectory(prefix="infragate-restore-") as tmp:
        if fmt in ("custom", "tar", "directory"):
            pg_restore = find_tool("pg_restore")
            if pg_restore is None:
                raise _Failed("pg_restore not found (install postgresql-client)")
            toc = _run([pg_restore, "-l", str(backup)], env, budget, "pg_restore -l").decode(errors="replace")
            kept, extensions = split_extensions(toc.splitlines(keepends=True), _TOC_EXTENSION)
            listing = Path(tmp) / "toc.list"
            listing.write_text("".join(kept))
            skipped = _create_extensions(server, scratch, extensions)
            argv = [pg_restore, "--exit-on-error", "--no-owner", "--no-privileges", "--no-tablespaces"]
            argv += ["--no-publications", "--no-subscriptions", *target, "-d", scratch, "-L", str(listing)]
            _run([*argv, str(backup)], env, budget, "pg_restore")
            return skipped
        psql = find_tool("psql")
        if psql is None:
            raise _Failed("psql not found (install postgresql-client)")
        try:
            kept, extensions = split_extensions(_plain_lines(backup, fmt), _SQL_EXTENSION)
        except (OSError, EOFError) as exc:
            raise _Failed(f"could not read {backup.name}: {describe_error(exc)}") from None
        script = Path(tmp) / "restore.sql"
        script.write_text("".join(kept))
        skipped = _create_extensions(server, scratch, extensions)
        argv = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", *target, "-d", scratch, "-f", str(script)]
        _run(argv, env, budget, "psql")
        return skipped


def _compare(server: _Server, dbname: str, scratch: str, tables: tuple[str, ...]) -> tuple[TableCount, ...]:
    with server.connect(scratch) as conn:
        wanted = [_qualified(t) for t in tables] or _tables_of(conn)
        restored = _count(conn, wanted)
    with server.connect(dbname) as conn:
        conn.execute("SET default_transaction_read_only = on")
        live = _count(conn, wanted)
    return tuple(TableCount(name, count, live[name]) for name, count in restored.items())


def _drop(server: _Server, dbname: str, scratch: str) -> tuple[bool, str | None]:
    """DROP the scratch database (forcing out sessions a killed client left, PostgreSQL 13+), then
    confirm it is gone from pg_database."""
    try:
        with server.connect(dbname) as conn:
            force = sql.SQL(" WITH (FORCE)") if conn.info.server_version >= 130000 else sql.SQL("")
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)) + force)
            left = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (scratch,)).fetchone()
    except psycopg.Error as exc:
        return False, describe_error(exc)
    return left is None, None if left is None else "still listed in pg_database"


@fact()
def restore_drill(ctx: Context, server: Postgres, budget_s: float) -> RestoreDrill:
    """The newest declared backup restored into a scratch database (created, compared, dropped)."""
    newest: BackupFile = ctx.get("newest_backup", server)
    if newest.path is None:
        return RestoreDrill(None, error=f"no backup in {newest.directory}: {newest.error}")
    assert server.backup is not None
    return drill(
        server.host,
        server.port,
        dbname=server.dbname,
        user=server.user,
        password=server.password_env.value if server.password_env else None,
        sslmode=server.sslmode,
        backup=newest.path,
        tables=server.backup.tables,
        connect_timeout=ctx.timeout.connect,
        budget_s=budget_s,
    )
