"""PostgreSQL: readiness (``pg_isready`` + ``SELECT 1``) and connection facts (``\\conninfo``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infragate.lazy import lazy_module
from infragate.probes._base import describe_error, is_unreachable, monotonic_ms

if TYPE_CHECKING:
    import psycopg
else:
    psycopg = lazy_module("psycopg")

__all__ = ["PgStatus", "status"]


@dataclass(frozen=True)
class PgStatus:
    """What one connection to the server established."""

    host: str
    port: int
    ready: bool
    elapsed_ms: float
    server_version: int | None = None
    database: str | None = None
    user: str | None = None
    ssl_in_use: bool | None = None
    error: str | None = None
    unreachable: bool = False


def status(
    host: str,
    port: int,
    *,
    dbname: str,
    user: str,
    password: str | None,
    sslmode: str = "prefer",
    timeout: float,
) -> PgStatus:
    """Connect, run SELECT 1 and read the session's facts; statements are bounded by ``timeout`` too."""
    start = monotonic_ms()
    try:
        with psycopg.connect(
            host=host,
            port=port,
            dbname=dbname,
            user=user,
            password=password,
            sslmode=sslmode,
            # libpq's connect_timeout is whole seconds with a floor of 2 s.
            connect_timeout=max(2, math.ceil(timeout)),
            options=f"-c statement_timeout={int(timeout * 1000)}",
            application_name="infragate",
            autocommit=True,
        ) as conn:
            row = conn.execute(
                "SELECT 1, current_setting('server_version_num')::int, current_database(), current_user,"
                " coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)"
            ).fetchone()
            assert row is not None
            return PgStatus(
                host,
                port,
                row[0] == 1,
                monotonic_ms() - start,
                server_version=row[1],
                database=row[2],
                user=row[3],
                ssl_in_use=bool(row[4]),
            )
    except (psycopg.Error, OSError) as exc:
        text = describe_error(exc)
        unreachable = is_unreachable(exc) or "connection refused" in text.lower() or "timeout" in text.lower()
        return PgStatus(host, port, False, monotonic_ms() - start, error=text, unreachable=unreachable)
