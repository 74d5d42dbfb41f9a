"""TCP: can the runner open a connection to host:port (``nc -zv``)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from infragate.probes._base import (
    Attempt,
    Failure,
    classify,
    describe_error,
    monotonic_ms,
    run_within,
    shutdown_socket,
)

__all__ = ["TcpConnect", "connect", "open_socket"]


@dataclass(frozen=True)
class TcpConnect:
    """Outcome of one TCP connect; ``failure`` says how it failed (refused, timed out, DNS, ...)."""

    host: str
    port: int
    ok: bool
    elapsed_ms: float
    error: str | None = None
    failure: Failure | None = None

    @property
    def unreachable(self) -> bool:
        """Nothing accepted the connection (every TCP failure is connect-level)."""
        return not self.ok and (self.failure is None or self.failure.connect_level)


def open_socket(host: str, port: int, attempt: Attempt, *, timeout: float) -> socket.socket:
    """Connect a blocking TCP socket within ``timeout`` (cut to the attempt's deadline).

    Like ``socket.create_connection``, but each socket is registered with the attempt first, so that an
    expired deadline closes it; ``attempt.connected`` is set once the connection is accepted.
    """
    last: OSError | None = None
    addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    attempt.resolved = True
    for family, kind, proto, _, address in addresses:
        sock = socket.socket(family, kind, proto)
        attempt.on_abort(shutdown_socket(sock))
        try:
            sock.settimeout(attempt.budget(timeout))
            sock.connect(address)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        attempt.connected = True
        return sock
    raise last or OSError(f"no address for {host}")


def connect(host: str, port: int, *, timeout: float) -> TcpConnect:
    """Open and close one TCP connection; returns within ``timeout`` seconds (DNS lookup included)."""
    start = monotonic_ms()

    def work(attempt: Attempt) -> TcpConnect:
        try:
            open_socket(host, port, attempt, timeout=timeout).close()
        except OSError as exc:
            failure = classify(exc, connected=False)
            return TcpConnect(host, port, False, monotonic_ms() - start, describe_error(exc), failure)
        return TcpConnect(host, port, True, monotonic_ms() - start)

    def expired(attempt: Attempt) -> TcpConnect:
        failure = Failure.DNS if not attempt.resolved else attempt.expired_failure()
        return TcpConnect(host, port, False, monotonic_ms() - start, attempt.expired_text(), failure)

    return run_within(timeout, work, expired=expired, name="tcp")
