"""The newest PostgreSQL backup restores (intrusive drill): into a scratch database that is dropped again,
with as many rows per table as the live database holds.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


def _drill(pg_backup, facts, threshold):
    return facts.restore_drill(pg_backup, threshold("max_restore_s", pg_backup.backup))


def _name(drill) -> str:
    return drill.backup.name if drill.backup is not None else "no backup"


@pytest.mark.check("PG-RESTORE-DRILL")
def test_postgres_newest_backup_restores(pg_backup, facts, threshold, explain):
    drill = _drill(pg_backup, facts, threshold)
    names = ", ".join(drill.skipped_extensions)
    skipped = f" (extensions not created: {names})" if names else ""
    seen = (
        f"restore of {_name(drill)} failed: {drill.error}{skipped}"
        if not drill.restored
        else f"{_name(drill)} restored into {drill.scratch} in {drill.elapsed_s:.1f} s{skipped}"
    )
    assert drill.restored, explain(
        expected=f"the newest backup in {pg_backup.backup.dir} restores into a scratch database", seen=seen
    )


@pytest.mark.check("PG-RESTORE-DRILL")
def test_postgres_restored_row_counts_match_live(pg_backup, facts, threshold, explain):
    drill = _drill(pg_backup, facts, threshold)
    limit = threshold("max_row_drift", pg_backup.backup)
    off = drill.drifting(limit)
    seen = (
        f"restore of {_name(drill)} failed: {drill.error}"
        if not drill.restored
        else "the restored database holds no table"
        if not drill.tables
        else "; ".join(t.describe() for t in off[:5])
        if off
        else f"{len(drill.tables)} tables within {limit:.0%}"
    )
    assert drill.restored and drill.tables and not off, explain(
        expected=f"each restored table's row count within {limit:.0%} of the live database's", seen=seen
    )


@pytest.mark.check("PG-RESTORE-DRILL")
def test_postgres_restore_scratch_dropped(pg_backup, facts, threshold, explain):
    drill = _drill(pg_backup, facts, threshold)
    if drill.scratch is None:
        pytest.skip(f"no scratch database was created: {drill.error}")
    seen = f"{drill.scratch} dropped" if drill.dropped else f"{drill.scratch} left behind: {drill.drop_error}"
    assert drill.dropped, explain(expected="the scratch database dropped after the drill", seen=seen)
