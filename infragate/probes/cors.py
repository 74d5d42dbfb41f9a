"""CORS: what a browser's preflight (OPTIONS with Origin) is told by the server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from infragate.probes import http
from infragate.probes._base import Failure, Timeout

__all__ = ["CorsAnswer", "preflight"]


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip().lower() for v in (value or "").split(",") if v.strip())


@dataclass(frozen=True)
class CorsAnswer:
    """The CORS headers a preflight got back."""

    url: str
    origin: str
    status: int | None
    allow_origin: str | None
    allow_credentials: bool
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None  # as HttpAnswer.failure (HTTP for an error status)

    def allows_method(self, method: str) -> bool:
        """The method is listed (or '*' without credentials)."""
        return method.lower() in self.allow_methods or (
            "*" in self.allow_methods and not self.allow_credentials
        )

    def allows_header(self, header: str) -> bool:
        """The request header is listed (or '*' without credentials)."""
        return header.lower() in self.allow_headers or (
            "*" in self.allow_headers and not self.allow_credentials
        )


def preflight(
    url: str,
    *,
    origin: str,
    method: str,
    request_headers: Sequence[str] = (),
    timeout: Timeout,
    cafile: Path | None = None,
    deadline: float | None = None,
) -> CorsAnswer:
    """Send the preflight a browser would send for ``method`` from ``origin``.

    Returns within ``deadline`` seconds (default: connect + read timeout), as ``http.request``.
    """
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers:
        headers["Access-Control-Request-Headers"] = ", ".join(request_headers)
    answer = http.request(
        url, method="OPTIONS", timeout=timeout, cafile=cafile, headers=headers, deadline=deadline
    )
    h = answer.headers
    return CorsAnswer(
        url=url,
        origin=origin,
        status=answer.status,
        allow_origin=h.get("access-control-allow-origin"),
        allow_credentials=h.get("access-control-allow-credentials", "").strip().lower() == "true",
        allow_methods=_split(h.get("access-control-allow-methods")),
        allow_headers=_split(h.get("access-control-allow-headers")),
        error=answer.error,
        unreachable=answer.unreachable,
        failure=answer.failure,
    )
