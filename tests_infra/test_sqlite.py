"""SQLite files are intact and hold the app's tables (runbook 000: ``PRAGMA integrity_check``, create_all).

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("SQLITE-INTEGRITY")
def test_sqlite_integrity_ok(sqlite_db, facts, explain):
    result = facts.sqlite_integrity(sqlite_db)
    assert result.ok, explain(
        expected=f"PRAGMA integrity_check = ok on {sqlite_db.path}",
        seen=f"integrity check failed: {result.detail}",
    )


@pytest.mark.check("SQLITE-SCHEMA")
def test_sqlite_tables_exist(sqlite_db, facts, explain):
    schema = facts.sqlite_schema(sqlite_db)
    assert schema.error is None, explain(expected=f"{sqlite_db.path} readable", seen=schema.error)
    assert not schema.missing, explain(
        expected=f"tables {', '.join(sqlite_db.tables)} with their columns",
        seen=f"no such table/column: {', '.join(schema.missing)}",
    )
