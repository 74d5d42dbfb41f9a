"""Database migrations and SQLite files (probes: migrations, sqlite)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = ["AlembicMigrations", "Migrations", "SchemaObjects", "Sqlite", "SqlxMigrations"]


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
