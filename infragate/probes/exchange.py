"""One HTTP exchange as an inventory declares it: method, URL, headers, query, cookies, JSON or form body.

The general form of ``http.request`` for contracts (a login posting a form, a refresh sending a cookie,
an API key in a query parameter). Same hard deadline, same failure kinds.
"""

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
)
from infragate.probes.http import HttpAnswer

__all__ = ["Outgoing", "send"]

_MAX_BODY = 256 * 1024
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Outgoing:
    """A request to send. ``json`` and ``form`` are exclusive; values may hold secrets: never printed."""

    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    params: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    cookies: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    json: Any = None
    form: Mapping[str, str] | None = None
    # A body sent as is (a deliberately malformed one); exclusive with json and form.
    content: bytes | None = None

    def __repr__(self) -> str:
        # Bodies, headers and cookies carry passwords and tokens: the repr names only the request line.
        return f"Outgoing({self.method} {self.url.split('?')[0]})"


def send(out: Outgoing, *, timeout: Timeout, cafile: Path | None = None) -> HttpAnswer:
    """Send ``out`` (TLS verified, redirects not followed) and return what came back, within the deadline."""
    start = monotonic_ms()
    try:
        ctx = client_context(cafile)
    except OSError as exc:
        return HttpAnswer(out.url, out.method, None, 0.0, error=describe_error(exc), failure=Failure.OTHER)

    def failed(error: str, failure: Failure) -> HttpAnswer:
        return HttpAnswer(
            out.url,
            out.method,
            None,
            monotonic_ms() - start,
            error=error,
            unreachable=failure.connect_level,
            failure=failure,
        )

    def work(attempt: Attempt) -> HttpAnswer:
        limits = httpx.Timeout(
            connect=attempt.budget(timeout.connect),
            read=attempt.budget(timeout.read),
            write=attempt.budget(timeout.read),
            pool=attempt.budget(timeout.connect),
        )
        try:
            with httpx.Client(verify=ctx, timeout=limits, cookies=dict(out.cookies)) as client:
                content = jsonlib.dumps(out.json).encode() if out.json is not None else out.content
                headers = dict(out.headers)
                if out.json is not None:
                    headers.setdefault("Content-Type", "application/json")
                response = client.request(
                    out.method,
                    out.url,
                    headers=headers,
                    params=dict(out.params) or None,
                    content=content,
                    data=dict(out.form) if out.form is not None else None,
                )
                attempt.answered = True
                return HttpAnswer(
                    url=out.url,
                    method=out.method,
                    status=response.status_code,
                    elapsed_ms=monotonic_ms() - start,
                    headers=MappingProxyType({k.lower(): v for k, v in response.headers.items()}),
                    body=response.text[:_MAX_BODY],
                    failure=Failure.HTTP if response.status_code >= 400 else None,
                )
        except (httpx.HTTPError, OSError) as exc:
            return failed(describe_error(exc), classify(exc, connected=attempt.connected or None))

    def expired(attempt: Attempt) -> HttpAnswer:
        return failed(attempt.expired_text(), attempt.expired_failure())

    return run_within(timeout.total, work, expired=expired, name="exchange")
