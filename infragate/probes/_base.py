"""What probes share: timeouts, TLS client contexts and the classification of network errors."""

from __future__ import annotations

import errno
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Timeout", "client_context", "describe_error", "is_unreachable", "monotonic_ms"]


@dataclass(frozen=True)
class Timeout:
    """Connect and read budgets in seconds (httpx's split: a dead host and a slow one differ)."""

    connect: float = 3.0
    read: float = 10.0

    @property
    def total(self) -> float:
        """Upper bound of one request: connect plus read."""
        return self.connect + self.read


def monotonic_ms() -> float:
    """Milliseconds on the monotonic clock (for elapsed times)."""
    return time.monotonic() * 1000.0


def client_context(cafile: Path | None = None, *, verify: bool = True) -> ssl.SSLContext:
    """A TLS client context trusting ``cafile`` (else the system store); verification stays on by default."""
    if not verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if cafile is not None and not cafile.is_file():
        raise FileNotFoundError(f"CA bundle {cafile} not found")
    return ssl.create_default_context(cafile=str(cafile) if cafile else None)


_UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.ECONNRESET,
    errno.EADDRNOTAVAIL,
}


def is_unreachable(exc: BaseException) -> bool:
    """True for errors that mean 'nothing answers there' (refused, timed out, no route, DNS)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    # A TLS failure (bad certificate, protocol mismatch) means the server answered: not unreachable,
    # unless the handshake itself timed out.
    if any(isinstance(e, ssl.SSLError) and "timed out" not in str(e) for e in chain):
        return False
    seen: set[int] = set()
    current = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (TimeoutError, socket.timeout, socket.gaierror, ConnectionError)):
            return True
        if isinstance(current, OSError) and current.errno in _UNREACHABLE_ERRNOS:
            return True
        name = type(current).__name__
        if name in {"ConnectError", "ConnectTimeout", "ReadTimeout", "PoolTimeout", "TimeoutException"}:
            return True
        current = current.__cause__ or current.__context__
    return False


def describe_error(exc: BaseException) -> str:
    """One line for an exception: the innermost useful message, without the traceback."""
    current: BaseException = exc
    text = str(exc).strip()
    while not text and (current.__cause__ or current.__context__):
        current = current.__cause__ or current.__context__  # type: ignore[assignment]
        text = str(current).strip()
    text = " ".join(text.split("\n")[0].split())
    if isinstance(current, (TimeoutError, socket.timeout)) or "timed out" in text.lower():
        return "timed out" if text.lower() in ("", "timed out") else f"timed out ({text})"
    if isinstance(current, ConnectionRefusedError) or "refused" in text.lower():
        return f"connection refused ({text})" if "refused" not in text.lower() else text
    return text or type(current).__name__
