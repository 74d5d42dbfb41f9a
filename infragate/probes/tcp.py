"""TCP: can the runner open a connection to host:port (``nc -zv``)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from infragate.probes._base import describe_error, monotonic_ms

__all__ = ["TcpConnect", "connect"]


@dataclass(frozen=True)
class TcpConnect:
    """Outcome of one TCP connect."""

    host: str
    port: int
    ok: bool
    elapsed_ms: float
    error: str | None = None

    @property
    def unreachable(self) -> bool:
        """Nothing accepted the connection."""
        return not self.ok


def connect(host: str, port: int, *, timeout: float) -> TcpConnect:
    """Open and close one TCP connection within ``timeout`` seconds."""
    start = monotonic_ms()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        return TcpConnect(host, port, False, monotonic_ms() - start, describe_error(exc))
    return TcpConnect(host, port, True, monotonic_ms() - start)
