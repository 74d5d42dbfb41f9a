"""Redis application keys: rate-limit key families (REDIS-RATE-LIMIT-KEYS) and a connection registry
(REDIS-WS-REGISTRY) compared with the service's active-connections metric.

Read-only and safe on a production server: SCAN with MATCH and a bounded COUNT and number of calls
(never KEYS, which blocks the server while it walks the whole keyspace), TTL in pipelines, TYPE and one
size command (HLEN, SCARD, ZCARD, LLEN). Only key names are reported, never values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infragate.facts import Context, fact
from infragate.lazy import lazy_module
from infragate.probes import metrics
from infragate.probes._base import describe_error, is_unreachable

if TYPE_CHECKING:
    import redis as redislib
    from redis import backoff as redis_backoff
    from redis import retry as redis_retry

    from infragate.inventory import MetricsEndpoint, Redis, RedisKey
else:
    redislib = lazy_module("redis")
    redis_backoff = lazy_module("redis.backoff")
    redis_retry = lazy_module("redis.retry")

__all__ = ["KeyFamily", "RegistryReading", "read_registry", "registry_size", "scan_family"]

EXAMPLES = 5
NAME_CHARS = 80
# The size command of each registry type (a missing key reads as TYPE "none").
SIZE_COMMANDS = {"hash": "HLEN", "set": "SCARD", "zset": "ZCARD", "list": "LLEN"}


@dataclass(frozen=True)
class KeyFamily:
    """Keys matching ``pattern``: how many, how many never expire (TTL -1) and a few of their names."""

    pattern: str
    count: int = 0
    immortal: int = 0
    examples: tuple[str, ...] = ()
    scan_calls: int = 0
    complete: bool = True
    error: str | None = None
    unreachable: bool = False

    @property
    def ok(self) -> bool:
        """The keyspace was read (completely or not)."""
        return self.error is None


@dataclass(frozen=True)
class RegistryReading:
    """A registry key's type and size (read before and after the metric) and the metric's value."""

    key: str
    expected_type: str
    type: str | None = None
    sizes: tuple[int, ...] = ()
    series: str | None = None
    metric: float | None = None
    metric_error: str | None = None
    error: str | None = None
    unreachable: bool = False

    @property
    def ok(self) -> bool:
        """The key was read."""
        return self.error is None

    @property
    def drift(self) -> float | None:
        """How far the metric lies outside the sizes seen around it (0 inside; None: nothing to compare).

        A key that does not exist is an empty registry: Redis deletes a hash, set or list with its last
        member, so no connections and no key agree.
        """
        if self.metric is None or not self.sizes:
            return None
        low, high = min(self.sizes), max(self.sizes)
        return max(0.0, low - self.metric, self.metric - high)


def _client(server: Redis, timeout: float) -> redislib.Redis:
    return redislib.Redis(
        host=server.host,
        port=server.port,
        db=server.db,
        username=server.username,
        # Read at the call, straight into the driver: never kept where a traceback could print it.
        password=server.password_env.value if server.password_env else None,
        ssl=server.tls,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=redis_retry.Retry(redis_backoff.NoBackoff(), 0),
    )


def _name(raw: bytes | str) -> str:
    text = raw.decode(errors="backslashreplace") if isinstance(raw, bytes) else raw
    return text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 3] + "..."


def _failed(exc: Exception) -> dict[str, Any]:
    unreachable = not isinstance(exc, redislib.AuthenticationError) and (
        is_unreachable(exc) or isinstance(exc, redislib.ConnectionError)
    )
    return {"error": describe_error(exc), "unreachable": unreachable}


def scan_family(client: Any, pattern: str, *, count: int, max_calls: int) -> KeyFamily:
    """SCAN MATCH ``pattern`` COUNT ``count`` for at most ``max_calls`` calls; TTL of every key found.

    TTL -1 means the key exists without an expiry; -2 (expired or deleted since SCAN returned it) is not
    counted at all. SCAN may return a key twice: names are counted once.
    """
    seen: set[bytes | str] = set()
    immortal: list[str] = []
    cursor, calls = 0, 0
    while True:
        cursor, batch = client.scan(cursor=cursor, match=pattern, count=count)
        calls += 1
        fresh = [k for k in batch if k not in seen]
        if fresh:
            pipe = client.pipeline(transaction=False)
            for key in fresh:
                pipe.ttl(key)
            for key, ttl in zip(fresh, pipe.execute(), strict=True):
                if ttl == -2:
                    continue
                seen.add(key)
                if ttl == -1:
                    immortal.append(_name(key))
        if int(cursor) == 0 or calls >= max_calls:
            break
    return KeyFamily(
        pattern,
        count=len(seen),
        immortal=len(immortal),
        examples=tuple(sorted(immortal)[:EXAMPLES]),
        scan_calls=calls,
        complete=int(cursor) == 0,
    )


def registry_size(client: Any, key: str) -> tuple[str, int | None]:
    """TYPE of ``key`` and its size by the command of that type (None for a type without one)."""
    raw = client.type(key)
    kind = raw.decode() if isinstance(raw, bytes) else str(raw)
    if kind == "none":
        return kind, 0
    command = SIZE_COMMANDS.get(kind)
    return kind, int(client.execute_command(command, key)) if command else None


def _metric_value(page: metrics.MetricsPage, series: str) -> tuple[float | None, str | None]:
    if not page.ok:
        return None, f"{page.url}: {page.error}"
    samples = page.values(series)
    if not samples:
        return None, f"{page.url} serves no series {series}"
    return sum(s.value for s in samples), None


def read_registry(
    client: Any, key: str, expected_type: str, read_metric: Any = None, series: str | None = None
) -> RegistryReading:
    """The registry's type and size, read before and after ``read_metric()`` (a metrics page), so a
    connection opened or closed in between widens the range instead of failing the comparison."""
    kind, before = registry_size(client, key)
    if kind not in ("none", expected_type) or read_metric is None or series is None:
        return RegistryReading(key, expected_type, kind, (before,) if before is not None else ())
    value, metric_error = _metric_value(read_metric(), series)
    kind_after, after = registry_size(client, key)
    sizes = tuple(s for s in (before, after) if s is not None)
    return RegistryReading(key, expected_type, kind_after, sizes, series, value, metric_error)


@fact()
def redis_key_family(ctx: Context, server: Redis, keys: RedisKey, count: int, max_calls: int) -> KeyFamily:
    """Keys of a declared pattern on a Redis entry: how many, and which never expire (SCAN, bounded)."""
    assert keys.pattern is not None
    client = _client(server, ctx.timeout.read)
    try:
        return scan_family(client, keys.pattern, count=count, max_calls=max_calls)
    except (redislib.RedisError, OSError) as exc:
        return KeyFamily(keys.pattern, **_failed(exc))
    finally:
        client.close()


@fact()
def redis_registry(ctx: Context, server: Redis, keys: RedisKey) -> RegistryReading:
    """A declared connection-registry key (type, size) and the active-connections metric it mirrors."""
    assert keys.key is not None
    endpoint: MetricsEndpoint | None = None
    if keys.metrics is not None and ctx.target.metrics is not None:
        endpoint = next((m for m in ctx.target.metrics.endpoints if m.name == keys.metrics), None)

    def read_metric() -> metrics.MetricsPage:
        # A fresh page, not the session's cached scrape: the registry is read now.
        assert endpoint is not None
        return metrics.scrape(
            endpoint.url, format=endpoint.format, timeout=ctx.timeout, cafile=ctx.trust(endpoint)
        )

    client = _client(server, ctx.timeout.read)
    try:
        return read_registry(
            client, keys.key, keys.type, read_metric if endpoint is not None else None, keys.series
        )
    except (redislib.RedisError, OSError) as exc:
        return RegistryReading(keys.key, keys.type, **_failed(exc))
    finally:
        client.close()
