"""SQLite files are intact and hold the app's tables (runbook 000: ``PRAGMA integrity_check``, create_all).

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("SQLITE-INTEGRITY")
def test_sqlite_integrity_ok(sqlite_db, sqlite_integrity, explain):
    assert sqlite_integrity.ok, explain(
        expected=f"PRAGMA integrity_check = ok on {sqlite_db.path}",
        seen=f"integrity check failed: {sqlite_integrity.detail}",
    )


@pytest.mark.check("SQLITE-SCHEMA")
def test_sqlite_tables_exist(sqlite_db, sqlite_schema, explain):
    assert sqlite_schema.error is None, explain(
        expected=f"{sqlite_db.path} readable", seen=sqlite_schema.error
    )
    missing = sqlite_schema.missing(sqlite_db.tables)
    assert not missing, explain(
        expected=f"tables {', '.join(sqlite_db.tables)} with their columns",
        seen=f"no such table/column: {', '.join(missing)}",
    )
