"""Data store facts: PostgreSQL readiness, statistics, schema and backups; Redis PING and INFO.

Passwords are read from their ``Secret`` at the call and passed straight to the driver: never kept in
a variable a traceback (``pytest -l``) could print.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infragate.facts import Context, fact, host_side
from infragate.probes import pg_stats, postgres, redis, redis_info
from infragate.stats import percentile

if TYPE_CHECKING:
    from infragate.inventory import Postgres, Redis
    from infragate.probes.pg_stats import BackupFile, PgStats, SchemaDump
    from infragate.probes.postgres import PgStatus
    from infragate.probes.redis import RedisPing
    from infragate.probes.redis_info import RedisInfo

POLL_S = 0.5


@dataclass(frozen=True)
class DeadlockWindow:
    """pg_stat_database.deadlocks at the start and the end of an observation window."""

    before: int
    after: int | None
    seconds: float

    @property
    def new(self) -> int:
        """Deadlocks detected during the window (0 when the last reading failed)."""
        return 0 if self.after is None else self.after - self.before


def _conn(server: Postgres) -> dict[str, object]:
    return {
        "dbname": server.dbname,
        "user": server.user,
        "password": server.password_env.value if server.password_env else None,
        "sslmode": server.sslmode,
    }


@fact("postgres")
def pg_status(ctx: Context, server: Postgres) -> PgStatus:
    """Readiness and session facts of a PostgreSQL server."""
    return postgres.status(server.host, server.port, timeout=ctx.timeout.connect, **_conn(server))  # type: ignore[arg-type]


@fact("pg_stats")
def pg_stats_of(ctx: Context, server: Postgres) -> PgStats:
    """Sessions, locks, counters, tables and declared settings of a PostgreSQL entry."""
    return pg_stats.snapshot(
        server.host,
        server.port,
        settings=tuple(server.settings),
        timeout=ctx.timeout.read,
        **_conn(server),  # type: ignore[arg-type]
    )


@fact()
def deadlock_window(ctx: Context, server: Postgres, window_s: float, allowed: int) -> DeadlockWindow:
    """The deadlock counter watched from the run's first statistics reading for ``window_s`` seconds.

    The other checks' time counts, so the wait is only the remainder; it ends early once more than
    ``allowed`` new deadlocks were seen. A short window, not a value persisted between runs: a run is
    then self-contained (no state file per target, no false alarm after a gap between runs).
    """
    first: PgStats = ctx.get("pg_stats", server)
    if not first.ok:
        return DeadlockWindow(0, None, 0.0)
    deadline = first.taken_at + window_s
    while True:
        after = pg_stats.deadlocks(server.host, server.port, timeout=ctx.timeout.read, **_conn(server))  # type: ignore[arg-type]
        if after is None or after - first.deadlocks > allowed or time.monotonic() >= deadline:
            return DeadlockWindow(first.deadlocks, after, time.monotonic() - first.taken_at)
        time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))


@fact()
def schema_dump(ctx: Context, server: Postgres) -> SchemaDump:
    """``pg_dump --schema-only`` of the entry's database."""
    return pg_stats.schema_dump(server.host, server.port, timeout=ctx.timeout.read, **_conn(server))  # type: ignore[arg-type]


@fact(endpoint=host_side)
def newest_backup(ctx: Context, server: Postgres) -> BackupFile:
    """The newest file in the entry's declared backup directory (read where pytest runs)."""
    if server.backup is None:
        raise ValueError(f"postgres entry {server.name} declares no backup")
    return pg_stats.newest_backup(server.backup.dir, server.backup.pattern)


@fact("redis")
def redis_ping(ctx: Context, server: Redis) -> RedisPing:
    """PING on a Redis server."""
    return redis.ping(
        server.host,
        server.port,
        password=server.password_env.value if server.password_env else None,
        username=server.username,
        tls=server.tls,
        db=server.db,
        timeout=ctx.timeout.connect,
    )


@fact()
def redis_stats(ctx: Context, server: Redis) -> RedisInfo:
    """INFO, CONFIG GET and timed PINGs of a Redis entry."""
    return redis_info.snapshot(
        server.host,
        server.port,
        password=server.password_env.value if server.password_env else None,
        username=server.username,
        tls=server.tls,
        db=server.db,
        samples=server.latency_samples,
        timeout=ctx.timeout.read,
    )


@fact()
def redis_ping_p99(ctx: Context, server: Redis) -> float | None:
    """The 99th percentile of the timed PINGs (None: no PING answered)."""
    stats: RedisInfo = ctx.get("redis_stats", server)
    return percentile(stats.ping_ms, 0.99) if stats.ping_ms else None
