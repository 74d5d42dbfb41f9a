"""Redis servers (probe: redis)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from infragate.inventory._validate import Invalid, InventoryError, PortNumber, Ratio, Secret

__all__ = ["Redis", "RedisKey", "check_registry_metrics"]


@dataclass(frozen=True)
class RedisKey:
    """Application keys of a Redis entry: a family of rate-limit keys (``pattern``, REDIS-RATE-LIMIT-KEYS)
    or one connection-registry key (``key``, REDIS-WS-REGISTRY) compared with an active-connections metric.
    """

    name: str
    # REDIS-RATE-LIMIT-KEYS: a SCAN MATCH glob; every key it matches must expire, and there are few of them.
    pattern: str | None = None
    max_keys: int | None = None
    # REDIS-WS-REGISTRY: the registry key, its type, and the [[metrics.endpoints]] entry + series that
    # count the same connections (summed over label sets); they may differ by at most max_drift.
    key: str | None = None
    type: Literal["hash", "set", "zset", "list"] = "hash"
    metrics: str | None = None
    series: str | None = None
    max_drift: int | None = None

    def __post_init__(self) -> None:
        if (self.pattern is None) == (self.key is None):
            raise Invalid("pattern", "declare exactly one of pattern (rate-limit keys) or key (a registry)")
        if self.pattern is not None:
            if not self.pattern:
                raise Invalid("pattern", "must not be empty")
            for extra in ("metrics", "series", "max_drift"):
                if getattr(self, extra) is not None:
                    raise Invalid(extra, "belongs to a registry (key = ...), not to a pattern")
            return
        if not self.key:
            raise Invalid("key", "must not be empty")
        if self.max_keys is not None:
            raise Invalid("max_keys", "belongs to a pattern (rate-limit keys), not to a registry key")
        if (self.metrics is None) != (self.series is None):
            raise Invalid("series", "metrics and series go together (the endpoint and the series it serves)")

    @property
    def is_registry(self) -> bool:
        """A connection registry (one key), not a family of rate-limit keys."""
        return self.key is not None


@dataclass(frozen=True)
class Redis:
    """A Redis server."""

    name: str
    host: str
    port: PortNumber = 6379
    username: str | None = None
    password_env: Secret | None = None
    tls: bool = False
    db: int = 0
    # REDIS-* checks: per-entry overrides of the catalog thresholds (None = catalog/target value).
    latency_samples: int = 100
    max_latency_ms: float | None = None
    max_memory_ratio: Ratio | None = None
    max_fragmentation: float | None = None
    fragmentation_min_mb: float | None = None
    maxmemory_policy: str | None = None
    persistence: Literal["none", "rdb", "aof", "rdb+aof"] | None = None
    max_clients_ratio: Ratio | None = None
    max_blocked_clients: int | None = None
    # Application keys: rate-limit families and connection registries (redis.keys).
    keys: tuple[RedisKey, ...] = ()

    def __post_init__(self) -> None:
        if self.latency_samples < 1:
            raise Invalid("latency_samples", f"must be at least 1, got {self.latency_samples}")


def check_registry_metrics(servers: tuple[Redis, ...], metrics_names: Collection[str]) -> None:
    """Each registry's ``metrics`` names a declared [[metrics.endpoints]] entry (the check scrapes it)."""
    known = ", ".join(sorted(metrics_names)) or "none declared"
    for i, server in enumerate(servers):
        for j, key in enumerate(server.keys):
            if key.metrics is not None and key.metrics not in metrics_names:
                raise InventoryError(
                    f"redis[{i}].keys[{j}].metrics: must be the name of a [[metrics.endpoints]] entry "
                    f"({known}), got {key.metrics!r}"
                )
