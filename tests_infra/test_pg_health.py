"""PostgreSQL stays healthy: connections, sessions, locks, deadlocks, statements, cache, tables, settings.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


def _unread(stats):
    return f"statistics not read: {stats.error}"


def _sessions(sessions, limit=3):
    return "; ".join(f"pid {s.pid} ({s.user}) {s.seconds:.0f} s: {s.query!r}" for s in sessions[:limit])


@pytest.mark.check("PG-CONNECTIONS")
def test_postgres_connections_below_limit(postgres, stores, threshold, explain):
    pg_stats = stores.pg_stats(postgres)
    ratio = threshold("max_connections_ratio")
    used = pg_stats.backends / pg_stats.max_connections if pg_stats.max_connections else 1.0
    seen = (
        _unread(pg_stats)
        if not pg_stats.ok
        else f"{pg_stats.backends} of max_connections {pg_stats.max_connections} ({used:.0%}),"
        f" {pg_stats.active} active"
    )
    assert pg_stats.ok and used < ratio, explain(
        expected=f"client backends < {ratio:.0%} of max_connections", seen=seen
    )


@pytest.mark.check("PG-LONG-QUERIES")
def test_postgres_no_long_running_query(postgres, stores, threshold, explain):
    pg_stats = stores.pg_stats(postgres)
    limit = threshold("max_query_s")
    long = [s for s in pg_stats.active_queries if s.seconds > limit]
    seen = _unread(pg_stats) if not pg_stats.ok else f"{len(long)} long-running: {_sessions(long)}"
    assert pg_stats.ok and not long, explain(
        expected=f"no active query running longer than {limit:g} s", seen=seen
    )


@pytest.mark.check("PG-IDLE-IN-TRANSACTION")
def test_postgres_no_session_idle_in_transaction(postgres, stores, threshold, explain):
    pg_stats = stores.pg_stats(postgres)
    limit = threshold("max_idle_in_transaction_s")
    idle = [s for s in pg_stats.idle_in_transaction if s.seconds > limit]
    seen = _unread(pg_stats) if not pg_stats.ok else f"{len(idle)} idle in transaction: {_sessions(idle)}"
    assert pg_stats.ok and not idle, explain(
        expected=f"no session idle in transaction longer than {limit:g} s", seen=seen
    )


@pytest.mark.check("PG-BLOCKED-LOCKS")
def test_postgres_no_long_lock_wait(postgres, stores, threshold, explain):
    pg_stats = stores.pg_stats(postgres)
    limit = threshold("max_lock_wait_s")
    waits = [w for w in pg_stats.lock_waits if w.seconds > limit]
    described = "; ".join(
        f"pid {w.pid} waits {w.seconds:.0f} s on {list(w.blocking_pids)}"
        f" ({w.query!r} blocked by {w.blocking_query!r})"
        for w in waits[:3]
    )
    seen = _unread(pg_stats) if not pg_stats.ok else f"{len(waits)} blocked lock waits: {described}"
    assert pg_stats.ok and not waits, explain(expected=f"no lock wait longer than {limit:g} s", seen=seen)


@pytest.mark.check("PG-SLOW-STATEMENTS")
def test_postgres_statement_stats_installed(postgres, stores, explain):
    pg_stats = stores.pg_stats(postgres)
    seen = (
        _unread(pg_stats)
        if not pg_stats.ok
        else "extension pg_stat_statements not installed in this database"
    )
    assert pg_stats.ok and pg_stats.statements_installed, explain(
        expected="pg_stat_statements installed (shared_preload_libraries + CREATE EXTENSION)", seen=seen
    )


@pytest.mark.check("PG-SLOW-STATEMENTS")
def test_postgres_no_slow_statement(postgres, stores, threshold, explain):
    pg_stats = stores.pg_stats(postgres)
    limit, calls = threshold("max_mean_ms"), threshold("min_calls")
    slow = [s for s in pg_stats.statements if s.calls >= calls and s.mean_ms > limit]
    worst = "; ".join(f"{s.mean_ms:.0f} ms mean over {s.calls} calls: {s.query!r}" for s in slow[:3])
    seen = _unread(pg_stats) if not pg_stats.ok else f"{len(slow)} slow statements: {worst}"
    assert pg_stats.ok and not slow, explain(
        expected=f"no statement with >= {calls} calls averaging more than {limit:g} ms", seen=seen
    )


@pytest.mark.check("PG-CACHE-HIT")
def test_postgres_cache_hit_ratio_above_minimum(postgres, stores, threshold, explain):
    pg_stats = stores.pg_stats(postgres)
    minimum, blocks = threshold("min_cache_hit"), threshold("min_cache_blocks")
    total = pg_stats.heap_blks_hit + pg_stats.heap_blks_read
    if pg_stats.ok and total < blocks:
        pytest.skip(
            f"only {total} heap blocks accessed (< min_cache_blocks {blocks}): ratio not meaningful yet"
        )
    ratio = pg_stats.heap_blks_hit / total if total else 1.0
    seen = (
        _unread(pg_stats)
        if not pg_stats.ok
        else f"cache hit ratio {ratio:.3f} ({pg_stats.heap_blks_read} blocks read from disk,"
        f" {pg_stats.heap_blks_hit} hit)"
    )
    assert pg_stats.ok and ratio >= minimum, explain(expected=f"heap cache hit ratio >= {minimum}", seen=seen)


@pytest.mark.check("PG-DEAD-TUPLES")
def test_postgres_dead_tuples_below_ratio(postgres, stores, threshold, explain):
    pg_stats = stores.pg_stats(postgres)
    ratio, floor = threshold("max_dead_ratio"), threshold("min_dead_tuples")
    bloated = [t for t in pg_stats.tables if t.dead >= floor and t.ratio > ratio]
    described = "; ".join(
        f"{t.table} {t.dead} dead / {t.live} live ({t.ratio:.2f}), "
        + (
            "never vacuumed"
            if t.since_vacuum_s is None
            else f"last vacuum {t.since_vacuum_s / 3600:.1f} h ago"
        )
        for t in bloated[:3]
    )
    seen = _unread(pg_stats) if not pg_stats.ok else f"{len(bloated)} tables with dead tuples: {described}"
    assert pg_stats.ok and not bloated, explain(
        expected=f"n_dead_tup / n_live_tup <= {ratio} for tables with >= {floor} dead tuples", seen=seen
    )


@pytest.mark.check("PG-UNUSED-INDEXES")
def test_postgres_no_large_unused_index(postgres, stores, threshold, explain):
    pg_stats = stores.pg_stats(postgres)
    min_kb, strict = threshold("unused_index_min_kb"), threshold("strict_unused_indexes")
    unused = [i for i in pg_stats.unused_indexes if i.size_bytes >= min_kb * 1024]
    described = "; ".join(f"{i.index} on {i.table} ({i.size_bytes / 1024:.0f} kB)" for i in unused[:5])
    if pg_stats.ok and unused and not strict:
        pytest.skip(f"not strict (strict_unused_indexes = false); unused indexes: {described}")
    seen = (
        _unread(pg_stats) if not pg_stats.ok else f"{len(unused)} unused indexes (idx_scan = 0): {described}"
    )
    assert pg_stats.ok and not unused, explain(
        expected=f"no non-unique index of >= {min_kb:g} kB with idx_scan = 0", seen=seen
    )


@pytest.mark.check("PG-DB-SIZE")
def test_postgres_database_size_below_limit(postgres, stores, threshold, explain):
    pg_stats = stores.pg_stats(postgres)
    limit = threshold("max_db_mb")
    size_mb = pg_stats.database_bytes / 2**20
    seen = _unread(pg_stats) if not pg_stats.ok else f"database size {size_mb:.1f} MB"
    assert pg_stats.ok and size_mb < limit, explain(
        expected=f"database {postgres.dbname} smaller than {limit:g} MB", seen=seen
    )


@pytest.mark.check("PG-SETTINGS")
def test_postgres_settings_as_declared(postgres, stores, explain):
    pg_stats = stores.pg_stats(postgres)
    if not postgres.settings:
        pytest.skip("no settings declared for this entry")
    wrong = {
        name: pg_stats.settings.get(name)
        for name, value in postgres.settings.items()
        if pg_stats.settings.get(name) != str(value)
    }
    seen = (
        _unread(pg_stats)
        if not pg_stats.ok
        else "settings drifted: "
        + ", ".join(f"{n} = {v!r} (declared {str(postgres.settings[n])!r})" for n, v in wrong.items())
    )
    assert pg_stats.ok and not wrong, explain(
        expected="SHOW " + ", ".join(f"{n} = {v}" for n, v in postgres.settings.items()), seen=seen
    )


@pytest.mark.check("PG-DEADLOCKS")
def test_postgres_no_new_deadlocks(postgres, stores, threshold, explain):
    pg_stats = stores.pg_stats(postgres)
    window = stores.deadlock_window(
        postgres, pg_stats, window_s=threshold("deadlock_window_s"), allowed=threshold("max_new_deadlocks")
    )
    allowed = threshold("max_new_deadlocks")
    seen = (
        _unread(pg_stats)
        if not pg_stats.ok
        else f"pg_stat_database.deadlocks {window.before} -> {window.after}: {window.new} new deadlocks"
        f" in {window.seconds:.1f} s"
    )
    assert pg_stats.ok and window.after is not None and window.new <= allowed, explain(
        expected=f"at most {allowed} new deadlocks over {threshold('deadlock_window_s'):g} s", seen=seen
    )
