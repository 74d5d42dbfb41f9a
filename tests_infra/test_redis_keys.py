"""Redis application keys: rate-limit keys expire and stay few; the connection registry mirrors the metric.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


def _scanned(family) -> str:
    incomplete = "" if family.complete else f", SCAN stopped after {family.scan_calls} calls (budget)"
    return f"{family.count} keys match {family.pattern!r}{incomplete}"


@pytest.mark.check("REDIS-RATE-LIMIT-KEYS")
def test_redis_rate_limit_keys_expire(redis_limit_keys, facts, threshold, explain):
    server, keys = redis_limit_keys
    family = facts.redis_key_family(server, keys, threshold("scan_count"), threshold("max_scan_calls"))
    seen = (
        f"could not scan: {family.error}"
        if not family.ok
        else f"{family.immortal} of {family.count} keys matching {family.pattern!r} without TTL:"
        f" {', '.join(family.examples)}"
        if family.immortal
        else _scanned(family)
    )
    assert family.ok and family.complete and family.immortal == 0, explain(
        expected=f"every key matching {keys.pattern!r} ({keys.name}) carries a TTL, all keys scanned",
        seen=seen,
    )


@pytest.mark.check("REDIS-RATE-LIMIT-KEYS")
def test_redis_rate_limit_keys_few(redis_limit_keys, facts, threshold, explain):
    server, keys = redis_limit_keys
    family = facts.redis_key_family(server, keys, threshold("scan_count"), threshold("max_scan_calls"))
    limit = threshold("max_keys", keys)
    seen = f"could not scan: {family.error}" if not family.ok else _scanned(family)
    assert family.ok and family.count <= limit, explain(
        expected=f"at most {limit} keys matching {keys.pattern!r} ({keys.name})", seen=seen
    )


@pytest.mark.check("REDIS-WS-REGISTRY")
def test_redis_registry_key_has_declared_type(redis_registry, facts, explain):
    server, keys = redis_registry
    reading = facts.redis_registry(server, keys)
    absent_ok = keys.metrics is not None  # an empty registry has no key; the metric then says 0
    seen = (
        f"could not read: {reading.error}"
        if not reading.ok
        else f"{keys.key!r} does not exist"
        if reading.type == "none"
        else f"{keys.key!r} is a {reading.type}"
    )
    assert reading.ok and (reading.type == keys.type or (absent_ok and reading.type == "none")), explain(
        expected=f"registry key {keys.key!r} of type {keys.type}", seen=seen
    )


@pytest.mark.check("REDIS-WS-REGISTRY")
def test_redis_registry_size_matches_metric(redis_registry, facts, threshold, explain):
    server, keys = redis_registry
    if keys.metrics is None:
        pytest.skip(f"registry {keys.name} declares no metrics endpoint to compare with")
    reading = facts.redis_registry(server, keys)
    limit = threshold("max_drift", keys)
    sizes = "/".join(str(s) for s in reading.sizes)
    seen = (
        f"could not read: {reading.error}"
        if not reading.ok
        else f"{keys.key!r} is a {reading.type}, not a {keys.type}"
        if reading.type not in ("none", keys.type)
        else f"{keys.series} unread: {reading.metric_error}"
        if reading.metric is None
        else f"{keys.key!r} missing while {keys.series} = {reading.metric:g}"
        if reading.type == "none" and reading.metric
        else f"{keys.key!r} holds {sizes} entries, {keys.series} = {reading.metric:g}"
    )
    drift = reading.drift
    assert drift is not None and drift <= limit, explain(
        expected=f"the size of {keys.key!r} within {limit} of {keys.metrics} {keys.series}", seen=seen
    )
