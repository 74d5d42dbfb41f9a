"""The declared admin account exists and is active: it logs in through its service's auth contract, or
its row in the users table says active (and admin, when the table has such a column).

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("AUTH-ADMIN-EXISTS")
def test_auth_admin_account_logs_in(admin_login, facts, explain):
    auth, users = admin_login
    outcome = facts.admin_login(auth, users)
    assert outcome.problem is None, explain(
        expected=f"{auth.login_url} to log the admin {users.admin!r} in (password from "
        f"${users.password_env.env}) with an access token at {auth.tokens.access!r}",
        seen=outcome.problem,
    )


@pytest.mark.check("AUTH-ADMIN-EXISTS")
def test_auth_admin_row_active(admin_row, facts, explain):
    auth, users = admin_row
    row = facts.admin_account_row(auth, users)
    where = f"{users.table} of [[postgres]] {users.database}"
    assert row.error is None, explain(expected=f"to read the admin's row in {where}", seen=row.error)
    flags = [f"{c} true" for c in (users.active_column, users.admin_column) if c]
    wanted = f"a row {users.username_column} = {users.admin!r} in {where}" + (
        f" with {' and '.join(flags)}" if flags else ""
    )
    assert row.found, explain(expected=wanted, seen=f"no row {users.username_column} = {users.admin!r}")
    assert row.active is not False, explain(
        expected=wanted, seen=f"the admin {users.admin!r} is inactive ({users.active_column} false)"
    )
    assert row.admin is not False, explain(
        expected=wanted, seen=f"{users.admin!r} is no admin ({users.admin_column} false)"
    )
