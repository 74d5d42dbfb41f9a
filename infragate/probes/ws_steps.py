"""What the WebSocket probes share: how a step failed (already classified), reply matchers, hints.

Split from ``infragate.probes.websocket`` (which re-exports these names) so the session machinery stays
readable; ``ws_session`` and ``ws_socketio`` use the same step errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Protocol

from websockets.exceptions import ConnectionClosed

from infragate.probes._base import Failure
from infragate.probes.conditions import EXCERPT, ConditionLike, condition_problem, redact

__all__ = [
    "Refused",
    "ReplyLike",
    "WsStepError",
    "closed_step",
    "excerpt",
    "reply_problem",
    "silent_step",
    "status_hint",
]


def excerpt(text: str | None) -> str:
    """A message or reply for a failure message: quoted, tokens redacted, at most ``EXCERPT`` characters."""
    if text is None:
        return "nothing"
    shown = redact(text)
    return repr(shown if len(shown) <= EXCERPT else shown[: EXCERPT - 3] + "...")


class ReplyLike(Protocol):
    """A reply matcher (``infragate.inventory.websocket.Reply``): every key given must hold."""

    @property
    def equals(self) -> str | None: ...

    @property
    def prefix(self) -> str | None: ...

    @property
    def matches(self) -> str | None: ...

    @property
    def json(self) -> Sequence[ConditionLike]: ...


def reply_problem(text: str | None, reply: ReplyLike) -> str | None:
    """What ``text`` breaks of ``reply`` in words, or None when it meets every key."""
    if text is None:
        return "no reply"
    if reply.equals is not None and text != reply.equals:
        return f"reply {excerpt(text)}, expected {reply.equals!r}"
    if reply.prefix is not None and not text.startswith(reply.prefix):
        return f"reply {excerpt(text)} does not start with {reply.prefix!r}"
    if reply.matches is not None and not re.search(reply.matches, text):
        return f"reply {excerpt(text)} does not match /{reply.matches}/"
    if reply.json:
        try:
            doc = json.loads(text)
        except ValueError:
            return f"reply {excerpt(text)} is not JSON"
        found = [p for c in reply.json if (p := condition_problem(doc, c)) is not None]
        if found:
            return f"reply {excerpt(text)}: " + "; ".join(found)
    return None


def status_hint(status: int) -> str | None:
    """The usual cause of a WebSocket upgrade answered with ``status`` instead of 101."""
    if status == 505:
        return (
            "505 HTTP Version Not Supported: the proxy forwards the upgrade as HTTP/1.0; "
            "set 'proxy_http_version 1.1;' (with 'proxy_set_header Upgrade $http_upgrade;' and "
            "'proxy_set_header Connection \"upgrade\";') in the WebSocket location"
        )
    if status in (400, 426):
        return "the upgrade headers did not reach the backend: does the proxy set Upgrade and Connection?"
    if status in (301, 302, 307, 308):
        return "the upgrade was redirected: check the scheme (ws/wss) and the path"
    return None


class WsStepError(Exception):
    """A failed step, already classified (kind, one line, HTTP status when the upgrade was refused)."""

    def __init__(
        self,
        failure: Failure,
        text: str,
        status: int | None = None,
        *,
        close_code: int | None = None,
        close_reason: str = "",
    ) -> None:
        super().__init__(text)
        self.failure, self.text, self.status = failure, text, status
        self.close_code, self.close_reason = close_code, close_reason


class Refused(WsStepError):
    """The protocol spoken after 101 refused the session (e.g. a CONNECT_ERROR packet): an answer."""

    def __init__(self, text: str) -> None:
        super().__init__(Failure.PROTOCOL, text)


def silent_step(text: str) -> WsStepError:
    """101, then nothing within the read timeout."""
    return WsStepError(Failure.WS_SILENT, text)


def closed_step(closed: ConnectionClosed) -> WsStepError:
    """101, then a close frame (or a dropped connection) from the server."""
    rcvd = closed.rcvd
    code = f" with code {rcvd.code} {rcvd.reason!r}".rstrip() if rcvd else ""
    return WsStepError(
        Failure.CLOSED,
        f"101 Switching Protocols, then closed by the server{code}",
        close_code=rcvd.code if rcvd else None,
        close_reason=rcvd.reason if rcvd else "",
    )
