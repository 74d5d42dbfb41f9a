"""Redis servers (probe: redis)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infragate.inventory._validate import Secret

__all__ = ["Redis"]


@dataclass(frozen=True)
class Redis:
    """A Redis server."""

    name: str
    host: str
    port: int = 6379
    username: str | None = None
    password_env: Secret | None = None
    tls: bool = False
    db: int = 0
    # REDIS-* checks: per-entry overrides of the catalog thresholds (None = catalog/target value).
    latency_samples: int = 100
    max_latency_ms: float | None = None
    max_memory_ratio: float | None = None
    max_fragmentation: float | None = None
    fragmentation_min_mb: float | None = None
    maxmemory_policy: str | None = None
    persistence: Literal["none", "rdb", "aof", "rdb+aof"] | None = None
    max_clients_ratio: float | None = None
    max_blocked_clients: int | None = None
