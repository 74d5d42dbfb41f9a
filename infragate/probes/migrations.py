"""Database migrations: Alembic's script heads (read from the deployed scripts) and the live database.

Alembic itself reads the script directory, so merge points, branch labels and down-revisions are
understood exactly as ``alembic heads`` does; the database side is one read-only query per fact.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from infragate.lazy import lazy_module
from infragate.probes._base import describe_error, is_unreachable

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql
else:
    psycopg = lazy_module("psycopg")
    sql = lazy_module("psycopg.sql")

__all__ = [
    "AlembicState",
    "SchemaState",
    "ScriptHeads",
    "SqlxState",
    "alembic_state",
    "missing_columns",
    "schema_state",
    "script_heads",
    "sqlx_state",
]


@dataclass(frozen=True)
class AlembicState:
    """Heads of the scripts, the revision(s) stored in the database, and which of those scripts know."""

    heads: tuple[str, ...] = ()
    current: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    scripts_error: str | None = None
    error: str | None = None
    unreachable: bool = False


def _connect(conninfo: Mapping[str, object], timeout: float) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        **conninfo,  # type: ignore[arg-type]
        connect_timeout=max(2, math.ceil(timeout)),
        options=f"-c statement_timeout={int(timeout * 1000)} -c default_transaction_read_only=on",
        application_name="infragate",
        autocommit=True,
    )


def alembic_state(
    scripts: Path, conninfo: Mapping[str, object], *, version_table: str = "alembic_version", timeout: float
) -> AlembicState:
    """``alembic heads`` of ``scripts`` and ``alembic current`` of the database, without running env.py."""
    from alembic.script import ScriptDirectory  # heavy import, only when a migration check runs

    heads: tuple[str, ...] = ()
    known: set[str] = set()
    scripts_error = None
    try:
        directory = ScriptDirectory(str(scripts))
        heads = tuple(sorted(directory.get_heads()))
        known = {s.revision for s in directory.walk_revisions()}
    except Exception as exc:  # alembic raises CommandError, util errors, OSError...
        scripts_error = f"{type(exc).__name__}: {exc}"
    try:
        with _connect(conninfo, timeout) as conn:
            rows = conn.execute(
                sql.SQL("SELECT version_num FROM {}").format(sql.Identifier(version_table))
            ).fetchall()
    except psycopg.errors.UndefinedTable:
        return AlembicState(heads, (), (), scripts_error, f"no {version_table} table (never migrated)")
    except Exception as exc:
        return AlembicState(
            heads, (), (), scripts_error, describe_error(exc), unreachable=is_unreachable(exc)
        )
    current = tuple(sorted(str(r[0]) for r in rows))
    unknown = tuple(r for r in current if r not in known) if scripts_error is None else ()
    return AlembicState(heads, current, unknown, scripts_error)


@dataclass(frozen=True)
class ScriptHeads:
    """``alembic heads`` of a script directory, or the error reading it."""

    heads: tuple[str, ...] = ()
    error: str | None = None


def script_heads(scripts: Path) -> ScriptHeads:
    """``alembic heads`` of a script directory (no database)."""
    from alembic.script import ScriptDirectory

    try:
        return ScriptHeads(tuple(sorted(ScriptDirectory(str(scripts)).get_heads())))
    except Exception as exc:
        return ScriptHeads((), f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class SchemaState:
    """Columns by table as found in the live schema, and the declared tables/columns that are missing."""

    columns: Mapping[str, tuple[str, ...]]
    missing: tuple[str, ...] = ()
    error: str | None = None
    unreachable: bool = False


def missing_columns(
    wanted: Mapping[str, Sequence[str]], columns: Mapping[str, Sequence[str]]
) -> tuple[str, ...]:
    """``table`` or ``table.column`` for everything in ``wanted`` that ``columns`` lacks."""
    out: list[str] = []
    for table, cols in wanted.items():
        if table not in columns:
            out.append(table)
            continue
        out.extend(f"{table}.{c}" for c in cols if c not in columns[table])
    return tuple(out)


def schema_state(
    conninfo: Mapping[str, object],
    tables: Mapping[str, Sequence[str]],
    *,
    schema: str = "public",
    timeout: float,
) -> SchemaState:
    """Columns of the declared ``tables`` in ``schema`` (information_schema, read-only); what is missing."""
    try:
        with _connect(conninfo, timeout) as conn:
            rows = conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = ANY(%s) ORDER BY ordinal_position",
                (schema, list(tables)),
            ).fetchall()
    except Exception as exc:
        return SchemaState({}, (), describe_error(exc), unreachable=is_unreachable(exc))
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(str(table), []).append(str(column))
    found = {t: tuple(c) for t, c in columns.items()}
    return SchemaState(found, missing_columns(tables, found))


_SQLX_FILE = re.compile(r"^(\d+)_(.+?)(\.up)?\.sql$")


@dataclass(frozen=True)
class SqlxState:
    """Migration files compared with ``_sqlx_migrations``: pending, failed, or changed since applied."""

    files: int = 0
    pending: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    error: str | None = None
    unreachable: bool = False

    @property
    def problems(self) -> tuple[str, ...]:
        """Each migration not applied cleanly, in words (``pending 3_add.sql``, ``failed ...``)."""
        return (
            *(f"pending {n}" for n in self.pending),
            *(f"failed {n}" for n in self.failed),
            *(f"checksum changed since applied {n}" for n in self.changed),
        )


def sqlx_files(directory: Path) -> dict[int, tuple[str, bytes]]:
    """``version -> (file name, checksum)``: sqlx's checksum is the SHA-384 of the file's SQL text."""
    found = {}
    for path in sorted(directory.iterdir()):
        match = _SQLX_FILE.match(path.name)
        if match and not path.name.endswith(".down.sql"):
            found[int(match.group(1))] = (path.name, hashlib.sha384(path.read_bytes()).digest())
    return found


def sqlx_state(directory: Path, conninfo: Mapping[str, object], *, timeout: float) -> SqlxState:
    """What ``sqlx migrate info`` shows: every file applied successfully with an unchanged checksum."""
    try:
        files = sqlx_files(directory)
    except OSError as exc:
        return SqlxState(error=f"migrations directory {directory}: {exc.strerror or exc}")
    try:
        with _connect(conninfo, timeout) as conn:
            rows = conn.execute("SELECT version, success, checksum FROM _sqlx_migrations").fetchall()
    except psycopg.errors.UndefinedTable:
        rows = []
    except Exception as exc:
        return SqlxState(len(files), error=describe_error(exc), unreachable=is_unreachable(exc))
    applied = {int(str(v)): (bool(ok), bytes(c)) for v, ok, c in rows}  # type: ignore[call-overload]
    pending = tuple(name for v, (name, _) in files.items() if v not in applied)
    failed = tuple(name for v, (name, _) in files.items() if v in applied and not applied[v][0])
    changed = tuple(name for v, (name, sha) in files.items() if v in applied and applied[v][1] != sha)
    return SqlxState(len(files), pending, failed, changed)
