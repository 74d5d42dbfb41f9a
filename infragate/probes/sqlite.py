"""SQLite files on a host, read read-only with the ``sqlite3`` shell through a testinfra-like backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from infragate.probes.host import Runner
from infragate.probes.migrations import missing_columns

__all__ = ["Integrity", "SqliteSchema", "integrity", "schema"]


@dataclass(frozen=True)
class Integrity:
    """``PRAGMA integrity_check``: ok, or SQLite's first complaints."""

    ok: bool
    detail: str


def integrity(host: Runner, path: str) -> Integrity:
    """``sqlite3 -readonly FILE 'PRAGMA integrity_check'`` (a missing file is not created: file: URI)."""
    out = host.run("sqlite3 -readonly %s %s", f"file:{path}?mode=ro", "PRAGMA integrity_check;")
    lines = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    if out.rc == 0 and lines == ["ok"]:
        return Integrity(True, "ok")
    detail = "; ".join(lines[:3]) or " ".join(out.stderr.split())
    return Integrity(False, detail[:400] or f"sqlite3 exited {out.rc}")


@dataclass(frozen=True)
class SqliteSchema:
    """Columns by table of a SQLite file, and the declared tables/columns it lacks."""

    columns: Mapping[str, tuple[str, ...]]
    missing: tuple[str, ...] = ()
    error: str | None = None


_COLUMNS = (
    "SELECT m.name, p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p"
    " WHERE m.type IN ('table', 'view') ORDER BY m.name, p.cid;"
)


def schema(host: Runner, path: str, wanted: Mapping[str, Sequence[str]]) -> SqliteSchema:
    """Every table's columns (``sqlite_master`` joined with ``pragma_table_info``), and what of ``wanted``
    is missing."""
    out = host.run("sqlite3 -readonly -separator %s %s %s", "\t", f"file:{path}?mode=ro", _COLUMNS)
    if out.rc != 0:
        return SqliteSchema({}, (), " ".join(out.stderr.split())[:400] or f"sqlite3 exited {out.rc}")
    columns: dict[str, list[str]] = {}
    for line in out.stdout.splitlines():
        table, _, column = line.partition("\t")
        columns.setdefault(table, []).append(column)
    found = {t: tuple(c) for t, c in columns.items()}
    return SqliteSchema(found, missing_columns(wanted, found))
