"""WebSocket sessions beyond one echo: refused handshakes, close codes, and idle sessions held open.

Every call returns within a hard deadline (see ``websocket.run_session``); idle holds are capped by
``max_hold_s`` and several endpoints are held at the same time by ``hold_idle_many``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from websockets.exceptions import ConnectionClosed

from infragate.probes._base import Attempt, Failure, monotonic_ms
from infragate.probes.websocket import (
    CLOSE_GRACE_S,
    RAW,
    Conversation,
    Refused,
    WsStepError,
    excerpt,
    open_session,
    run_session,
    status_hint,
)

__all__ = [
    "DEFAULT_MAX_HOLD_S",
    "HoldTarget",
    "WsHold",
    "WsSession",
    "hold_idle",
    "hold_idle_many",
    "session",
]

# A hold longer than this is cut to it (and says so): 90 s covers the catalog's 75 s (beyond nginx's
# 60 s default proxy_read_timeout); a target that needs longer raises it explicitly (``max_hold_s``).
DEFAULT_MAX_HOLD_S = 90.0


@dataclass(frozen=True)
class WsSession:
    """A handshake and one message: ``accepted`` means the server let the session in; otherwise how it
    refused.

    Raw WebSocket: accepted = 101 and a reply (a server may accept the upgrade, then close 1008 at the first
    message). Socket.IO: accepted = CONNECT acknowledged (``reply`` then says whether the event round trip
    worked); a CONNECT_ERROR is a refusal (``refused``). ``failure``: None when accepted with a reply;
    HTTP (refused upgrade, see ``status``), CLOSED (101 then a close, see ``close_code``), WS_SILENT (101
    then no reply), PROTOCOL (refused by the protocol), or how the connection failed.
    """

    url: str
    accepted: bool
    status: int | None
    close_code: int | None
    close_reason: str
    reply: str | None
    elapsed_ms: float
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None
    hint: str | None = None
    protocol: str = "raw"
    refused: str | None = None

    @property
    def refusal(self) -> str:
        """How the server refused (or 'accepted')."""
        if self.accepted and self.protocol != "raw":
            then = f"reply {excerpt(self.reply)}" if self.reply is not None else f"then {self.error}"
            return f"CONNECT accepted ({then})"
        if self.accepted:
            return f"accepted (101, reply {excerpt(self.reply)})"
        if self.status is not None and self.status != 101:
            return f"handshake refused with HTTP {self.status}"
        if self.refused is not None:
            return self.refused
        if self.close_code is not None:
            return f"closed with code {self.close_code} {self.close_reason!r}".rstrip()
        return self.error or "refused"


def session(
    url: str,
    *,
    timeout: float,
    message: str = "ping",
    origin: str | None = None,
    cafile: Path | None = None,
    headers: Mapping[str, str] | None = None,
    subprotocols: Sequence[str] = (),
    conversation: Conversation = RAW,
    connect_timeout: float | None = None,
    deadline: float | None = None,
) -> WsSession:
    """Open ``url`` (with ``Origin``, headers and subprotocols when given), open the ``conversation``
    (Socket.IO: CONNECT), send ``message``, wait for a reply, a refusal or a close.

    ``connect_timeout`` (default: ``timeout``) bounds the TCP connect, ``timeout`` the handshake, the
    conversation's opening and the reply each; returns within ``deadline`` (default: connect + 3 x
    timeout + close grace).
    """
    connect_s = timeout if connect_timeout is None else connect_timeout
    limit = connect_s + 3 * timeout + CLOSE_GRACE_S if deadline is None else deadline
    start = monotonic_ms()
    raw = conversation.name == "raw"

    def failed(step: WsStepError, status: int | None, *, opened: bool = False) -> WsSession:
        refused = step.text if isinstance(step, Refused) else None
        return WsSession(
            url,
            opened,
            status,
            step.close_code,
            step.close_reason,
            None,
            monotonic_ms() - start,
            error="closed by the server" if raw and step.close_code is not None else step.text,
            unreachable=step.failure.connect_level,
            failure=step.failure,
            hint=status_hint(status) if status is not None and status != 101 else None,
            protocol=conversation.name,
            refused=refused,
        )

    async def work(attempt: Attempt) -> WsSession:
        opened = False  # Socket.IO: the CONNECT was acknowledged (the session is in, whatever follows)
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
                opened = not raw
                text = await conversation.exchange(ws, message, attempt, timeout)
                return WsSession(
                    url, True, 101, None, "", text, monotonic_ms() - start, protocol=conversation.name
                )
        except WsStepError as step:
            if attempt.answered:
                return failed(step, 101, opened=opened)
            if step.status is not None and (hint := status_hint(step.status)):
                step.text = f"{step.text} (hint: {hint})"
            return failed(step, step.status)

    def expired(attempt: Attempt) -> WsSession:
        step = WsStepError(attempt.expired_failure(), attempt.expired_text())
        return failed(step, 101 if attempt.answered else None)

    return run_session(limit, work, expired)


@dataclass(frozen=True)
class WsHold:
    """An idle session: whether it still answered after ``hold_s`` without any frame sent.

    ``hold_s`` is the time actually held; ``requested_s`` what was asked; ``capped`` says the request was
    cut to ``max_hold_s`` (a survival over a shorter hold proves less than was asked).
    """

    url: str
    hold_s: float
    connected: bool
    survived: bool
    close_code: int | None = None
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None
    requested_s: float | None = None
    max_hold_s: float = DEFAULT_MAX_HOLD_S
    capped: bool = False

    @property
    def bound(self) -> str:
        """The hold as run, with its cap when the request was cut."""
        if self.capped:
            return f"held {self.hold_s:g} s (asked {self.requested_s:g} s, capped at max_hold_s)"
        return f"held {self.hold_s:g} s"


@dataclass(frozen=True)
class HoldTarget:
    """One endpoint to hold idle: its URL, the message to exchange afterwards, its CA bundle, and how a
    session is opened on it (headers, subprotocols, the conversation: Socket.IO CONNECTs first)."""

    url: str
    message: str = "ping"
    cafile: Path | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    subprotocols: tuple[str, ...] = ()
    conversation: Conversation = RAW


def hold_idle(
    url: str,
    *,
    hold_s: float,
    timeout: float,
    message: str = "ping",
    cafile: Path | None = None,
    connect_timeout: float | None = None,
    max_hold_s: float = DEFAULT_MAX_HOLD_S,
) -> WsHold:
    """Connect, stay idle (no data, no client pings) for ``hold_s``, then ping and exchange ``message``.

    The hold is cut to ``max_hold_s`` (the result says so); the call returns within connect + hold +
    4 x timeout + close grace.
    """
    (held,) = hold_idle_many(
        [HoldTarget(url, message, cafile)],
        hold_s=hold_s,
        timeout=timeout,
        connect_timeout=connect_timeout,
        max_hold_s=max_hold_s,
    )
    return held


def hold_idle_many(
    targets: Sequence[HoldTarget],
    *,
    hold_s: float,
    timeout: float,
    connect_timeout: float | None = None,
    max_hold_s: float = DEFAULT_MAX_HOLD_S,
) -> tuple[WsHold, ...]:
    """Hold every target idle at the same time (one event loop); one ``WsHold`` per target, in order.

    N endpoints cost one hold, not N: the whole call returns within connect + hold + 4 x timeout + close
    grace, whatever the servers do. A Socket.IO session is CONNECTed first and answers the server's
    Engine.IO heartbeats while idle (the protocol requires it); it sends nothing of its own.
    """
    if not targets:
        return ()
    connect_s = timeout if connect_timeout is None else connect_timeout
    held_s = max(0.0, min(hold_s, max_hold_s))
    capped = hold_s > max_hold_s
    limit = connect_s + held_s + 4 * timeout + CLOSE_GRACE_S

    def outcome(target: HoldTarget, connected: bool, survived: bool, **facts: object) -> WsHold:
        return WsHold(
            target.url,
            held_s,
            connected,
            survived,
            requested_s=hold_s,
            max_hold_s=max_hold_s,
            capped=capped,
            **facts,  # type: ignore[arg-type]
        )

    async def one(target: HoldTarget) -> WsHold:
        # each endpoint gets its own attempt: one's progress says nothing about another's
        attempt = Attempt(limit)
        try:
            async with open_session(
                target.conversation.url(target.url),
                attempt,
                connect_timeout=connect_s,
                read_timeout=timeout,
                cafile=target.cafile,
                headers=target.headers,
                subprotocols=target.subprotocols,
            ) as ws:
                await target.conversation.open(ws, attempt, timeout)
                await target.conversation.idle(ws, held_s)  # the behaviour under test is idleness itself
                try:
                    async with asyncio.timeout(attempt.budget(timeout)):
                        await (await ws.ping())
                except TimeoutError:
                    return outcome(
                        target,
                        True,
                        False,
                        error=f"no pong within {timeout:g} s after {held_s:g} s idle",
                        failure=Failure.WS_SILENT,
                    )
                try:
                    await target.conversation.exchange(ws, target.message, attempt, timeout)
                except WsStepError as step:
                    if step.failure is not Failure.WS_SILENT:
                        raise
                    return outcome(
                        target,
                        True,
                        False,
                        error=f"pong, but no reply to {target.message!r} within {timeout:g} s",
                        failure=Failure.WS_SILENT,
                    )
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            return outcome(
                target,
                True,
                False,
                close_code=code,
                error=f"connection closed ({closed})",
                failure=Failure.CLOSED,
            )
        except WsStepError as step:
            if attempt.answered:
                return outcome(
                    target, True, False, close_code=step.close_code, error=step.text, failure=step.failure
                )
            return outcome(
                target,
                False,
                False,
                error=step.text,
                failure=step.failure,
                unreachable=step.failure.connect_level,
            )
        return outcome(target, True, True)

    async def work(_: Attempt) -> tuple[WsHold, ...]:
        return tuple(await asyncio.gather(*(one(t) for t in targets)))

    def expired(attempt: Attempt) -> tuple[WsHold, ...]:
        text = attempt.expired_text()
        return tuple(outcome(t, False, False, error=text, failure=Failure.SILENT) for t in targets)

    return run_session(limit + CLOSE_GRACE_S, work, expired)
