"""PostgreSQL sessions stay healthy: connections, long queries, idle transactions, locks, deadlocks,
slow statements.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

from fixtures.describe import sessions, unread


@pytest.mark.check("PG-CONNECTIONS")
def test_postgres_connections_below_limit(postgres, facts, threshold, explain):
    pg_stats = facts.pg_stats(postgres)
    ratio = threshold("max_connections_ratio")
    used = pg_stats.backends / pg_stats.max_connections if pg_stats.max_connections else 1.0
    seen = (
        unread(pg_stats)
        if not pg_stats.ok
        else f"{pg_stats.backends} of max_connections {pg_stats.max_connections} ({used:.0%}),"
        f" {pg_stats.active} active"
    )
    assert pg_stats.ok and used < ratio, explain(
        expected=f"client backends < {ratio:.0%} of max_connections", seen=seen
    )


@pytest.mark.check("PG-LONG-QUERIES")
def test_postgres_no_long_running_query(postgres, facts, threshold, explain):
    pg_stats = facts.pg_stats(postgres)
    limit = threshold("max_query_s")
    long = [s for s in pg_stats.active_queries if s.seconds > limit]
    seen = unread(pg_stats) if not pg_stats.ok else f"{len(long)} long-running: {sessions(long)}"
    assert pg_stats.ok and not long, explain(
        expected=f"no active query running longer than {limit:g} s", seen=seen
    )


@pytest.mark.check("PG-IDLE-IN-TRANSACTION")
def test_postgres_no_session_idle_in_transaction(postgres, facts, threshold, explain):
    pg_stats = facts.pg_stats(postgres)
    limit = threshold("max_idle_in_transaction_s")
    idle = [s for s in pg_stats.idle_in_transaction if s.seconds > limit]
    seen = unread(pg_stats) if not pg_stats.ok else f"{len(idle)} idle in transaction: {sessions(idle)}"
    assert pg_stats.ok and not idle, explain(
        expected=f"no session idle in transaction longer than {limit:g} s", seen=seen
    )


@pytest.mark.check("PG-BLOCKED-LOCKS")
def test_postgres_no_long_lock_wait(postgres, facts, threshold, explain):
    pg_stats = facts.pg_stats(postgres)
    limit = threshold("max_lock_wait_s")
    waits = [w for w in pg_stats.lock_waits if w.seconds > limit]
    described = "; ".join(
        f"pid {w.pid} waits {w.seconds:.0f} s on {list(w.blocking_pids)}"
        f" ({w.query!r} blocked by {w.blocking_query!r})"
        for w in waits[:3]
    )
    seen = unread(pg_stats) if not pg_stats.ok else f"{len(waits)} blocked lock waits: {described}"
    assert pg_stats.ok and not waits, explain(expected=f"no lock wait longer than {limit:g} s", seen=seen)


@pytest.mark.check("PG-SLOW-STATEMENTS")
def test_postgres_statement_stats_installed(postgres, facts, explain):
    pg_stats = facts.pg_stats(postgres)
    if pg_stats.ok and not pg_stats.statements_installed and not postgres.require_pg_stat_statements:
        pytest.skip("not applicable: pg_stat_statements not installed (require_pg_stat_statements = false)")
    seen = (
        unread(pg_stats) if not pg_stats.ok else "extension pg_stat_statements not installed in this database"
    )
    assert pg_stats.ok and pg_stats.statements_installed, explain(
        expected="pg_stat_statements installed (shared_preload_libraries + CREATE EXTENSION)", seen=seen
    )


@pytest.mark.check("PG-SLOW-STATEMENTS")
def test_postgres_no_slow_statement(postgres, facts, threshold, explain):
    pg_stats = facts.pg_stats(postgres)
    if pg_stats.ok and not pg_stats.statements_installed:
        pytest.skip("not applicable: no pg_stat_statements to read statement times from")
    limit, calls = threshold("max_mean_ms"), threshold("min_calls")
    slow = [s for s in pg_stats.statements if s.calls >= calls and s.mean_ms > limit]
    worst = "; ".join(f"{s.mean_ms:.0f} ms mean over {s.calls} calls: {s.query!r}" for s in slow[:3])
    seen = unread(pg_stats) if not pg_stats.ok else f"{len(slow)} slow statements: {worst}"
    assert pg_stats.ok and not slow, explain(
        expected=f"no statement with >= {calls} calls averaging more than {limit:g} ms", seen=seen
    )


@pytest.mark.check("PG-DEADLOCKS")
def test_postgres_no_new_deadlocks(postgres, facts, threshold, explain):
    pg_stats = facts.pg_stats(postgres)
    window = facts.deadlock_window(postgres, threshold("deadlock_window_s"), threshold("max_new_deadlocks"))
    allowed = threshold("max_new_deadlocks")
    seen = (
        unread(pg_stats)
        if not pg_stats.ok
        else f"pg_stat_database.deadlocks {window.before} -> {window.after}: {window.new} new deadlocks"
        f" in {window.seconds:.1f} s"
    )
    assert pg_stats.ok and window.after is not None and window.new <= allowed, explain(
        expected=f"at most {allowed} new deadlocks over {threshold('deadlock_window_s'):g} s", seen=seen
    )
