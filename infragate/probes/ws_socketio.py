"""Socket.IO 5 over Engine.IO 4 on an open WebSocket: the open packet, CONNECT with an auth payload,
CONNECT_ERROR, an event round trip and an idle hold that still answers the server's heartbeats.

The packets are encoded and decoded by python-socketio's and python-engineio's own packet classes; the
WebSocket itself is ``websocket.open_session`` (its timeouts, hard deadline and failure kinds), so a
Socket.IO endpoint is probed with the same bounds as a raw one. The transport is WebSocket only
(``?EIO=4&transport=websocket``): these checks are about the upgrade, not HTTP long-polling.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from infragate.lazy import lazy_module
from infragate.probes._base import Attempt, Failure
from infragate.probes.websocket import Refused, WsStepError, closed_step, silent_step

if TYPE_CHECKING:
    from engineio import packet as eio
    from socketio import packet as sio
else:
    eio = lazy_module("engineio.packet")
    sio = lazy_module("socketio.packet")

__all__ = ["SocketIo", "engineio_url", "reply_text"]

ACK_ID = 1


def engineio_url(url: str) -> str:
    """``url`` with Engine.IO 4's WebSocket-transport query (EIO=4, transport=websocket) added."""
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("EIO", "transport")
    ]
    query += [("EIO", "4"), ("transport", "websocket")]
    path = parts.path or "/socket.io/"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


def reply_text(args: list[Any]) -> str:
    """An event's or acknowledgement's data as text: one string argument as is, anything else as JSON."""
    value: Any = args[0] if len(args) == 1 else (args or None)
    return value if isinstance(value, str) else json.dumps(value)


def _short(data: Any) -> str:
    text = json.dumps(data) if not isinstance(data, str) else data
    return text if len(text) <= 120 else text[:117] + "..."


@dataclass(frozen=True)
class SocketIo:
    """A Socket.IO conversation: the namespace, the CONNECT auth payload (None: none sent), the event
    emitted and the event awaited as its reply (None: the emitted event's acknowledgement)."""

    namespace: str = "/"
    auth: dict[str, Any] | None = None
    event: str = "message"
    expect_event: str | None = None

    name = "socketio"

    def url(self, url: str) -> str:
        """The WebSocket URL to open for this conversation."""
        return engineio_url(url)

    def _ns(self, packet: sio.Packet) -> bool:
        return (packet.namespace or "/") == self.namespace

    def _encode(self, packet_type: int, data: Any = None, id_: int | None = None) -> str:
        namespace = None if self.namespace == "/" else self.namespace
        inner = sio.Packet(packet_type, data=data, namespace=namespace, id=id_).encode()
        encoded = eio.Packet(eio.MESSAGE, data=inner).encode()
        assert isinstance(encoded, str)  # a text packet: no binary attachments are ever sent
        return encoded

    async def _next(self, ws: ClientConnection, attempt: Attempt, timeout: float, waiting: str) -> sio.Packet:
        """The next Socket.IO packet; Engine.IO heartbeats are answered on the way, binary frames skipped."""
        try:
            while True:
                async with asyncio.timeout(attempt.budget(timeout)):
                    frame = await ws.recv()
                if isinstance(frame, bytes):
                    continue  # attachments of a binary event: never what this probe waits for
                packet = eio.Packet(encoded_packet=frame)
                if packet.packet_type == eio.PING:
                    await ws.send(eio.Packet(eio.PONG, data=packet.data).encode())
                elif packet.packet_type == eio.CLOSE:
                    raise WsStepError(Failure.CLOSED, f"the server closed the Engine.IO session {waiting}")
                elif packet.packet_type == eio.MESSAGE and isinstance(packet.data, str):
                    return sio.Packet(encoded_packet=packet.data)
        except TimeoutError:
            raise silent_step(f"nothing {waiting} within {timeout:g} s") from None
        except ConnectionClosed as closed:
            raise closed_step(closed) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise WsStepError(Failure.PROTOCOL, f"not a Socket.IO packet {waiting} ({exc})") from None

    async def open(self, ws: ClientConnection, attempt: Attempt, timeout: float) -> None:
        """Read Engine.IO's open packet, send CONNECT with the auth payload; CONNECT_ERROR is ``Refused``."""
        try:
            async with asyncio.timeout(attempt.budget(timeout)):
                first = await ws.recv()
        except TimeoutError:
            raise silent_step(
                f"101 Switching Protocols, then no Engine.IO open packet within {timeout:g} s"
            ) from None
        except ConnectionClosed as closed:
            raise closed_step(closed) from None
        opened = eio.Packet(encoded_packet=first) if isinstance(first, str) else None
        if opened is None or opened.packet_type != eio.OPEN:
            raise WsStepError(
                Failure.PROTOCOL,
                f"101, but the first frame is not an Engine.IO 4 open packet: {_short(first)!r}"
                " (is this a Socket.IO 5 server, and the path its /socket.io/?)",
            )
        await ws.send(self._encode(sio.CONNECT, self.auth))
        while True:
            packet = await self._next(ws, attempt, timeout, "in answer to CONNECT")
            if not self._ns(packet):
                continue
            if packet.packet_type == sio.CONNECT:
                return
            if packet.packet_type == sio.CONNECT_ERROR:
                raise Refused(
                    f"CONNECT to namespace {self.namespace} refused: CONNECT_ERROR {_short(packet.data)}"
                )
            if packet.packet_type == sio.DISCONNECT:
                raise Refused(f"CONNECT to namespace {self.namespace} answered with DISCONNECT")

    async def exchange(self, ws: ClientConnection, message: str, attempt: Attempt, timeout: float) -> str:
        """Emit ``event`` with ``message``; the data of ``expect_event`` (or of the acknowledgement)."""
        awaited = (
            f"event {self.expect_event!r}" if self.expect_event else f"the acknowledgement of {self.event!r}"
        )
        ack = ACK_ID if self.expect_event is None else None
        try:
            await ws.send(self._encode(sio.EVENT, [self.event, message], ack))
        except ConnectionClosed as closed:
            raise closed_step(closed) from None
        while True:
            packet = await self._next(ws, attempt, timeout, f"({awaited}) after emitting {self.event!r}")
            if not self._ns(packet):
                continue
            data = packet.data if isinstance(packet.data, list) else []
            if packet.packet_type == sio.DISCONNECT:
                raise WsStepError(
                    Failure.CLOSED, f"the server disconnected namespace {self.namespace} instead of {awaited}"
                )
            if ack is not None and packet.packet_type == sio.ACK and packet.id == ack:
                return reply_text(data)
            if self.expect_event and packet.packet_type == sio.EVENT and data[:1] == [self.expect_event]:
                return reply_text(data[1:])

    async def idle(self, ws: ClientConnection, seconds: float) -> None:
        """Send nothing of our own for ``seconds``, answering Engine.IO heartbeats as any client must.

        Engine.IO servers close a session whose client does not answer its PING (pingInterval +
        pingTimeout, 45 s by default): a silent client would be cut by the server, not by the proxy.
        """
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while (left := until - loop.time()) > 0:
            try:
                async with asyncio.timeout(left):
                    frame = await ws.recv()
            except TimeoutError:
                return
            if isinstance(frame, str) and frame.startswith(str(eio.PING)):
                await ws.send(eio.Packet(eio.PONG, data=eio.Packet(encoded_packet=frame).data).encode())
            elif isinstance(frame, str) and frame.startswith(str(eio.CLOSE)):
                raise WsStepError(Failure.CLOSED, "the server closed the Engine.IO session while idle")
