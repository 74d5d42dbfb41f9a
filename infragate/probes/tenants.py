"""Accounts in the application's database: the admin account's row, and one schema per active user.

AUTH-ADMIN-EXISTS reads the admin's row in the users table (or logs the admin in through the auth
contract); AUTH-TENANT-SCHEMA lists the active users, names each one's schema (a template such as
``tenant_{id}`` or a column) and compares each schema's tables with the template schema's. One read-only
session per fact (``default_transaction_read_only``, ``statement_timeout``); table and column names go
through ``psycopg.sql.Identifier``, never into the SQL text. Tables are read from ``pg_class``, not
``information_schema``, which hides the tables the role has no privilege on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infragate.facts import Context, fact, host_side, url_endpoint
from infragate.facts.auth import login_outgoing
from infragate.lazy import lazy_module
from infragate.probes import auth as contract
from infragate.probes._base import describe_error, is_unreachable

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from infragate.inventory import Auth, Postgres
    from infragate.inventory.auth import UsersTable
    from infragate.inventory.postgres import Tenants
else:
    psycopg = lazy_module("psycopg")
    sql = lazy_module("psycopg.sql")

__all__ = ["AdminRow", "TenantState", "admin_row", "compare_tenants", "tenant_state"]

# Listed by name in a failure, at most this many of each kind (then "and N more").
SHOWN = 10


def _connect(conninfo: Mapping[str, object], timeout: float) -> psycopg.Connection[tuple[object, ...]]:
    # Read-only and bounded, whatever the role may do: these checks run against production.
    return psycopg.connect(
        **conninfo,  # type: ignore[arg-type]
        connect_timeout=max(2, math.ceil(timeout)),
        options=f"-c statement_timeout={int(timeout * 1000)} -c default_transaction_read_only=on",
        application_name="infragate",
        autocommit=True,
    )


def _table(qualified: str) -> sql.Composable:
    """``schema.table`` or ``table`` as quoted identifiers."""
    return sql.Identifier(*qualified.split(".", 1))


@dataclass(frozen=True)
class AdminRow:
    """The admin account's row: found, active and admin flags (None: no such column declared)."""

    found: bool = False
    active: bool | None = None
    admin: bool | None = None
    error: str | None = None
    unreachable: bool = False


def admin_row(
    conninfo: Mapping[str, object],
    *,
    table: str,
    username_column: str,
    username: str,
    active_column: str | None,
    admin_column: str | None,
    timeout: float,
) -> AdminRow:
    """The row of ``username`` in ``table``: does it exist, is it active, is it an admin (read-only)."""
    flags = [sql.Identifier(c) if c else sql.Literal(None) for c in (active_column, admin_column)]
    query = sql.SQL("SELECT {}, {} FROM {} WHERE {} = %s LIMIT 2").format(
        *flags, _table(table), sql.Identifier(username_column)
    )
    try:
        with _connect(conninfo, timeout) as conn:
            rows = conn.execute(query, (username,)).fetchall()
    except Exception as exc:
        return AdminRow(error=describe_error(exc), unreachable=is_unreachable(exc))
    if not rows:
        return AdminRow(found=False)
    # Two rows for one username: any active admin among them counts (a unique index normally forbids it).
    active = None if not active_column else any(bool(r[0]) for r in rows)
    admin = None if not admin_column else any(bool(r[1]) for r in rows)
    return AdminRow(True, active, admin)


@dataclass(frozen=True)
class TenantState:
    """Active users whose schema is missing, and per tenant schema the template tables it lacks (and the
    tables it has that the template no longer has)."""

    users: int = 0
    template_tables: tuple[str, ...] = ()
    missing_schemas: tuple[str, ...] = ()
    missing_tables: Mapping[str, tuple[str, ...]] | None = None
    stale_tables: Mapping[str, tuple[str, ...]] | None = None
    error: str | None = None
    unreachable: bool = False

    @property
    def problems(self) -> tuple[str, ...]:
        """Each problem by name: ``no schema tenant_5``, ``tenant_2 lacks orders``, ``tenant_3 has stale
        old_items`` (the first few of each kind, then how many more)."""
        found = [f"no schema {s}" for s in self.missing_schemas]
        found += [f"{s} lacks {', '.join(t)}" for s, t in (self.missing_tables or {}).items()]
        found += [f"{s} has stale {', '.join(t)}" for s, t in (self.stale_tables or {}).items()]
        if len(found) > SHOWN:
            return (*found[:SHOWN], f"and {len(found) - SHOWN} more")
        return tuple(found)


