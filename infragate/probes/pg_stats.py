"""PostgreSQL health statistics: sessions, locks, counters, tables and settings, read in one session.

Read-only queries on the statistics views (the role needs ``pg_monitor`` to see other sessions), each
bounded by ``statement_timeout``. The queries follow check_postgres (bucardo): ``backends``,
``query_time``, ``txn_idle``, ``locks``, ``dbstats``, ``hitratio``, ``bloat`` and ``settings_checksum``.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infragate.lazy import lazy_module
from infragate.probes._base import describe_error, is_unreachable, monotonic_ms

if TYPE_CHECKING:
    import psycopg
else:
    psycopg = lazy_module("psycopg")

__all__ = [
    "BackupFile",
    "DeadTuples",
    "LockWait",
    "PgStats",
    "SchemaDump",
    "Session",
    "SlowStatement",
    "UnusedIndex",
    "deadlocks",
    "newest_backup",
    "schema_dump",
    "snapshot",
]

# Client sessions only: autovacuum, walsender and other background workers are not the application's.
_SESSIONS = """
SELECT pid, state, extract(epoch FROM now() - {since})::float8, usename, left(query, 200)
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND {where}
ORDER BY {since}
"""

_LOCK_WAITS = """
SELECT a.pid, extract(epoch FROM now() - coalesce(l.waitstart, a.query_start))::float8,
       left(a.query, 200), pg_blocking_pids(a.pid),
       (SELECT string_agg(left(b.query, 120), ' | ') FROM pg_stat_activity b
         WHERE b.pid = ANY (pg_blocking_pids(a.pid)))
FROM pg_stat_activity a
JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
WHERE a.pid <> pg_backend_pid()
ORDER BY 2 DESC
"""

_SLOW = """
SELECT left(query, 200), calls, mean_exec_time
FROM pg_stat_statements JOIN pg_database d ON d.oid = dbid
WHERE d.datname = current_database()
ORDER BY mean_exec_time DESC
LIMIT 50
"""

_TABLES = """
SELECT schemaname || '.' || relname, n_live_tup, n_dead_tup,
       extract(epoch FROM now() - greatest(last_vacuum, last_autovacuum))::float8
FROM pg_stat_user_tables
ORDER BY n_dead_tup DESC
"""

# Indexes backing a constraint (primary key, unique) are used by every write even with idx_scan = 0.
_UNUSED = """
SELECT s.schemaname || '.' || s.indexrelname, s.schemaname || '.' || s.relname,
       pg_relation_size(s.indexrelid)
FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
ORDER BY 3 DESC
"""


@dataclass(frozen=True)
class Session:
    """A client session of pg_stat_activity and how long it has been in its state (or query)."""

    pid: int
    state: str | None
    seconds: float
    user: str | None
    query: str


@dataclass(frozen=True)
class LockWait:
    """A session waiting for a lock, and who holds it."""

    pid: int
    seconds: float
    query: str
    blocking_pids: tuple[int, ...]
    blocking_query: str | None


@dataclass(frozen=True)
class SlowStatement:
    """One pg_stat_statements entry."""

    query: str
    calls: int
    mean_ms: float


@dataclass(frozen=True)
class DeadTuples:
    """Live and dead tuples of one table; seconds since its last (auto)vacuum, None if never."""

    table: str
    live: int
    dead: int
    since_vacuum_s: float | None

    @property
    def ratio(self) -> float:
        """Dead tuples per live tuple (dead when the table has no live tuple)."""
        return self.dead / self.live if self.live else float(self.dead)


@dataclass(frozen=True)
class UnusedIndex:
    """An index never scanned since the statistics were reset (constraint indexes excluded)."""

    index: str
    table: str
    size_bytes: int


@dataclass(frozen=True)
class PgStats:
    """What the statistics views said, at ``taken_at`` (monotonic seconds)."""

    host: str
    port: int
    taken_at: float
    error: str | None = None
    unreachable: bool = False
    max_connections: int = 0
    backends: int = 0
    active: int = 0
    active_queries: tuple[Session, ...] = ()
    idle_in_transaction: tuple[Session, ...] = ()
    lock_waits: tuple[LockWait, ...] = ()
    deadlocks: int = 0
    statements_installed: bool = False
    statements: tuple[SlowStatement, ...] = ()
    heap_blks_read: int = 0
    heap_blks_hit: int = 0
    tables: tuple[DeadTuples, ...] = ()
    unused_indexes: tuple[UnusedIndex, ...] = ()
    database_bytes: int = 0
    settings: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The statistics were read."""
        return self.error is None


