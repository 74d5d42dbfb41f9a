"""What probes share: timeouts, a hard deadline, TLS client contexts and the classification of failures."""

from __future__ import annotations

import contextlib
import enum
import errno
import functools
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

__all__ = [
    "Attempt",
    "DeadlineExceeded",
    "Failure",
    "Timeout",
    "classify",
    "client_context",
    "describe_error",
    "is_unreachable",
    "monotonic_ms",
    "run_within",
    "shutdown_socket",
]

R = TypeVar("R")


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
    if cafile is None:
        return _system_context()
    return ssl.create_default_context(cafile=str(cafile))


@functools.cache
def _system_context() -> ssl.SSLContext:
    # Loading the system store takes about 0.2 s here: once per process, not once per probe (a context
    # is safe to share between threads and is never modified after creation).
    return ssl.create_default_context()


class Failure(enum.StrEnum):
    """Why a probe got no (good) answer; only the connect-level kinds make an endpoint unreachable."""

    REFUSED = "refused"  # nothing listens: RST to the SYN
    CONNECT_TIMEOUT = "connect-timeout"  # no answer to the SYN (blackhole, firewall DROP, full backlog)
    NO_ROUTE = "no-route"  # host or network unreachable, address not available
    DNS = "dns"  # the name does not resolve
    SILENT = "silent"  # accepted, then nothing within the read timeout (no TLS hello, no HTTP answer)
    TLS = "tls"  # the TLS handshake was answered and failed (certificate, version, alert)
    WS_SILENT = "ws-silent"  # WebSocket 101 Switching Protocols, then no frame within the read timeout
    HTTP = "http"  # an HTTP answer with an error status (or not 101 on a WebSocket upgrade)
    CLOSED = "closed"  # accepted, then closed or reset by the peer before answering
    PROTOCOL = "protocol"  # something answered, but not the protocol spoken
    OTHER = "other"

    @property
    def connect_level(self) -> bool:
        """The connection itself could not be opened: the only kinds that mean 'endpoint unreachable'."""
        return self in _CONNECT_LEVEL

    @property
    def endpoint_level(self) -> bool:
        """Says something about the whole endpoint, not one request: fail-fast may skip its later checks.

        Connect-level kinds and SILENT (accepted, then not one answer: every request there would wait
        its read timeout). Not WS_SILENT (a session went quiet after a good handshake), TLS, HTTP, CLOSED.
        Only the connect-level ones set ``unreachable``.
        """
        return self in _CONNECT_LEVEL or self is Failure.SILENT

    @property
    def label(self) -> str:
        """Words for a failure message."""
        return _LABELS[self]


_CONNECT_LEVEL = frozenset({Failure.REFUSED, Failure.CONNECT_TIMEOUT, Failure.NO_ROUTE, Failure.DNS})
_LABELS = {
    Failure.REFUSED: "connection refused",
    Failure.CONNECT_TIMEOUT: "connect timed out",
    Failure.NO_ROUTE: "no route to host",
    Failure.DNS: "name does not resolve",
    Failure.SILENT: "accepted the connection but never answered",
    Failure.TLS: "TLS handshake failed",
    Failure.WS_SILENT: "WebSocket opened (101) then stayed silent",
    Failure.HTTP: "HTTP error status",
    Failure.CLOSED: "connection closed by the peer",
    Failure.PROTOCOL: "unexpected answer",
    Failure.OTHER: "failed",
}

