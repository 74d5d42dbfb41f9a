"""Redis: ``redis-cli ping`` with auth and TLS as declared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infragate.lazy import lazy_module
from infragate.probes._base import describe_error, is_unreachable, monotonic_ms

if TYPE_CHECKING:
    import redis as redislib
    from redis import backoff as redis_backoff
    from redis import retry as redis_retry
else:
    redislib = lazy_module("redis")
    redis_backoff = lazy_module("redis.backoff")
    redis_retry = lazy_module("redis.retry")

__all__ = ["RedisPing", "ping"]


@dataclass(frozen=True)
class RedisPing:
    """The answer to one PING."""

    host: str
    port: int
    ok: bool
    reply: str | None
    elapsed_ms: float
    error: str | None = None
    unreachable: bool = False


def ping(
    host: str,
    port: int,
    *,
    password: str | None = None,
    username: str | None = None,
    tls: bool = False,
    db: int = 0,
    timeout: float,
) -> RedisPing:
    """Send PING on a fresh connection and report the reply (PONG when healthy)."""
    start = monotonic_ms()
    client = redislib.Redis(
        host=host,
        port=port,
        db=db,
        username=username,
        password=password,
        ssl=tls,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        # redis-py >= 6 retries 3 times by default: one probe is one attempt, --wait does the retrying.
        retry=redis_retry.Retry(redis_backoff.NoBackoff(), 0),
    )
    try:
        # execute_command returns the raw reply, so we report exactly what the server said.
        raw = client.execute_command("PING")  # type: ignore[no-untyped-call]
        reply = "PONG" if raw is True else (raw.decode() if isinstance(raw, bytes) else str(raw))
        return RedisPing(host, port, reply == "PONG", reply, monotonic_ms() - start)
    except (redislib.RedisError, OSError) as exc:
        return RedisPing(
            host,
            port,
            False,
            None,
            monotonic_ms() - start,
            error=describe_error(exc),
            # redis-py's AuthenticationError is a ConnectionError: a wrong password means the server answered.
            unreachable=not isinstance(exc, redislib.AuthenticationError)
            and (is_unreachable(exc) or isinstance(exc, redislib.ConnectionError)),
        )
    finally:
        client.close()
