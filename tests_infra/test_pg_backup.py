"""PostgreSQL can be dumped, and the newest backup in the declared directory is recent and non-empty.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("PG-BACKUP-DUMP")
def test_postgres_schema_dump_succeeds(pg_backup, facts, explain):
    dump = facts.schema_dump(pg_backup)
    seen = f"pg_dump failed: {dump.error}" if not dump.ok else f"{dump.size_bytes} bytes"
    assert dump.ok and dump.size_bytes > 0, explain(
        expected=f"pg_dump --schema-only {pg_backup.dbname} succeeds", seen=seen
    )


@pytest.mark.check("PG-BACKUP-DUMP")
def test_postgres_newest_backup_recent(pg_backup, facts, threshold, explain):
    backup = pg_backup.backup
    max_age = threshold("max_backup_age_h", backup)
    found = facts.newest_backup(pg_backup)
    problem = "stale" if (found.age_hours or 0) >= max_age else "too small"
    seen = (
        f"no backup in {found.directory}: {found.error}"
        if found.path is None
        else f"newest backup {found.path.name} is {problem}:"
        f" {found.age_hours:.1f} h old, {found.size_bytes} bytes"
    )
    fresh = found.age_hours is not None and found.age_hours < max_age and found.size_bytes >= backup.min_bytes
    assert fresh, explain(
        expected=f"a backup matching {backup.pattern!r} in {backup.dir} younger than {max_age:g} h,"
        f" at least {backup.min_bytes} bytes",
        seen=seen,
    )
