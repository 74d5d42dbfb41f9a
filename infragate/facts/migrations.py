"""Migration and SQLite facts: Alembic heads and revision, sqlx's table, declared tables and columns in
PostgreSQL, and SQLite files read read-only on the machine.

The database facts reach the ``[[postgres]]`` entry their ``database`` names. They first ask for that
server's ``postgres`` fact, so a server already found unreachable fails the check at once (the registry's
fail-fast memory is keyed by the server's endpoint, which the migration entry itself does not carry).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from infragate.facts import Context, fact, host_side
from infragate.probes import migrations, remote_tree, sqlite

if TYPE_CHECKING:
    from infragate.inventory import AlembicMigrations, Postgres, SchemaObjects, Sqlite, SqlxMigrations
    from infragate.probes.migrations import AlembicState, SchemaState, ScriptHeads, SqlxState
    from infragate.probes.postgres import PgStatus
    from infragate.probes.sqlite import Integrity, SqliteSchema


def _database(ctx: Context, name: str) -> Postgres:
    for server in ctx.target.postgres:
        if server.name == name:
            return server
    raise LookupError(f"{ctx.target.path}: migrations: database {name!r} is no [[postgres]] name")


def _reachable(ctx: Context, server: Postgres) -> PgStatus | None:
    """The server's readiness when it is unreachable (the caller reports it), else None."""
    status: PgStatus = ctx.get("postgres", server)
    return status if status.unreachable else None


def _conninfo(server: Postgres) -> dict[str, object]:
    return {
        "host": server.host,
        "port": server.port,
        "dbname": server.dbname,
        "user": server.user,
        "password": server.password_env.value if server.password_env else None,
        "sslmode": server.sslmode,
    }


def _deployed(ctx: Context, path: Path) -> remote_tree.Tree:
    """The deployed directory, on the host the target's files are read from (copied here if remote)."""
    host = ctx.host
    if remote_tree.is_local(host.transport if host is not None else None):
        return remote_tree.Tree(path)
    tree: remote_tree.Tree = ctx.get("deployed_tree", str(path))
    return tree


@fact(endpoint=host_side)
def deployed_tree(ctx: Context, path: str) -> remote_tree.Tree:
    """A directory of the host copied here once per run (Alembic scripts, sqlx migrations)."""
    host = ctx.host
    return remote_tree.fetch(ctx.machine(), host.transport if host is not None else None, Path(path))


@fact(endpoint=host_side)
def alembic_heads(ctx: Context, alembic: AlembicMigrations) -> ScriptHeads:
    """Heads of the deployed Alembic scripts (no database needed)."""
    tree = _deployed(ctx, alembic.scripts)
    if tree.path is None:
        return migrations.ScriptHeads((), tree.error)
    return migrations.script_heads(tree.path)


@fact(endpoint=host_side)
def alembic_state(ctx: Context, alembic: AlembicMigrations) -> AlembicState:
    """Heads of the deployed scripts and the revision(s) stored in the database."""
    server = _database(ctx, alembic.database)
    dead = _reachable(ctx, server)
    if dead is not None:
        return migrations.AlembicState(error=dead.error, unreachable=True)
    tree = _deployed(ctx, alembic.scripts)
    if tree.path is None:
        return migrations.AlembicState(scripts_error=tree.error)
    return migrations.alembic_state(
        tree.path, _conninfo(server), version_table=alembic.version_table, timeout=ctx.timeout.connect
    )


@fact(endpoint=host_side)
def sqlx_state(ctx: Context, sqlx: SqlxMigrations) -> SqlxState:
    """The deployed sqlx migration files against ``_sqlx_migrations``."""
    server = _database(ctx, sqlx.database)
    dead = _reachable(ctx, server)
    if dead is not None:
        return migrations.SqlxState(error=dead.error, unreachable=True)
    tree = _deployed(ctx, sqlx.directory)
    if tree.path is None:
        return migrations.SqlxState(error=tree.error)
    return migrations.sqlx_state(tree.path, _conninfo(server), timeout=ctx.timeout.connect)


@fact(endpoint=host_side)
def schema_objects(ctx: Context, objects: SchemaObjects) -> SchemaState:
    """Declared tables and columns of the live schema, and which of them are missing."""
    server = _database(ctx, objects.database)
    dead = _reachable(ctx, server)
    if dead is not None:
        return migrations.SchemaState({}, (), error=dead.error, unreachable=True)
    return migrations.schema_state(
        _conninfo(server), objects.tables, schema=objects.schema, timeout=ctx.timeout.connect
    )


@fact(endpoint=host_side)
def sqlite_integrity(ctx: Context, db: Sqlite) -> Integrity:
    """``PRAGMA integrity_check`` on a declared SQLite file (read-only)."""
    return sqlite.integrity(ctx.machine(), str(db.path))


@fact(endpoint=host_side)
def sqlite_schema(ctx: Context, db: Sqlite) -> SqliteSchema:
    """Tables and columns of a declared SQLite file, and which declared ones are missing."""
    return sqlite.schema(ctx.machine(), str(db.path), db.tables)
