"""Redis health: INFO sections, the settings CONFIG GET allows, and PING round trips (redis-cli --latency).

Read-only: INFO, CONFIG GET and PING. CONFIG may be renamed away on managed servers; INFO then supplies
what it can (maxmemory, maxmemory_policy, aof_enabled, maxclients) and ``save`` stays unknown.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infragate.lazy import lazy_module
from infragate.probes._base import describe_error, is_unreachable

if TYPE_CHECKING:
    import redis as redislib
    from redis import backoff as redis_backoff
    from redis import retry as redis_retry
else:
    redislib = lazy_module("redis")
    redis_backoff = lazy_module("redis.backoff")
    redis_retry = lazy_module("redis.retry")

__all__ = ["RedisInfo", "snapshot"]


@dataclass(frozen=True)
class RedisInfo:
    """What INFO and CONFIG GET said, and ``samples`` PING round trips in milliseconds."""

    host: str
    port: int
    error: str | None = None
    unreachable: bool = False
    info: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, str] = field(default_factory=dict)
    ping_ms: tuple[float, ...] = ()
    ping_error: str | None = None

    @property
    def ok(self) -> bool:
        """INFO was read."""
        return self.error is None

    def number(self, key: str, default: float = 0.0) -> float:
        """A numeric INFO field."""
        value = self.info.get(key, default)
        return float(value) if isinstance(value, (int, float)) else default

    def text(self, key: str) -> str | None:
        """A setting: CONFIG GET's value, else INFO's field of the same name (with '_' for '-')."""
        if key in self.config:
            return self.config[key]
        value = self.info.get(key.replace("-", "_"))
        return None if value is None else str(value)


def snapshot(
    host: str,
    port: int,
    *,
    password: str | None = None,
    username: str | None = None,
    tls: bool = False,
    db: int = 0,
    samples: int = 100,
    timeout: float,
) -> RedisInfo:
    """INFO everything, CONFIG GET the settings the checks compare, then ``samples`` timed PINGs."""
    client = redislib.Redis(
        host=host,
        port=port,
        db=db,
        username=username,
        password=password,
        ssl=tls,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=redis_retry.Retry(redis_backoff.NoBackoff(), 0),
    )
    try:
        info: dict[str, Any] = client.info("everything")
        config: dict[str, str] = {}
        try:
            for key in ("maxmemory", "maxmemory-policy", "save", "appendonly", "maxclients"):
                got: dict[str, str] = client.config_get(key)  # type: ignore[assignment]
                config.update({k: str(v) for k, v in got.items()})
        except redislib.ResponseError:
            pass  # CONFIG renamed or denied by an ACL: INFO fields are the fallback
        pings: list[float] = []
        try:
            for _ in range(samples):
                start = time.perf_counter()
                client.execute_command("PING")  # type: ignore[no-untyped-call]
                pings.append((time.perf_counter() - start) * 1000.0)
        except redislib.ResponseError as exc:
            # e.g. MISCONF after a failed background save: the server refuses PING but still answers INFO.
            return RedisInfo(host, port, info=info, config=config, ping_error=describe_error(exc))
        return RedisInfo(host, port, info=info, config=config, ping_ms=tuple(pings))
    except (redislib.RedisError, OSError) as exc:
        return RedisInfo(
            host,
            port,
            error=describe_error(exc),
            # redis-py's AuthenticationError is a ConnectionError: the server answered, it is reachable.
            unreachable=not isinstance(exc, redislib.AuthenticationError)
            and (is_unreachable(exc) or isinstance(exc, redislib.ConnectionError)),
        )
    finally:
        client.close()
