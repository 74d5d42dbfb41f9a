"""Accounts in the application's database: the admin's row and the tenant schemas, on a real PostgreSQL.

The cluster is ``test_probe_datastores``'s throw-away one (loopback, trust auth); each test builds its
own users table and schemas in a fresh database. Also: the inventory shapes of ``[[auth]] users`` and
``[[postgres]] tenants``, and the admin's own login through an auth contract (a loopback server).
"""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from infragate.inventory import Auth, InventoryError, build, load_target
from infragate.probes import tenants
from infragate.probes._base import Timeout
from infragate.probes.auth import LoginLedger
from selftest.unit.servers import http_server
from selftest.unit.test_probe_datastores import pg_port

__all__ = ["pg_port"]  # the module-scoped cluster fixture, reused here

SCHEMA = """
CREATE TABLE accounts (id integer PRIMARY KEY, login text UNIQUE, active boolean, staff boolean,
                       schema_name text);
INSERT INTO accounts VALUES (1, 'admin', true, true, 'tenant_1'), (2, 'alice', true, false, 'tenant_2'),
                            (3, 'carol', false, false, NULL);
CREATE SCHEMA tmpl;
CREATE TABLE tmpl.products (id integer);
CREATE TABLE tmpl.listings (id integer);
CREATE TABLE tmpl.alembic_version (version_num text);
CREATE SCHEMA tenant_1;
CREATE TABLE tenant_1.products (id integer);
CREATE TABLE tenant_1.listings (id integer);
CREATE SCHEMA tenant_2;
CREATE TABLE tenant_2.products (id integer);
CREATE TABLE tenant_2.listings (id integer);
"""