def _connect(
    host: str,
    port: int,
    *,
    dbname: str,
    user: str,
    password: str | None,
    sslmode: str,
    timeout: float,
    bounded: bool = True,
) -> psycopg.Connection[Any]:
    """A read session; ``bounded`` sets statement_timeout at connect time (``snapshot`` sets it later)."""
    return psycopg.connect(
        host=host,
        port=port,
        dbname=dbname,
        user=user,
        password=password,
        sslmode=sslmode,
        # libpq's connect_timeout is whole seconds with a floor of 2 s.
        connect_timeout=max(2, math.ceil(timeout)),
        options=f"-c statement_timeout={int(timeout * 1000)}" if bounded else None,
        application_name="infragate",
        autocommit=True,
    )


def _sessions(conn: psycopg.Connection[Any], since: str, where: str) -> tuple[Session, ...]:
    rows = conn.execute(_SESSIONS.format(since=since, where=where)).fetchall()
    return tuple(Session(r[0], r[1], r[2] or 0.0, r[3], r[4] or "") for r in rows)


def snapshot(
    host: str,
    port: int,
    *,
    dbname: str,
    user: str,
    password: str | None,
    sslmode: str = "prefer",
    settings: Iterable[str] = (),
    timeout: float,
) -> PgStats:
    """Read every statistic the PG-* checks need, in one session; never raises for a server error."""
    taken_at = time.monotonic()
    try:
        with _connect(
            host,
            port,
            dbname=dbname,
            user=user,
            password=password,
            sslmode=sslmode,
            timeout=timeout,
            bounded=False,
        ) as conn:
            # Declared settings first, on a session that overrides none of them: a probe connecting with
            # `-c statement_timeout=...` read back its own 10s where the server had 1min (PG-SETTINGS).
            values: dict[str, str | None] = {}
            for name in settings:
                got = conn.execute("SELECT current_setting(%s, true)", (name,)).fetchone()
                values[name] = got[0] if got else None
            conn.execute("SELECT set_config('statement_timeout', %s, false)", (str(int(timeout * 1000)),))
            row = conn.execute(
                "SELECT current_setting('max_connections')::int, count(*),"
                " count(*) FILTER (WHERE state = 'active')"
                " FROM pg_stat_activity WHERE backend_type = 'client backend'"
            ).fetchone()
            assert row is not None
            max_connections, backends, active = row
            installed = (
                conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").fetchone()
                is not None
            )
            statements = (
                tuple(SlowStatement(r[0] or "", r[1], r[2]) for r in conn.execute(_SLOW).fetchall())
                if installed
                else ()
            )
            counters = conn.execute(
                "SELECT deadlocks, pg_database_size(datname) FROM pg_stat_database"
                " WHERE datname = current_database()"
            ).fetchone()
            assert counters is not None
            heap = conn.execute(
                "SELECT coalesce(sum(heap_blks_read), 0)::bigint, coalesce(sum(heap_blks_hit), 0)::bigint"
                " FROM pg_statio_user_tables"
            ).fetchone()
            assert heap is not None
            return PgStats(
                host,
                port,
                taken_at,
                max_connections=max_connections,
                backends=backends,
                active=active,
                active_queries=_sessions(conn, "query_start", "state = 'active'"),
                idle_in_transaction=_sessions(conn, "state_change", "state LIKE 'idle in transaction%%'"),
                lock_waits=tuple(
                    LockWait(r[0], r[1] or 0.0, r[2] or "", tuple(r[3] or ()), r[4])
                    for r in conn.execute(_LOCK_WAITS).fetchall()
                ),
                deadlocks=counters[0],
                statements_installed=installed,
                statements=statements,
                heap_blks_read=heap[0],
                heap_blks_hit=heap[1],
                tables=tuple(DeadTuples(r[0], r[1], r[2], r[3]) for r in conn.execute(_TABLES).fetchall()),
                unused_indexes=tuple(UnusedIndex(*r) for r in conn.execute(_UNUSED).fetchall()),
                database_bytes=counters[1],
                settings=values,
            )
    except (psycopg.Error, OSError) as exc:
        text = describe_error(exc)
        unreachable = is_unreachable(exc) or "connection refused" in text.lower() or "timeout" in text.lower()
        return PgStats(host, port, taken_at, error=text, unreachable=unreachable)


