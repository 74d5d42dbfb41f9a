"""Redis application keys against a real loopback redis-server: SCAN budget, TTLs, registry type and size,
and the [[redis]] keys inventory rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redislib

from infragate.inventory import InventoryError, Redis, RedisKey, build
from infragate.inventory.redis import check_registry_metrics
from infragate.probes import redis_keys
from infragate.probes.metrics import MetricsPage, Sample
from selftest.unit.test_probe_datastores import redis_port

__all__ = ["redis_port"]  # the module-scoped server fixture, shared with the datastore probes' tests


@pytest.fixture
def client(redis_port: int) -> Iterator[redislib.Redis]:
    """A client on a flushed server."""
    conn = redislib.Redis(port=redis_port, password="secret-pw", socket_timeout=2)
    conn.flushall()
    yield conn
    conn.flushall()
    conn.close()


def _page(value: float | None) -> MetricsPage:
    samples = () if value is None else (Sample("ws_connections_active", value),)
    return MetricsPage("http://svc/metrics", "prometheus", 200, frozenset({"ws_connections_active"}), samples)


def test_scan_counts_keys_and_names_those_without_ttl(client: redislib.Redis) -> None:
    for i in range(20):
        client.set(f"ratelimit:login:10.0.0.{i}", 1, ex=60)
    client.set("ratelimit:login:203.0.113.7", 7)  # no EXPIRE
    client.set("session:abc", "not a rate-limit key")  # outside the pattern, no TTL either
    family = redis_keys.scan_family(client, "ratelimit:*", count=1000, max_calls=10)
    assert (family.count, family.immortal, family.complete) == (21, 1, True)
    assert family.examples == ("ratelimit:login:203.0.113.7",)


def test_scan_stops_at_its_budget_and_says_so(client: redislib.Redis) -> None:
    client.mset({f"ratelimit:{i}": 1 for i in range(200)})
    family = redis_keys.scan_family(client, "ratelimit:*", count=10, max_calls=2)
    assert not family.complete and family.scan_calls == 2
    assert family.count < 200 and family.immortal == family.count


def test_scan_reports_at_most_five_names_truncated(client: redislib.Redis) -> None:
    client.mset({f"rl:{'x' * 100}:{i}": 1 for i in range(8)})
    family = redis_keys.scan_family(client, "rl:*", count=1000, max_calls=5)
    assert family.immortal == 8 and len(family.examples) == 5
    assert all(len(name) == redis_keys.NAME_CHARS and name.endswith("...") for name in family.examples)


def test_registry_size_agrees_with_the_metric(client: redislib.Redis) -> None:
    client.hset("ws:connections", mapping={"a": "1", "b": "1", "c": "1"})
    reading = redis_keys.read_registry(
        client, "ws:connections", "hash", lambda: _page(3), "ws_connections_active"
    )
    assert (reading.type, reading.sizes, reading.metric, reading.drift) == ("hash", (3, 3), 3.0, 0.0)


def test_registry_range_covers_a_session_closing_during_the_scrape(client: redislib.Redis) -> None:
    client.hset("ws:connections", mapping={"a": "1", "b": "1"})

    def scrape_while_closing() -> MetricsPage:
        client.hdel("ws:connections", "b")
        return _page(1)

    reading = redis_keys.read_registry(
        client, "ws:connections", "hash", scrape_while_closing, "ws_connections_active"
    )
    assert reading.sizes == (2, 1) and reading.drift == 0.0


def test_absent_registry_is_empty_and_drift_is_the_metric(client: redislib.Redis) -> None:
    reading = redis_keys.read_registry(
        client, "ws:connections", "hash", lambda: _page(5), "ws_connections_active"
    )
    assert (reading.type, reading.sizes, reading.drift) == ("none", (0, 0), 5.0)


@pytest.mark.parametrize(("kind", "fill"), [("set", "sadd"), ("zset", None), ("list", "rpush")])
def test_registry_sizes_of_each_type(client: redislib.Redis, kind: str, fill: str | None) -> None:
    if fill is None:
        client.zadd("reg", {"a": 1, "b": 2})
    else:
        getattr(client, fill)("reg", "a", "b")
    assert redis_keys.registry_size(client, "reg") == (kind, 2)


def test_registry_of_the_wrong_type_skips_the_metric(client: redislib.Redis) -> None:
    client.set("ws:connections", "stale")
    called: list[bool] = []

    def scrape() -> MetricsPage:
        called.append(True)
        return _page(0)

    reading = redis_keys.read_registry(client, "ws:connections", "hash", scrape, "ws_connections_active")
    assert reading.type == "string" and reading.drift is None and not called


def test_missing_series_is_a_metric_error(client: redislib.Redis) -> None:
    reading = redis_keys.read_registry(
        client, "ws:connections", "hash", lambda: _page(None), "ws_connections_active"
    )
    assert reading.metric is None and "serves no series ws_connections_active" in (reading.metric_error or "")


def _key(data: dict[str, object]) -> RedisKey:
    return build(RedisKey, data, "redis[0].keys[0]", Path("."))


def test_inventory_key_is_a_pattern_or_a_registry() -> None:
    assert not _key({"name": "rl", "pattern": "ratelimit:*"}).is_registry
    assert _key({"name": "reg", "key": "ws:connections", "metrics": "m", "series": "s"}).is_registry
    cases: list[tuple[dict[str, object], str]] = [
        ({"name": "x"}, "exactly one of pattern"),
        ({"name": "x", "pattern": "a*", "key": "b"}, "exactly one of pattern"),
        ({"name": "x", "pattern": "a*", "series": "s"}, "belongs to a registry"),
        ({"name": "x", "key": "k", "max_keys": 3}, "belongs to a pattern"),
        ({"name": "x", "key": "k", "metrics": "m"}, "metrics and series go together"),
        ({"name": "x", "key": "k", "type": "string"}, "expected one of hash, set, zset, list"),
    ]
    for bad, words in cases:
        with pytest.raises(InventoryError, match=words):
            _key(bad)


def test_inventory_registry_names_a_declared_metrics_endpoint() -> None:
    server = Redis("cache", "127.0.0.1", keys=(RedisKey("reg", key="k", metrics="svc", series="s"),))
    check_registry_metrics((server,), {"svc"})
    with pytest.raises(InventoryError, match=r"redis\[0\]\.keys\[0\]\.metrics: .*\(api\), got 'svc'"):
        check_registry_metrics((server,), {"api"})
