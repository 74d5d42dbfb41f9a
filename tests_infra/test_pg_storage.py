"""PostgreSQL storage stays healthy: cache hit ratio, dead tuples, unused indexes, size, settings.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

from fixtures.describe import unread


@pytest.mark.check("PG-CACHE-HIT")
def test_postgres_cache_hit_ratio_above_minimum(postgres, facts, threshold, explain):
    pg_stats = facts.pg_stats(postgres)
    minimum, blocks = threshold("min_cache_hit"), threshold("min_cache_blocks")
    total = pg_stats.heap_blks_hit + pg_stats.heap_blks_read
    if pg_stats.ok and total < blocks:
        pytest.skip(
            f"only {total} heap blocks accessed (< min_cache_blocks {blocks}): ratio not meaningful yet"
        )
    ratio = pg_stats.heap_blks_hit / total if total else 1.0
    seen = (
        unread(pg_stats)
        if not pg_stats.ok
        else f"cache hit ratio {ratio:.3f} ({pg_stats.heap_blks_read} blocks read from disk,"
        f" {pg_stats.heap_blks_hit} hit)"
    )
    assert pg_stats.ok and ratio >= minimum, explain(expected=f"heap cache hit ratio >= {minimum}", seen=seen)


@pytest.mark.check("PG-DEAD-TUPLES")
def test_postgres_dead_tuples_below_ratio(postgres, facts, threshold, explain):
    pg_stats = facts.pg_stats(postgres)
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
    seen = unread(pg_stats) if not pg_stats.ok else f"{len(bloated)} tables with dead tuples: {described}"
    assert pg_stats.ok and not bloated, explain(
        expected=f"n_dead_tup / n_live_tup <= {ratio} for tables with >= {floor} dead tuples", seen=seen
    )


@pytest.mark.check("PG-UNUSED-INDEXES")
def test_postgres_no_large_unused_index(postgres, facts, threshold, explain):
    pg_stats = facts.pg_stats(postgres)
    min_kb, strict = threshold("unused_index_min_kb"), threshold("strict_unused_indexes")
    unused = [i for i in pg_stats.unused_indexes if i.size_bytes >= min_kb * 1024]
    described = "; ".join(f"{i.index} on {i.table} ({i.size_bytes / 1024:.0f} kB)" for i in unused[:5])
    if pg_stats.ok and unused and not strict:
        pytest.skip(f"not strict (strict_unused_indexes = false); unused indexes: {described}")
    seen = (
        unread(pg_stats) if not pg_stats.ok else f"{len(unused)} unused indexes (idx_scan = 0): {described}"
    )
    assert pg_stats.ok and not unused, explain(
        expected=f"no non-unique index of >= {min_kb:g} kB with idx_scan = 0", seen=seen
    )


@pytest.mark.check("PG-DB-SIZE")
def test_postgres_database_size_below_limit(postgres, facts, threshold, explain):
    pg_stats = facts.pg_stats(postgres)
    limit = threshold("max_db_mb")
    size_mb = pg_stats.database_bytes / 2**20
    seen = unread(pg_stats) if not pg_stats.ok else f"database size {size_mb:.1f} MB"
    assert pg_stats.ok and size_mb < limit, explain(
        expected=f"database {postgres.dbname} smaller than {limit:g} MB", seen=seen
    )


@pytest.mark.check("PG-SETTINGS")
def test_postgres_settings_as_declared(postgres, facts, explain):
    pg_stats = facts.pg_stats(postgres)
    if not postgres.settings:
        pytest.skip("no settings declared for this entry")
    wrong = {
        name: pg_stats.settings.get(name)
        for name, value in postgres.settings.items()
        if pg_stats.settings.get(name) != str(value)
    }
    seen = (
        unread(pg_stats)
        if not pg_stats.ok
        else "settings drifted: "
        + ", ".join(f"{n} = {v!r} (declared {str(postgres.settings[n])!r})" for n, v in wrong.items())
    )
    assert pg_stats.ok and not wrong, explain(
        expected="SHOW " + ", ".join(f"{n} = {v}" for n, v in postgres.settings.items()), seen=seen
    )
