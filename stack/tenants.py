"""The application's accounts in the stack's PostgreSQL: a users table, a tenant template schema and one
schema per active user (runbook 003's per-tenant schemas), for AUTH-ADMIN-EXISTS and AUTH-TENANT-SCHEMA.

``ensure`` (run by ``up`` after the migrations, and by the heal of every fault below) writes the healthy
state whatever a fault left: the users as listed here, the template's tables, every active user's schema
with a copy of each template table, no schema of an unknown user. Objects belong to the application role.
The faults (stack/fault_actions/accounts.py) deactivate the admin, drop a table from one tenant schema,
or add an active user without a schema.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from stack import secretstore
from stack.layout import LOOPBACK
from stack.parts import PG_DATABASE, PG_ROLE, Context

__all__ = ["ADMIN", "TEMPLATE", "USERS", "USERS_TABLE", "connect", "ensure", "schema_of"]

USERS_TABLE = "app_users"
TEMPLATE = "tenant_template"
ADMIN = "admin"
# (id, username, active, admin): an inactive user has no schema, and needs none.
USERS = (
    (1, ADMIN, True, True),
    (2, "alice", True, False),
    (3, "bob", True, False),
    (4, "carol", False, False),
)
TEMPLATE_TABLES = {
    "products": "id serial PRIMARY KEY, title text NOT NULL, price_cents integer NOT NULL DEFAULT 0",
    "listings": "id serial PRIMARY KEY, product_id integer NOT NULL, platform text NOT NULL",
}


def schema_of(user_id: int) -> str:
    """The tenant schema of a user (the application's naming: ``tenant_{id}``)."""
    return f"tenant_{user_id}"


def connect(ctx: Context) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit session as the application role."""
    return psycopg.connect(
        host=LOOPBACK,
        port=ctx.ports.postgres,
        user=PG_ROLE,
        dbname=PG_DATABASE,
        password=ctx.secrets()[secretstore.PG_PASSWORD],
        connect_timeout=5,
        autocommit=True,
    )


def ensure(ctx: Context) -> None:
    """Write the healthy accounts and tenant schemas (idempotent; undoes every fault of this area)."""
    with connect(ctx) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (id integer PRIMARY KEY, username text NOT NULL UNIQUE, "
                "is_active boolean NOT NULL DEFAULT true, is_admin boolean NOT NULL DEFAULT false)"
            ).format(sql.Identifier(USERS_TABLE))
        )
        table = sql.Identifier(USERS_TABLE)
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE NOT (id = ANY(%s))").format(table), ([u[0] for u in USERS],)
        )
        for user_id, name, active, admin in USERS:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET username = "
                    "EXCLUDED.username, is_active = EXCLUDED.is_active, is_admin = EXCLUDED.is_admin"
                ).format(table),
                (user_id, name, active, admin),
            )
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(TEMPLATE)))
        for name, columns in TEMPLATE_TABLES.items():
            create = sql.SQL("CREATE TABLE IF NOT EXISTS {} (" + columns + ")")  # columns: constants above
            conn.execute(create.format(sql.Identifier(TEMPLATE, name)))
        wanted = {schema_of(u[0]) for u in USERS if u[2]}
        present = {
            str(r[0])
            for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'")
            if r[0] != TEMPLATE
        }
        for schema in sorted(present - wanted):  # a schema a fault's user left behind
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        for schema in sorted(wanted):
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            for name in TEMPLATE_TABLES:
                conn.execute(
                    sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE {} INCLUDING ALL)").format(
                        sql.Identifier(schema, name), sql.Identifier(TEMPLATE, name)
                    )
                )
