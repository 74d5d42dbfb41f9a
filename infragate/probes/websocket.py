"""WebSocket: handshake (expect 101) and one message round trip (``wscat -c``), in a declared protocol.

What is said after the 101 is a ``Conversation``: ``RAW`` sends the message as one text frame and takes the
next frame as the reply; ``ws_socketio.SocketIo`` speaks Engine.IO/Socket.IO. The reply is judged by a
declared matcher (equals, prefix, regex, JMESPath conditions on JSON), never only by equality.

The asyncio client of ``websockets`` runs under ``asyncio.timeout`` for each step, inside the hard deadline
of ``run_within``: the sync client waits for its reader thread after a handshake timeout until the server
closes (a 2 s timeout took 20 s over TLS, and never ended against a server that never closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.typing import Origin, Subprotocol
from websockets.uri import parse_uri

from infragate.probes._base import (
    Attempt,
    Failure,
    classify,
    client_context,
    describe_error,
    monotonic_ms,
    run_within,
)
from infragate.probes.ws_steps import (
    Refused,
    ReplyLike,
    WsStepError,
    closed_step,
    excerpt,
    reply_problem,
    silent_step,
    status_hint,
)

__all__ = [
    "CLOSE_GRACE_S",
    "RAW",
    "Conversation",
    "Raw",
    "Refused",
    "ReplyLike",
    "WsExchange",
    "WsStepError",
    "closed_step",
    "excerpt",
    "reply_problem",
    "round_trip",
    "silent_step",
    "status_hint",
]

R = TypeVar("R")

_HTTP10_STATUS = re.compile(r"HTTP/1\.0 (\d{3})\b")
CLOSE_GRACE_S = 1.0  # a clean close after a good exchange; failures abort the connection at once


@dataclass(frozen=True)
class WsExchange:
    """What a WebSocket client saw: the handshake status and the reply to one message.

    ``connected`` is True once the server answered 101, even when no reply followed (then ``failure`` is
    ``WS_SILENT`` or ``CLOSED``); ``unreachable`` only for connect-level failures; ``hint`` names the
    usual cause of a refused upgrade (505: ``proxy_http_version 1.1``).
    """

    url: str
    connected: bool
    status: int | None
    sent: str | None
    received: str | None
    elapsed_ms: float
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None
    hint: str | None = None
    protocol: str = "raw"
    refused: str | None = None  # the protocol refused the session after 101 (Socket.IO CONNECT_ERROR)
    mismatch: str | None = None  # what the reply breaks of the declared matcher (None: it meets it)

    @property
    def evidence(self) -> str:
        """What the client saw, in one line (reply redacted and cut)."""
        if not self.connected:
            return self.error or "no connection"
        if self.refused is not None:
            return f"101 Switching Protocols, then {self.refused}"
        if self.received is None:
            return f"connected, sent {excerpt(self.sent)}, no reply: {self.error}"
        return f"connected, sent {excerpt(self.sent)}, received {excerpt(self.received)}"


class Conversation(Protocol):
    """What is said after the 101: how the session is opened, one message exchanged, an idle hold."""

    @property
    def name(self) -> str: ...

    def url(self, url: str) -> str: ...

    async def open(self, ws: ClientConnection, attempt: Attempt, timeout: float) -> None: ...

    async def exchange(self, ws: ClientConnection, message: str, attempt: Attempt, timeout: float) -> str: ...

    async def idle(self, ws: ClientConnection, seconds: float) -> None: ...


class Raw:
    """Plain WebSocket: nothing after the 101 but the message as a text frame and the next frame back."""

    name = "raw"

    def url(self, url: str) -> str:
        """The URL as declared."""
        return url

    async def open(self, ws: ClientConnection, attempt: Attempt, timeout: float) -> None:
        """Nothing to say: the 101 opened the session."""

    async def exchange(self, ws: ClientConnection, message: str, attempt: Attempt, timeout: float) -> str:
        """Send ``message`` and wait for one reply; a silent or closing server is a ``WsStepError``."""
        return await _exchange(ws, message, attempt, timeout)

    async def idle(self, ws: ClientConnection, seconds: float) -> None:
        """Send nothing for ``seconds`` (the behaviour under test is idleness itself)."""
        await asyncio.sleep(seconds)


RAW = Raw()


async def _open_tcp(host: str, port: int, attempt: Attempt, timeout: float) -> socket.socket:
    loop = asyncio.get_running_loop()
    last: OSError | None = None
    try:
        async with asyncio.timeout(attempt.budget(timeout)):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            attempt.resolved = True
            for family, kind, proto, _, address in infos:
                sock = socket.socket(family, kind, proto)
                sock.setblocking(False)
                try:
                    await loop.sock_connect(sock, address)
                except OSError as exc:
                    sock.close()
                    last = exc
                    continue
                except BaseException:
                    sock.close()
                    raise
                attempt.connected = True
                return sock
    except TimeoutError:
        kind_ = Failure.CONNECT_TIMEOUT if attempt.resolved else Failure.DNS
        raise WsStepError(kind_, f"connect to {host}:{port} timed out after {timeout:g} s") from None
    except OSError as exc:
        failure = classify(exc, connected=False)
        raise WsStepError(failure, describe_error(exc)) from exc
    assert last is not None  # getaddrinfo returns at least one address or raises
    raise WsStepError(classify(last, connected=False), describe_error(last)) from last


@asynccontextmanager
async def open_session(
    url: str,
    attempt: Attempt,
    *,
    connect_timeout: float,
    read_timeout: float,
    cafile: Path | None = None,
    origin: str | None = None,
    headers: Mapping[str, str] | None = None,
    subprotocols: Sequence[str] = (),
    ping_interval: float | None = None,
) -> AsyncIterator[ClientConnection]:
    """An open WebSocket (101 received), or ``WsStepError``; each step is bounded by its own timeout.

    On leaving, a session that the caller left cleanly is closed with a grace of ``CLOSE_GRACE_S``; one
    left by an exception is aborted at once (no waiting for a silent server's close frame).
    """
    ws_uri = parse_uri(url)
    ssl_ctx: ssl.SSLContext | None = None
    if ws_uri.secure:
        try:
            ssl_ctx = client_context(cafile)
        except OSError as exc:
            raise WsStepError(Failure.OTHER, describe_error(exc)) from exc
    sock = await _open_tcp(ws_uri.host, ws_uri.port, attempt, connect_timeout)
    try:
        async with asyncio.timeout(attempt.budget(read_timeout)):
            ws = await connect(
                url,
                sock=sock,
                ssl=ssl_ctx,
                origin=Origin(origin) if origin is not None else None,
                additional_headers=dict(headers or {}),
                subprotocols=[Subprotocol(p) for p in subprotocols] or None,
                open_timeout=None,  # the enclosing asyncio.timeout bounds the handshake
                close_timeout=CLOSE_GRACE_S,
                ping_interval=ping_interval,
                proxy=None,  # a target is reached directly, never through $HTTPS_PROXY
            )
    except TimeoutError:
        sock.close()
        what = "TLS handshake or WebSocket upgrade" if ssl_ctx else "WebSocket upgrade"
        raise WsStepError(
            Failure.SILENT,
            f"accepted the connection but gave no answer to the {what} within {read_timeout:g} s",
        ) from None
    except (WebSocketException, OSError, ValueError) as exc:
        sock.close()
        raise _handshake_error(exc) from exc
    attempt.answered = True
    try:
        yield ws
    except BaseException:
        ws.transport.abort()
        raise
    else:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_GRACE_S):
                await ws.close()
    finally:
        ws.transport.abort()  # a no-op after a clean close


def _handshake_error(exc: BaseException) -> WsStepError:
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, InvalidStatus):
            status = current.response.status_code
            text = f"handshake answered HTTP {status} instead of 101 Switching Protocols"
            return WsStepError(Failure.HTTP, text, status)
        # websockets refuses an HTTP/1.0 answer before reading its status: the status line is in the text
        if match := _HTTP10_STATUS.search(str(current)):
            status = int(match.group(1))
            text = f"handshake answered HTTP/1.0 {status} instead of HTTP/1.1 101 Switching Protocols"
            return WsStepError(Failure.HTTP, text, status)
        current = current.__cause__ or current.__context__
    failure = classify(exc, connected=True)
    if failure is Failure.OTHER and isinstance(exc, WebSocketException):
        failure = Failure.PROTOCOL
    return WsStepError(failure, describe_error(exc))


def run_session(limit: float, work: Callable[[Attempt], Awaitable[R]], expired: Callable[[Attempt], R]) -> R:
    """Run an async WebSocket probe in its own event loop under the hard deadline ``limit``."""

    def in_thread(attempt: Attempt) -> R:
        async def main() -> R:
            return await work(attempt)

        return asyncio.run(main())

    return run_within(limit, in_thread, expired=expired, name="websocket")


def _text(reply: str | bytes) -> str:
    return reply if isinstance(reply, str) else reply.decode("utf-8", "replace")


def round_trip(
    url: str,
    *,
    message: str | None = "ping",
    timeout: float,
    cafile: Path | None = None,
    origin: str | None = None,
    headers: Mapping[str, str] | None = None,
    subprotocols: Sequence[str] = (),
    conversation: Conversation = RAW,
    reply: ReplyLike | None = None,
    connect_timeout: float | None = None,
    deadline: float | None = None,
) -> WsExchange:
    """Open a WebSocket, open the ``conversation`` (raw: nothing; Socket.IO: CONNECT), send ``message``,
    wait for one reply, close; ``reply`` (optional) judges the reply (``mismatch``).

    ``connect_timeout`` (default: ``timeout``) bounds the TCP connect, ``timeout`` the handshake, the
    conversation's opening and the reply each; the call returns within ``deadline`` (default: connect +
    3 x timeout + close grace).
    """
    connect_s = timeout if connect_timeout is None else connect_timeout
    limit = connect_s + 3 * timeout + CLOSE_GRACE_S if deadline is None else deadline
    start = monotonic_ms()

    def result(
        connected: bool, status: int | None, received: str | None, step: WsStepError | None = None
    ) -> WsExchange:
        refused = step.text if isinstance(step, Refused) else None
        mismatch = None
        if reply is not None and message is not None:
            mismatch = refused or (
                reply_problem(received, reply) if step is None else f"no reply: {step.text}"
            )
        return WsExchange(
            url,
            connected,
            status,
            message,
            received,
            monotonic_ms() - start,
            error=step.text if step else None,
            unreachable=step.failure.connect_level if step else False,
            failure=step.failure if step else None,
            hint=status_hint(status) if status is not None and status != 101 else None,
            protocol=conversation.name,
            refused=refused,
            mismatch=mismatch,
        )

    async def work(attempt: Attempt) -> WsExchange:
        try:
            async with open_session(
                conversation.url(url),
                attempt,
                connect_timeout=connect_s,
                read_timeout=timeout,
                cafile=cafile,
                origin=origin,
                headers=headers,
                subprotocols=subprotocols,
            ) as ws:
                await conversation.open(ws, attempt, timeout)
                if message is None:
                    return result(True, 101, None)
                received = await conversation.exchange(ws, message, attempt, timeout)
                return result(True, 101, received)
        except WsStepError as step:
            if attempt.answered:
                return result(True, 101, None, step)
            if step.status is not None and (hint := status_hint(step.status)):
                step.text = f"{step.text} (hint: {hint})"
            return result(False, step.status, None, step)

    def expired(attempt: Attempt) -> WsExchange:
        step = WsStepError(attempt.expired_failure(), attempt.expired_text())
        return result(attempt.answered, 101 if attempt.answered else None, None, step)

    return run_session(limit, work, expired)


async def _exchange(ws: ClientConnection, message: str, attempt: Attempt, timeout: float) -> str:
    """Send ``message`` and wait for one reply; a silent or closing server is a ``WsStepError``."""
    try:
        await ws.send(message)
        async with asyncio.timeout(attempt.budget(timeout)):
            return _text(await ws.recv())
    except TimeoutError:
        raise silent_step(f"101 Switching Protocols, then no reply within {timeout:g} s") from None
    except ConnectionClosed as closed:
        raise closed_step(closed) from None
