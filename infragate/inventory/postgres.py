"""PostgreSQL servers and their backups (probe: postgres)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from infragate.inventory._validate import Invalid, PortNumber, Ratio, Secret

__all__ = ["PgBackup", "Postgres", "Tenants"]


@dataclass(frozen=True)
class PgBackup:
    """Where a PostgreSQL server's backups land (PG-BACKUP-DUMP): the newest file must be recent.

    PG-RESTORE-DRILL restores that file into a scratch database and compares row counts with the live
    database: of ``tables`` ("schema.table" or "table" in public), else of every table the backup holds.
    """

    dir: Path
    pattern: str = "*"
    max_backup_age_h: float | None = None
    min_bytes: int = 1
    tables: tuple[str, ...] = ()
    max_row_drift: Ratio | None = None
    max_restore_s: float | None = None


@dataclass(frozen=True)
class Tenants:
    """AUTH-TENANT-SCHEMA: one schema per active user, each with every table of the template schema.

    A user's schema is named by ``schema_template`` (``{id}`` is the user's ``id_column`` value) or read
    from ``schema_column``. Tables named in ``ignore_tables`` are left out of the comparison.
    """

    template_schema: str
    name: str = "tenants"
    users_table: str = "users"  # schema-qualified or not: "public.users"
    id_column: str = "id"
    active_column: str | None = "is_active"  # "": every row of users_table is an active user
    schema_template: str | None = "tenant_{id}"
    schema_column: str | None = None
    ignore_tables: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.schema_column is not None:
            return
        if self.schema_template is None or "{id}" not in self.schema_template:
            raise Invalid("schema_template", 'must contain "{id}" (or declare schema_column)')


@dataclass(frozen=True)
class Postgres:
    """A PostgreSQL server and the database/user the application uses."""

    name: str
    host: str
    dbname: str
    user: str
    port: PortNumber = 5432
    password_env: Secret | None = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    require_ssl: bool = False
    # PG-SLOW-STATEMENTS needs pg_stat_statements; without it the check is not applicable, unless declared
    # required here (then its absence is red).
    require_pg_stat_statements: bool = False
    min_version: int | None = None
    # PG-* statistics checks: per-entry overrides of the catalog thresholds (None = catalog/target value).
    max_connections_ratio: Ratio | None = None
    max_query_s: float | None = None
    max_idle_in_transaction_s: float | None = None
    max_lock_wait_s: float | None = None
    deadlock_window_s: float | None = None
    max_new_deadlocks: int | None = None
    max_mean_ms: float | None = None
    min_calls: int | None = None
    min_cache_hit: Ratio | None = None
    min_cache_blocks: int | None = None
    max_dead_ratio: float | None = None
    min_dead_tuples: int | None = None
    unused_index_min_kb: float | None = None
    strict_unused_indexes: bool | None = None
    max_db_mb: float | None = None
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    backup: PgBackup | None = None
    tenants: Tenants | None = None
