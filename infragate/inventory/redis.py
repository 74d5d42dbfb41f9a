"""Redis servers (probe: redis)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infragate.inventory._validate import Invalid, PortNumber, Ratio, Secret

__all__ = ["Redis"]


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

    def __post_init__(self) -> None:
        if self.latency_samples < 1:
            raise Invalid("latency_samples", f"must be at least 1, got {self.latency_samples}")
