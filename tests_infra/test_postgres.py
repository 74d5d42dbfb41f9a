"""PostgreSQL accepts connections and answers SELECT 1; the session is the expected database and user.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("PG-READY")
def test_postgres_accepts_connections(postgres, facts, explain):
    status = facts.postgres(postgres)
    assert status.ready, explain(
        expected=f"SELECT 1 answered as {postgres.user}@{postgres.dbname}", seen=f"not ready: {status.error}"
    )


@pytest.mark.check("PG-CONNINFO")
def test_postgres_session_is_expected_database_and_user(postgres, facts, explain):
    status = facts.postgres(postgres)
    seen = f"not connected: {status.error}" if not status.ready else f"{status.user}@{status.database}"
    assert (status.database, status.user) == (postgres.dbname, postgres.user), explain(
        expected=f"{postgres.user}@{postgres.dbname}", seen=seen
    )


@pytest.mark.check("PG-CONNINFO")
def test_postgres_version_at_least_minimum(postgres, facts, explain):
    status = facts.postgres(postgres)
    minimum = postgres.min_version or 0
    seen = (
        f"not connected: {status.error}"
        if not status.ready
        else f"server_version_num {status.server_version}"
    )
    assert status.server_version is not None and status.server_version >= minimum, explain(
        expected=f"server_version_num >= {minimum}", seen=seen
    )


@pytest.mark.check("PG-CONNINFO")
def test_postgres_ssl_in_use_when_required(postgres, facts, explain):
    status = facts.postgres(postgres)
    required = postgres.require_ssl
    seen = f"not connected: {status.error}" if not status.ready else f"ssl in use: {status.ssl_in_use}"
    assert status.ready and (status.ssl_in_use or not required), explain(
        expected="an SSL session" if required else "a session (SSL not required)", seen=seen
    )
