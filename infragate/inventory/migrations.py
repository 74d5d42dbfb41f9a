"""Database migrations and SQLite files (probes: migrations, sqlite)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from infragate.inventory._validate import InventoryError

__all__ = [
    "AlembicMigrations",
    "Migrations",
    "SchemaObjects",
    "Sqlite",
    "SqlxMigrations",
    "check_databases",
]


@dataclass(frozen=True)
class AlembicMigrations:
    """Alembic scripts deployed with the app, applied to the [[postgres]] entry named ``database``."""

    name: str
    scripts: Path
    database: str
    version_table: str = "alembic_version"


@dataclass(frozen=True)
class SqlxMigrations:
    """sqlx migrations (``<version>_<description>.sql`` in ``directory``) applied to ``database``."""

    name: str
    directory: Path
    database: str


@dataclass(frozen=True)
class SchemaObjects:
    """Tables (and their columns) that must exist in the [[postgres]] entry named ``database``."""

    name: str
    database: str
    tables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    schema: str = "public"


@dataclass(frozen=True)
class Migrations:
    """Database migrations of the application."""

    alembic: tuple[AlembicMigrations, ...] = ()
    sqlx: tuple[SqlxMigrations, ...] = ()
    schema: tuple[SchemaObjects, ...] = ()


@dataclass(frozen=True)
class Sqlite:
    """A SQLite database file on the host, opened read-only; ``tables`` maps table -> columns."""

    name: str
    path: Path
    tables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def check_databases(migrations: Migrations | None, postgres_names: Collection[str]) -> None:
    """Each migration entry's ``database`` names a declared [[postgres]] entry (the checks connect there)."""
    if migrations is None:
        return
    known = ", ".join(sorted(postgres_names)) or "none declared"
    for kind in ("alembic", "sqlx", "schema"):
        entries: tuple[AlembicMigrations | SqlxMigrations | SchemaObjects, ...] = getattr(migrations, kind)
        for i, entry in enumerate(entries):
            if entry.database not in postgres_names:
                raise InventoryError(
                    f"migrations.{kind}[{i}].database: must be the name of a [[postgres]] entry ({known}), "
                    f"got {entry.database!r}"
                )