def deadlocks(
    host: str,
    port: int,
    *,
    dbname: str,
    user: str,
    password: str | None,
    sslmode: str = "prefer",
    timeout: float,
) -> int | None:
    """pg_stat_database.deadlocks of the database now; None when it cannot be read."""
    try:
        with _connect(
            host, port, dbname=dbname, user=user, password=password, sslmode=sslmode, timeout=timeout
        ) as conn:
            row = conn.execute(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
            return int(row[0]) if row else None
    except (psycopg.Error, OSError):
        return None


# ---------------------------------------------------------------------------- backups


@dataclass(frozen=True)
class SchemaDump:
    """``pg_dump --schema-only`` of the database: whether it worked and how much it wrote."""

    ok: bool
    elapsed_ms: float
    size_bytes: int = 0
    error: str | None = None
    unreachable: bool = False


@dataclass(frozen=True)
class BackupFile:
    """The newest regular file in a backup directory (None fields when there is none)."""

    directory: Path
    path: Path | None
    age_hours: float | None
    size_bytes: int
    error: str | None = None


def find_pg_dump() -> str | None:
    """pg_dump on PATH, else the newest Debian cluster binary."""
    found = shutil.which("pg_dump")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"), key=lambda p: int(p.parts[-3]))
    return str(candidates[-1]) if candidates else None


def schema_dump(
    host: str,
    port: int,
    *,
    dbname: str,
    user: str,
    password: str | None,
    sslmode: str = "prefer",
    pg_dump: str | None = None,
    timeout: float,
) -> SchemaDump:
    """Run ``pg_dump --schema-only`` to /dev/null-equivalent (the output is counted, not kept)."""
    start = monotonic_ms()
    binary = pg_dump or find_pg_dump()
    if binary is None:
        return SchemaDump(False, 0.0, error="pg_dump not found (install postgresql-client)")
    env = {
        "PGCONNECT_TIMEOUT": str(max(2, math.ceil(timeout))),
        "PGSSLMODE": sslmode,
        "PATH": "/usr/bin:/bin",
    }
    if password is not None:
        env["PGPASSWORD"] = password  # the environment, never argv: argv is visible in ps
    argv = [binary, "--schema-only", "--no-password", "-h", host, "-p", str(port), "-U", user, dbname]
    try:
        done = subprocess.run(argv, capture_output=True, env=env, timeout=timeout * 6, check=False)
    except subprocess.TimeoutExpired:
        return SchemaDump(False, monotonic_ms() - start, error=f"pg_dump timed out after {timeout * 6:g} s")
    elapsed = monotonic_ms() - start
    if done.returncode != 0:
        text = " ".join(done.stderr.decode(errors="replace").strip().splitlines()[-1:]) or "no output"
        refused = "refused" in text.lower() or "timeout" in text.lower()
        return SchemaDump(False, elapsed, error=f"exit {done.returncode}: {text}", unreachable=refused)
    return SchemaDump(True, elapsed, size_bytes=len(done.stdout))


def newest_backup(directory: Path, pattern: str = "*") -> BackupFile:
    """The most recently modified file matching ``pattern`` in ``directory``."""
    try:
        files = [p for p in directory.glob(pattern) if p.is_file()]
    except OSError as exc:
        return BackupFile(directory, None, None, 0, error=describe_error(exc))
    if not directory.is_dir():
        return BackupFile(directory, None, None, 0, error="directory does not exist")
    if not files:
        return BackupFile(directory, None, None, 0, error=f"no file matching {pattern!r}")
    newest = max(files, key=lambda p: p.stat().st_mtime)
    st = newest.stat()
    return BackupFile(directory, newest, (time.time() - st.st_mtime) / 3600, st.st_size)
