"""Redis stays healthy: fast PINGs, memory under its cap, the declared eviction and persistence, few clients.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest

from fixtures.describe import unread

_PERSISTENCE = {(False, False): "none", (True, False): "rdb", (False, True): "aof", (True, True): "rdb+aof"}


@pytest.mark.check("REDIS-LATENCY")
def test_redis_ping_latency_below_limit(redis_server, facts, threshold, explain):
    redis_stats = facts.redis_stats(redis_server)
    limit = threshold("max_latency_ms")
    p99 = facts.redis_ping_p99(redis_server)
    seen = (
        unread(redis_stats)
        if not redis_stats.ok
        else f"PING refused: {redis_stats.ping_error}"
        if p99 is None
        else f"PING p99 {p99:.1f} ms (max {max(redis_stats.ping_ms):.1f} ms"
        f" over {len(redis_stats.ping_ms)} round trips)"
    )
    assert p99 is not None and p99 < limit, explain(expected=f"PING p99 < {limit:g} ms", seen=seen)


@pytest.mark.check("REDIS-MEMORY")
def test_redis_maxmemory_set(redis_server, facts, explain):
    redis_stats = facts.redis_stats(redis_server)
    maxmemory = redis_stats.number("maxmemory")
    seen = (
        unread(redis_stats)
        if not redis_stats.ok
        else "maxmemory 0 (unlimited: Redis grows until the OOM killer)"
    )
    assert redis_stats.ok and maxmemory > 0, explain(expected="maxmemory set (non-zero)", seen=seen)


@pytest.mark.check("REDIS-MEMORY")
def test_redis_memory_below_maxmemory(redis_server, facts, threshold, explain):
    redis_stats = facts.redis_stats(redis_server)
    ratio = threshold("max_memory_ratio")
    used, cap = redis_stats.number("used_memory"), redis_stats.number("maxmemory")
    if redis_stats.ok and cap == 0:
        pytest.skip("maxmemory not set (test_redis_maxmemory_set fails)")
    share = used / cap if cap else 1.0
    seen = (
        unread(redis_stats)
        if not redis_stats.ok
        else f"used_memory {used / 2**20:.1f} MB of maxmemory {cap / 2**20:.1f} MB ({share:.0%}),"
        f" evicted_keys {redis_stats.number('evicted_keys'):.0f}"
    )
    assert redis_stats.ok and share < ratio, explain(
        expected=f"used_memory < {ratio:.0%} of maxmemory", seen=seen
    )


@pytest.mark.check("REDIS-MEMORY")
def test_redis_fragmentation_below_limit(redis_server, facts, threshold, explain):
    redis_stats = facts.redis_stats(redis_server)
    limit, floor_mb = threshold("max_fragmentation"), threshold("fragmentation_min_mb")
    used_mb = redis_stats.number("used_memory") / 2**20
    if redis_stats.ok and used_mb < floor_mb:
        # A nearly empty Redis has a large RSS/used ratio that means nothing (MEMORY DOCTOR ignores it too).
        pytest.skip(f"used_memory {used_mb:.1f} MB < fragmentation_min_mb {floor_mb:g}: ratio not meaningful")
    frag = redis_stats.number("mem_fragmentation_ratio")
    seen = unread(redis_stats) if not redis_stats.ok else f"mem_fragmentation_ratio {frag:.2f}"
    assert redis_stats.ok and frag < limit, explain(
        expected=f"mem_fragmentation_ratio < {limit:g}", seen=seen
    )


@pytest.mark.check("REDIS-EVICTION-POLICY")
def test_redis_eviction_policy_as_declared(redis_server, facts, threshold, explain):
    redis_stats = facts.redis_stats(redis_server)
    policy = threshold("maxmemory_policy")
    got = redis_stats.text("maxmemory-policy")
    seen = unread(redis_stats) if not redis_stats.ok else f"maxmemory-policy {got}"
    assert got == policy, explain(expected=f"maxmemory-policy {policy}", seen=seen)


@pytest.mark.check("REDIS-PERSISTENCE")
def test_redis_persistence_mode_as_declared(redis_server, facts, threshold, explain):
    redis_stats = facts.redis_stats(redis_server)
    declared = threshold("persistence")
    save, aof = redis_stats.text("save"), redis_stats.text("appendonly")
    if redis_stats.ok and save is None:
        pytest.skip("CONFIG GET save not allowed on this server: the RDB schedule cannot be read")
    mode = _PERSISTENCE[(bool(save and save.strip()), aof in ("yes", "1"))]
    seen = unread(redis_stats) if not redis_stats.ok else f"{mode} (save {save!r}, appendonly {aof})"
    assert redis_stats.ok and mode == declared, explain(expected=f"persistence {declared}", seen=seen)


@pytest.mark.check("REDIS-PERSISTENCE")
def test_redis_last_background_save_ok(redis_server, facts, explain):
    redis_stats = facts.redis_stats(redis_server)
    status = redis_stats.text("rdb_last_bgsave_status")
    aof_status = redis_stats.text("aof_last_write_status") or "ok"
    seen = (
        unread(redis_stats)
        if not redis_stats.ok
        else f"rdb_last_bgsave_status {status}, aof_last_write_status {aof_status}"
        + ("; background save failed" if status != "ok" else "")
    )
    assert status == "ok" and aof_status == "ok", explain(
        expected="the last background save and AOF write succeeded", seen=seen
    )


@pytest.mark.check("REDIS-CLIENTS")
def test_redis_connected_clients_below_limit(redis_server, facts, threshold, explain):
    redis_stats = facts.redis_stats(redis_server)
    ratio = threshold("max_clients_ratio")
    clients, cap = redis_stats.number("connected_clients"), redis_stats.number("maxclients")
    if redis_stats.ok and cap == 0 and redis_stats.text("maxclients"):
        cap = float(redis_stats.text("maxclients") or 0)
    limit = ratio * cap
    seen = (
        unread(redis_stats)
        if not redis_stats.ok
        else f"{clients:.0f} connected clients (maxclients {cap:.0f})"
    )
    assert redis_stats.ok and cap > 0 and clients < limit, explain(
        expected=f"connected_clients < {limit:.0f} ({ratio:.0%} of maxclients)", seen=seen
    )


@pytest.mark.check("REDIS-CLIENTS")
def test_redis_blocked_clients_below_limit(redis_server, facts, threshold, explain):
    redis_stats = facts.redis_stats(redis_server)
    limit = threshold("max_blocked_clients")
    blocked = redis_stats.number("blocked_clients")
    seen = unread(redis_stats) if not redis_stats.ok else f"{blocked:.0f} blocked clients (BLPOP/WAIT...)"
    assert redis_stats.ok and blocked <= limit, explain(
        expected=f"at most {limit} blocked clients", seen=seen
    )