_NO_ROUTE_ERRNOS = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL}
_CLOSED_ERRNOS = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED}
# httpx/httpcore name their phase in the exception type: no import of httpx needed here.
_CONNECT_TIMEOUT_NAMES = {"ConnectTimeout", "PoolTimeout"}
_READ_TIMEOUT_NAMES = {"ReadTimeout", "WriteTimeout"}


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def classify(exc: BaseException, *, connected: bool | None = None) -> Failure:
    """The failure kind of ``exc``; ``connected`` says whether the TCP connection was open (None: unknown).

    A bare timeout with an unknown phase counts as a connect timeout (what a plain socket connect or a
    database driver raises); probes that know the phase pass ``connected``.
    """
    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    texts = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, socket.gaierror) for e in chain):
        return Failure.DNS
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(
        isinstance(e, OSError) and e.errno == errno.ECONNREFUSED for e in chain
    ):
        return Failure.REFUSED
    if any(isinstance(e, OSError) and e.errno in _NO_ROUTE_ERRNOS for e in chain):
        return Failure.NO_ROUTE
    timed_out = "timed out" in texts or any(isinstance(e, TimeoutError) for e in chain)
    # httpx reports a TLS handshake that never completes as ConnectTimeout, but TCP was accepted by then:
    # the ssl module's message says it was the handshake.
    if "handshake operation timed out" in texts or (timed_out and connected):
        return Failure.SILENT
    if names & _READ_TIMEOUT_NAMES:
        return Failure.SILENT
    if names & _CONNECT_TIMEOUT_NAMES or timed_out:
        return Failure.CONNECT_TIMEOUT
    if any(isinstance(e, ssl.SSLError) for e in chain):
        if any(isinstance(e, ssl.SSLEOFError | ssl.SSLZeroReturnError) for e in chain):
            return Failure.CLOSED
        return Failure.TLS
    if any(
        isinstance(e, ConnectionResetError | BrokenPipeError | ConnectionAbortedError | EOFError)
        or (isinstance(e, OSError) and e.errno in _CLOSED_ERRNOS)
        for e in chain
    ) or names & {"RemoteProtocolError", "ConnectionClosed", "ConnectionClosedError"}:
        return Failure.CLOSED
    if names & {"ConnectError"}:
        # httpx without a recognisable cause: it could not connect
        return Failure.REFUSED if "refused" in texts else Failure.NO_ROUTE
    if names & {"InvalidMessage", "InvalidHeader", "ProtocolError", "LocalProtocolError", "DecodingError"}:
        return Failure.PROTOCOL
    return Failure.OTHER


def is_unreachable(exc: BaseException) -> bool:
    """True only for connect-level errors: refused, connect timed out, no route, DNS.

    A read timeout (accepted, then silent), a TLS failure or a reset after accepting are failures of
    that request, not proof that nothing answers at that address.
    """
    return classify(exc).connect_level


class DeadlineExceeded(TimeoutError):
    """The probe's hard wall-clock deadline passed before it returned."""


class Attempt:
    """One probe call's hard deadline and what it reached so far (for classifying an expiry)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.deadline = self.started + seconds
        self.resolved = False  # the host name resolved (a lookup can hang: it has no timeout of its own)
        self.connected = False  # the TCP connection was accepted
        self.answered = False  # the protocol's first answer arrived (TLS hello, HTTP status, 101)
        self._closers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.aborted = False

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())

    def budget(self, step: float) -> float:
        """A step's timeout: its own budget, cut to what is left of the deadline (at least 1 ms)."""
        return max(0.001, min(step, self.remaining()))

    def on_abort(self, closer: Callable[[], None]) -> None:
        """Register a way to unblock the worker (closing its socket) when the deadline passes."""
        with self._lock:
            if self.aborted:
                closer()
            else:
                self._closers.append(closer)

    def abort(self) -> None:
        """Run the registered closers once; errors while closing are irrelevant by then."""
        with self._lock:
            self.aborted, closers, self._closers = True, self._closers, []
        for close in closers:
            # best effort: the socket may already be gone
            with contextlib.suppress(Exception):
                close()

    def expired_failure(self) -> Failure:
        """The kind to report when the deadline passed: silent once connected, else connect timeout."""
        if self.answered:
            return Failure.WS_SILENT
        return Failure.SILENT if self.connected else Failure.CONNECT_TIMEOUT

    def expired_text(self) -> str:
        """One line for an expired deadline."""
        return f"no result within the probe's {self.seconds:g} s deadline ({self.expired_failure().label})"


def shutdown_socket(sock: socket.socket) -> Callable[[], None]:
    """A closer for ``Attempt.on_abort``: shutdown wakes a thread blocked in recv, close alone does not."""

    def close() -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    return close


_DEADLINE_SLACK = 0.25  # s: thread start-up and result hand-over, so that a probe on time is not cut


def run_within(
    seconds: float, work: Callable[[Attempt], R], *, expired: Callable[[Attempt], R], name: str = "probe"
) -> R:
    """Run ``work(attempt)`` in a daemon thread; return its result, or ``expired(attempt)`` at the deadline.

    The one place that enforces a probe's hard wall-clock deadline. ``work`` should itself use
    ``attempt.budget(...)`` for every blocking step so that it normally returns on time with a precise
    diagnosis; this guard is for what a library does not bound (a reader thread waiting for the server's
    close, a DNS lookup, a server trickling one byte per read timeout). On expiry the registered closers
    run and the thread is abandoned (it is a daemon and ends with its own socket timeouts). An exception
    raised by ``work`` is re-raised here.
    """
    attempt = Attempt(seconds)
    box: list[R] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            box.append(work(attempt))
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name=f"infragate-{name}", daemon=True)
    thread.start()
    thread.join(seconds + _DEADLINE_SLACK)
    if thread.is_alive():
        attempt.abort()
        return expired(attempt)
    if errors:
        raise errors[0]
    return box[0]


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
