"""HTTP: one request, its status, timing, headers and (bounded) body (``curl -f``)."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx

from infragate.probes._base import Timeout, client_context, describe_error, is_unreachable, monotonic_ms

__all__ = ["HttpAnswer", "request"]

_MAX_BODY = 256 * 1024  # enough for a health page; a probe must not buffer a download


@dataclass(frozen=True)
class HttpAnswer:
    """What one HTTP request saw; ``status`` is None when no response arrived."""

    url: str
    method: str
    status: int | None
    elapsed_ms: float
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    body: str = ""
    error: str | None = None
    unreachable: bool = False

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
) -> HttpAnswer:
    """Send one request with TLS verification on (system store or ``cafile``) and return what came back."""
    start = monotonic_ms()
    limits = httpx.Timeout(
        connect=timeout.connect, read=timeout.read, write=timeout.read, pool=timeout.connect
    )
    try:
        with (
            httpx.Client(
                verify=client_context(cafile), timeout=limits, follow_redirects=follow_redirects
            ) as client,
            client.stream(method, url, headers=dict(headers or {})) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= _MAX_BODY:
                    break
            body = b"".join(chunks)[:_MAX_BODY].decode(response.encoding or "utf-8", errors="replace")
            return HttpAnswer(
                url=url,
                method=method,
                status=response.status_code,
                elapsed_ms=monotonic_ms() - start,
                headers=MappingProxyType({k.lower(): v for k, v in response.headers.items()}),
                body=body,
            )
    except (httpx.HTTPError, OSError) as exc:
        return HttpAnswer(
            url=url,
            method=method,
            status=None,
            elapsed_ms=monotonic_ms() - start,
            error=describe_error(exc),
            unreachable=is_unreachable(exc),
        )
