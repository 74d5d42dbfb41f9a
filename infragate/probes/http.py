"""HTTP: one request, its status, timing, headers and (bounded) body (``curl -f``)."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx

from infragate.probes._base import (
    Attempt,
    Failure,
    Timeout,
    classify,
    client_context,
    describe_error,
    monotonic_ms,
    run_within,
    shutdown_socket,
)

__all__ = ["HttpAnswer", "request"]

_MAX_BODY = 256 * 1024  # enough for a health page; a probe must not buffer a download


@dataclass(frozen=True)
class HttpAnswer:
    """What one HTTP request saw; ``status`` is None when no response arrived.

    ``failure`` is None for a 1xx-3xx answer, ``Failure.HTTP`` for an error status (``error`` stays None:
    the server did answer), otherwise how the request failed. ``unreachable`` only for connect-level
    failures (refused, connect timeout, no route, DNS).
    """

    url: str
    method: str
    status: int | None
    elapsed_ms: float
    # Bodies and headers carry tokens (a login answer, Set-Cookie): kept out of the repr, which
    # `pytest -l` prints for every local of a failing test.
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    body: str = field(default="", repr=False)
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return jsonlib.loads(self.body)
        except ValueError:
            return None


def request(
    url: str,
    *,
    timeout: Timeout,
    method: str = "GET",
    cafile: Path | None = None,
    headers: Mapping[str, str] | None = None,
    follow_redirects: bool = False,
    deadline: float | None = None,
) -> HttpAnswer:
    """Send one request with TLS verification on (system store or ``cafile``) and return what came back.

    Returns within ``deadline`` seconds (default: connect + read timeout), whatever the server does.
    """
    start = monotonic_ms()
    limit = timeout.total if deadline is None else deadline
    try:
        ctx = client_context(cafile)
    except OSError as exc:
        return HttpAnswer(
            url, method, None, monotonic_ms() - start, error=describe_error(exc), failure=Failure.OTHER
        )

    def failed(error: str, failure: Failure) -> HttpAnswer:
        return HttpAnswer(
            url=url,
            method=method,
            status=None,
            elapsed_ms=monotonic_ms() - start,
            error=error,
            unreachable=failure.connect_level,
            failure=failure,
        )

    def work(attempt: Attempt) -> HttpAnswer:
        try:
            return _send(url, method, timeout, ctx, headers, follow_redirects, attempt, start)
        except (httpx.HTTPError, OSError) as exc:
            return failed(describe_error(exc), classify(exc, connected=attempt.connected or None))

    def expired(attempt: Attempt) -> HttpAnswer:
        return failed(attempt.expired_text(), attempt.expired_failure())

    return run_within(limit, work, expired=expired, name="http")


def _trace(attempt: Attempt) -> Any:
    """An httpcore trace hook: records the phase reached and lets an expired deadline close the socket."""

    def trace(event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            attempt.connected = True
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                attempt.on_abort(shutdown_socket(sock))
        elif event.endswith("receive_response_headers.complete"):
            attempt.answered = True

    return trace


def _send(
    url: str,
    method: str,
    timeout: Timeout,
    ctx: Any,
    headers: Mapping[str, str] | None,
    follow_redirects: bool,
    attempt: Attempt,
    start: float,
) -> HttpAnswer:
    limits = httpx.Timeout(
        connect=attempt.budget(timeout.connect),
        read=attempt.budget(timeout.read),
        write=attempt.budget(timeout.read),
        pool=attempt.budget(timeout.connect),
    )
    with (
        httpx.Client(verify=ctx, timeout=limits, follow_redirects=follow_redirects) as client,
        client.stream(
            method, url, headers=dict(headers or {}), extensions={"trace": _trace(attempt)}
        ) as response,
    ):
        chunks: list[bytes] = []
        size = 0
        error = None
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= _MAX_BODY:
                break
            if attempt.remaining() <= 0:
                # a server trickling its body: keep what came, say so
                error = f"body incomplete after the probe's {attempt.seconds:g} s deadline"
                break
        body = b"".join(chunks)[:_MAX_BODY].decode(response.encoding or "utf-8", errors="replace")
        status = response.status_code
        return HttpAnswer(
            url=url,
            method=method,
            status=status,
            elapsed_ms=monotonic_ms() - start,
            headers=MappingProxyType({k.lower(): v for k, v in response.headers.items()}),
            body=body,
            error=error,
            failure=Failure.HTTP if status >= 400 else (Failure.SILENT if error else None),
        )