def compare_tenants(
    expected: Sequence[str],
    template: Sequence[str],
    tables: Mapping[str, Sequence[str]],
    ignore: Sequence[str] = (),
) -> TenantState:
    """Judge the schemas ``expected`` (one per active user) against the template's tables.

    ``tables`` maps each existing schema to its tables; ``ignore`` names tables compared nowhere.
    """
    wanted = sorted(set(template) - set(ignore))
    missing_schemas = tuple(s for s in expected if s not in tables)
    lacking: dict[str, tuple[str, ...]] = {}
    stale: dict[str, tuple[str, ...]] = {}
    for schema in expected:
        if schema not in tables:
            continue
        have = set(tables[schema]) - set(ignore)
        if gone := tuple(t for t in wanted if t not in have):
            lacking[schema] = gone
        if extra := tuple(sorted(have - set(wanted))):
            stale[schema] = extra
    return TenantState(len(expected), tuple(wanted), missing_schemas, lacking, stale)


_TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s)
"""


def tenant_state(
    conninfo: Mapping[str, object],
    *,
    users_table: str,
    id_column: str,
    active_column: str | None,
    schema_template: str | None,
    schema_column: str | None,
    template_schema: str,
    ignore_tables: Sequence[str] = (),
    timeout: float,
) -> TenantState:
    """Every active user's schema (named by ``schema_template`` or ``schema_column``), compared with the
    template schema's tables; one read-only session."""
    column = sql.Identifier(schema_column or id_column)
    where = sql.SQL(" WHERE {}").format(sql.Identifier(active_column)) if active_column else sql.SQL("")
    query = sql.SQL("SELECT {} FROM {}{} ORDER BY 1").format(column, _table(users_table), where)
    try:
        with _connect(conninfo, timeout) as conn:
            values = [row[0] for row in conn.execute(query).fetchall()]
            if schema_column is not None:
                expected = [str(v) for v in values if v is not None]
            else:
                expected = [(schema_template or "").replace("{id}", str(v)) for v in values]
            rows = conn.execute(_TABLES, ([template_schema, *expected],)).fetchall()
    except Exception as exc:
        return TenantState(error=describe_error(exc), unreachable=is_unreachable(exc))
    tables: dict[str, list[str]] = {}
    for schema, table in rows:
        tables.setdefault(str(schema), []).append(str(table))
    if template_schema not in tables:
        return TenantState(len(expected), error=f"the template schema {template_schema!r} has no tables")
    template = tables.pop(template_schema)
    return compare_tenants(expected, template, tables, ignore_tables)


# ---------------------------------------------------------------------------- bindings


def _server(ctx: Context, name: str) -> Postgres:
    for server in ctx.target.postgres:
        if server.name == name:
            return server
    raise LookupError(f"{ctx.target.path}: auth users: database {name!r} is no [[postgres]] name")


def _conninfo(server: Postgres) -> dict[str, object]:
    return {
        "host": server.host,
        "port": server.port,
        "dbname": server.dbname,
        "user": server.user,
        "password": server.password_env.value if server.password_env else None,
        "sslmode": server.sslmode,
    }


@fact(endpoint=host_side)
def admin_account_row(ctx: Context, auth: Auth, users: UsersTable) -> AdminRow:
    """The declared admin account's row in the users table of its ``[[postgres]]`` entry."""
    server = _server(ctx, users.database or "")
    # The server's readiness first: a server already found dead fails this check at once.
    if ctx.get("postgres", server).unreachable:
        return AdminRow(error=f"{server.host}:{server.port} unreachable", unreachable=True)
    return admin_row(
        _conninfo(server),
        table=users.table,
        username_column=users.username_column,
        username=users.admin,
        active_column=users.active_column,
        admin_column=users.admin_column,
        timeout=ctx.timeout.read,
    )


@fact(endpoint=lambda auth, *_: url_endpoint(auth.login_url))
def admin_login(ctx: Context, auth: Auth, users: UsersTable) -> contract.LoginOutcome:
    """The admin account's one login of this run, through the entry's login contract."""
    assert users.password_env is not None, "parametrized only with users that declare password_env"
    ledger: contract.LoginLedger = ctx.get("login_ledger")
    account = f"{auth.name}/{users.admin}"
    if not ledger.spend(account, 1):
        why = f"login budget spent: the admin {users.admin!r} already logged in once in this run"
        return contract.LoginOutcome(None, contract.Tokens(None, None, None), why, why)
    out = login_outgoing(auth, users.admin, users.password_env.value)
    return contract.login(
        out, auth.tokens, timeout=ctx.timeout, cafile=ctx.trust(auth), secrets=(users.password_env.value,)
    )


@fact(endpoint=host_side)
def tenant_schemas(ctx: Context, server: Postgres, tenants: Tenants) -> TenantState:
    """Active users without their schema, and tenant schemas that differ from the template schema."""
    if ctx.get("postgres", server).unreachable:
        return TenantState(error=f"{server.host}:{server.port} unreachable", unreachable=True)
    return tenant_state(
        _conninfo(server),
        users_table=tenants.users_table,
        id_column=tenants.id_column,
        active_column=tenants.active_column,
        schema_template=tenants.schema_template,
        schema_column=tenants.schema_column,
        template_schema=tenants.template_schema,
        ignore_tables=tenants.ignore_tables,
        timeout=ctx.timeout.read,
    )