@pytest.fixture
def db(pg_port: int, request: pytest.FixtureRequest) -> Iterator[dict[str, object]]:
    """A fresh database holding the accounts table, the template schema and two tenants."""
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "").replace("-", "_")[:50]
    with psycopg.connect(host="127.0.0.1", port=pg_port, user="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    conninfo: dict[str, object] = {"host": "127.0.0.1", "port": pg_port, "dbname": name, "user": "postgres"}
    with psycopg.connect(**conninfo, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(SCHEMA)
    yield conninfo
    with psycopg.connect(host="127.0.0.1", port=pg_port, user="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(conninfo: dict[str, object], sql: str) -> None:
    with psycopg.connect(**conninfo, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(sql)


def _state(conninfo: dict[str, object], **kwargs: object) -> tenants.TenantState:
    spec: dict[str, object] = {
        "users_table": "public.accounts",
        "id_column": "id",
        "active_column": "active",
        "schema_template": "tenant_{id}",
        "schema_column": None,
        "template_schema": "tmpl",
        "ignore_tables": ("alembic_version",),
        "timeout": 5.0,
        **kwargs,
    }
    return tenants.tenant_state(conninfo, **spec)  # type: ignore[arg-type]


def test_healthy_tenants_have_no_problem_and_inactive_users_need_no_schema(db: dict[str, object]) -> None:
    state = _state(db)
    assert state.error is None and state.problems == () and state.users == 2
    assert state.template_tables == ("listings", "products")


def test_missing_table_missing_schema_and_stale_table_are_named(db: dict[str, object]) -> None:
    _run(db, "DROP TABLE tenant_2.listings; CREATE TABLE tenant_1.old_items (id integer)")
    _run(db, "INSERT INTO accounts VALUES (5, 'dave', true, false, 'tenant_5')")
    assert _state(db).problems == (
        "no schema tenant_5",
        "tenant_2 lacks listings",
        "tenant_1 has stale old_items",
    )


def test_schema_from_a_column(db: dict[str, object]) -> None:
    _run(db, "UPDATE accounts SET schema_name = 'tenant_9' WHERE id = 2")
    state = _state(db, schema_column="schema_name", schema_template=None)
    assert state.problems == ("no schema tenant_9",)


def test_without_ignore_the_template_table_is_missing_everywhere(db: dict[str, object]) -> None:
    state = _state(db, ignore_tables=())
    assert "tenant_1 lacks alembic_version" in state.problems


def test_unknown_users_table_is_an_error_with_its_reason(db: dict[str, object]) -> None:
    state = _state(db, users_table="public.nope")
    assert state.error is not None and "nope" in state.error and not state.unreachable


def test_missing_template_schema_is_an_error(db: dict[str, object]) -> None:
    assert _state(db, template_schema="gone").error == "the template schema 'gone' has no tables"


def test_problems_are_bounded() -> None:
    state = tenants.compare_tenants([f"t{i}" for i in range(15)], ["a"], {})
    assert len(state.problems) == tenants.SHOWN + 1 and state.problems[-1] == "and 5 more"


def _admin(conninfo: dict[str, object], username: str, **kwargs: object) -> tenants.AdminRow:
    spec: dict[str, object] = {
        "table": "accounts",
        "username_column": "login",
        "active_column": "active",
        "admin_column": "staff",
        "timeout": 5.0,
        **kwargs,
    }
    return tenants.admin_row(conninfo, username=username, **spec)  # type: ignore[arg-type]


def test_admin_row_found_active_admin(db: dict[str, object]) -> None:
    assert _admin(db, "admin") == tenants.AdminRow(True, True, True)


def test_admin_row_inactive_missing_and_not_admin(db: dict[str, object]) -> None:
    _run(db, "UPDATE accounts SET active = false WHERE login = 'admin'")
    assert _admin(db, "admin").active is False
    assert _admin(db, "nobody") == tenants.AdminRow(found=False)
    assert _admin(db, "alice").admin is False
    assert _admin(db, "alice", admin_column=None, active_column=None) == tenants.AdminRow(True, None, None)


def test_admin_row_names_are_identifiers_never_sql(db: dict[str, object]) -> None:
    # A column name cannot smuggle SQL in: it is an identifier, so this is an unknown column, not a write.
    row = _admin(db, "admin", username_column="login = 'x'; DELETE FROM accounts; --")
    assert row.error is not None and "does not exist" in row.error
    assert _admin(db, "admin").found


# ---------------------------------------------------------------------------- inventory


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "t.toml"
    path.write_text(text)
    return load_target(path)


PG = '[[postgres]]\nname = "db"\nhost = "127.0.0.1"\ndbname = "app"\nuser = "app"\n'
AUTH = '[[auth]]\nlogin_url = "http://x.test/login"\nusername = "svc"\npassword_env = "T_PW"\n'


def test_inventory_tenants_and_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_PW", "pw")
    text = f'{PG}tenants = {{ template_schema = "tmpl" }}\n{AUTH}users = {{ database = "db" }}\n'
    target = _load(tmp_path, text)
    (server,) = target.postgres  # type: ignore[attr-defined]
    assert server.tenants.schema_template == "tenant_{id}" and server.tenants.users_table == "users"
    (auth,) = target.auth  # type: ignore[attr-defined]
    assert auth.users.admin == "admin" and auth.users.active_column == "is_active"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (f'{PG}tenants = {{ template_schema = "t", schema_template = "tenant" }}\n', 'must contain "{id}"'),
        (f'{AUTH}users = {{ admin = "root" }}\n', "declare how to find the admin"),
    ],
)
def test_inventory_rejects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, words: str) -> None:
    monkeypatch.setenv("T_PW", "pw")
    with pytest.raises(InventoryError, match=words):
        _load(tmp_path, text)


# ---------------------------------------------------------------------------- the admin's own login


def _login_server(req: http.server.BaseHTTPRequestHandler) -> None:
    sent = json.loads(req.rfile.read(int(req.headers["Content-Length"])))
    ok = sent == {"username": "root", "password": "admin-secret"}
    body = json.dumps({"access_token": "a.b.c"} if ok else {"detail": {"code": "INVALID_CREDENTIALS"}})
    req.send_response(200 if ok else 401)
    req.send_header("Content-Type", "application/json")
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    req.wfile.write(body.encode())


class _Ctx:
    """The part of the facts context the admin login uses: timeouts, trust and the run's login ledger."""

    timeout = Timeout(2.0, 5.0)

    def __init__(self) -> None:
        self.ledger = LoginLedger()

    def trust(self, entry: object) -> None:
        return None

    def get(self, name: str, *args: object) -> object:
        assert name == "login_ledger"
        return self.ledger


@pytest.mark.parametrize(("password", "logged_in"), [("admin-secret", True), ("stale-secret", False)])
def test_admin_login_once_through_the_contract(
    monkeypatch: pytest.MonkeyPatch, password: str, logged_in: bool
) -> None:
    monkeypatch.setenv("T_PW", "svc-secret")
    monkeypatch.setenv("T_ADMIN_PW", password)
    ctx = _Ctx()
    with http_server(_login_server) as port:
        spec = {
            "login_url": f"http://127.0.0.1:{port}/auth/login",
            "username": "svc",
            "password_env": "T_PW",
            "users": {"admin": "root", "password_env": "T_ADMIN_PW"},
        }
        auth = build(Auth, spec, "auth[0]", Path("."))
        assert auth.users is not None
        first = tenants.admin_login(ctx, auth, auth.users)  # type: ignore[arg-type]
        again = tenants.admin_login(ctx, auth, auth.users)  # type: ignore[arg-type]
    assert (first.problem is None) == logged_in and password not in first.evidence
    assert again.problem is not None and "budget spent" in again.problem  # one login per run, never two
    assert ctx.ledger.summary() == "auth/root 1 (budget 1 each)"
