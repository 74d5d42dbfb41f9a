"""Faults of the application's accounts (AUTH-ADMIN-EXISTS, AUTH-TENANT-SCHEMA) and of its upload limit
(HTTP-UPLOAD-LIMIT, CONFIG-UPLOAD-LIMITS).

The account faults change rows and schemas of the stack's database (stack/tenants.py), each heal runs
``tenants.ensure``, which writes the healthy state back. The upload fault drops a snippet into nginx's
``upload.d`` that lowers ``client_max_body_size`` at the upload location below the application's limit,
and reloads nginx; its heal removes the snippet and reloads. Data: stack/faults.d/accounts.toml.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from psycopg import sql

from stack import hostfiles, tenants
from stack.faults import Action
from stack.parts import Context, NginxPart

__all__ = ["ACTIONS"]

Probe = Callable[[Context], bool]
NEW_USER = (5, "dave")  # active, and never given a schema
DROPPED = (tenants.schema_of(2), "listings")
LOWERED_LIMIT = "512k"  # below MAX_FILE_SIZE (1 MiB)


def _scalar(ctx: Context, query: sql.Composed) -> object:
    with tenants.connect(ctx) as conn:
        row = conn.execute(query).fetchone()
    return row[0] if row else None


# ---------------------------------------------------------------- accounts


def _deactivate_admin(ctx: Context) -> None:
    with tenants.connect(ctx) as conn:
        conn.execute(
            sql.SQL("UPDATE {} SET is_active = false WHERE username = %s").format(
                sql.Identifier(tenants.USERS_TABLE)
            ),
            (tenants.ADMIN,),
        )


def _admin_active(ctx: Context) -> bool:
    query = sql.SQL("SELECT bool_or(is_active) FROM {} WHERE username = {}").format(
        sql.Identifier(tenants.USERS_TABLE), sql.Literal(tenants.ADMIN)
    )
    return _scalar(ctx, query) is True


def _drop_tenant_table(ctx: Context) -> None:
    with tenants.connect(ctx) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(*DROPPED)))


def _tenant_table_present(ctx: Context) -> bool:
    return _scalar(ctx, sql.SQL("SELECT to_regclass({})").format(sql.Literal(".".join(DROPPED)))) is not None


def _add_user_without_schema(ctx: Context) -> None:
    with tenants.connect(ctx) as conn:
        conn.execute(
            sql.SQL("INSERT INTO {} VALUES (%s, %s, true, false) ON CONFLICT (id) DO NOTHING").format(
                sql.Identifier(tenants.USERS_TABLE)
            ),
            NEW_USER,
        )


def _extra_user(ctx: Context) -> bool:
    query = sql.SQL("SELECT count(*) FROM {} WHERE id = {}").format(
        sql.Identifier(tenants.USERS_TABLE), sql.Literal(NEW_USER[0])
    )
    return _scalar(ctx, query) == 1


def _not(probe: Probe) -> Probe:
    return lambda ctx: not probe(ctx)


# ---------------------------------------------------------------- upload limit


def _snippet(ctx: Context) -> Path:
    return ctx.lay.nginx / "upload.d" / "lowered.conf"


def _lower_limit(ctx: Context) -> None:
    _snippet(ctx).parent.mkdir(parents=True, exist_ok=True)
    _snippet(ctx).write_text(
        f"# the upload-limit-lowered fault: below the application's MAX_FILE_SIZE\n"
        f"client_max_body_size {LOWERED_LIMIT};\n"
    )
    NginxPart(ctx).reload()


def _restore_limit(ctx: Context) -> None:
    if _snippet(ctx).exists():
        _snippet(ctx).unlink()
        NginxPart(ctx).reload()


def _upload_status(ctx: Context) -> int:
    """What nginx answers to a raw upload just below the application's limit."""
    url = f"https://localhost:{ctx.ports.nginx_https}/api/upload"
    data = b"\0" * (hostfiles.UPLOAD_MAX_BYTES - 1)
    req = urllib.request.Request(url, data=data, method="POST")
    req.add_header("Content-Type", "application/octet-stream")
    context = ssl.create_default_context(cafile=str(ctx.tls.ca))
    try:
        with urllib.request.urlopen(req, timeout=5, context=context) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as err:
        return err.code


def _proxy_refuses_below_limit(ctx: Context) -> bool:
    return _upload_status(ctx) == 413


ACTIONS: dict[str, Action] = {
    "admin-deactivated": Action(
        needs=("postgres",),
        broken=_not(_admin_active),
        healthy=_admin_active,
        on_apply=_deactivate_admin,
        on_heal=tenants.ensure,
    ),
    "tenant-table-dropped": Action(
        needs=("postgres",),
        broken=_not(_tenant_table_present),
        healthy=_tenant_table_present,
        on_apply=_drop_tenant_table,
        on_heal=tenants.ensure,
    ),
    "tenant-schema-missing": Action(
        needs=("postgres",),
        broken=_extra_user,
        healthy=_not(_extra_user),
        on_apply=_add_user_without_schema,
        on_heal=tenants.ensure,
    ),
    "upload-limit-lowered": Action(
        needs=("nginx", "service"),
        broken=_proxy_refuses_below_limit,
        healthy=_not(_proxy_refuses_below_limit),
        on_apply=_lower_limit,
        on_heal=_restore_limit,
    ),
}
