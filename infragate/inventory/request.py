"""The declarative request and expectation shape every HTTP-based contract shares.

Gatus writes ``[STATUS] == 200``, ``[BODY].status == UP``; Tavern writes a request stage and a response
stage. Here the same as TOML tables::

    expect = { status = [200], json = [{ path = "status", one_of = ["ok", "up"] }],
               body_not_matches = "(?i)traceback|model call failed" }

``path`` is JMESPath (``infragate.jsonpath``). A condition with several keys must meet all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from infragate.inventory._validate import HttpUrl, Invalid, Regex, Signed, StatusCode
from infragate.jsonpath import PathError, compile_path

__all__ = ["Condition", "Expect", "Request"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Condition:
    """The value at ``path`` (JMESPath; ``@`` the whole document) exists and meets every key given."""

    path: str = "@"
    equals: Any = None
    one_of: tuple[Any, ...] = ()
    matches: Regex | None = None
    min: Signed | None = None
    max: Signed | None = None
    min_count: int | None = None
    contains: Any = None
    absent: bool = False

    def __post_init__(self) -> None:
        try:
            compile_path(self.path)
        except PathError as exc:
            raise Invalid("path", str(exc)) from None

    def describe(self) -> str:
        """The condition in words (``status one of 'ok', 'up'``)."""
        if self.absent:
            return f"{self.path} absent"
        parts = [self.path]
        if self.equals is not None:
            parts.append(f"== {self.equals!r}")
        if self.one_of:
            parts.append("one of " + ", ".join(map(repr, self.one_of)))
        if self.matches is not None:
            parts.append(f"matches /{self.matches}/")
        if self.contains is not None:
            parts.append(f"contains {self.contains!r}")
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        if self.min_count is not None:
            parts.append(f"count >= {self.min_count}")
        return " ".join(parts) if len(parts) > 1 else f"{self.path} exists"


@dataclass(frozen=True)
class Expect:
    """What an answer must look like: status, JSON conditions, header patterns, body text."""

    status: tuple[StatusCode, ...] = ()
    json: tuple[Condition, ...] = ()
    headers: Mapping[str, Regex] = field(default_factory=lambda: _EMPTY)
    body_matches: Regex | None = None
    body_not_matches: Regex | None = None

    def describe(self) -> str:
        """The expectation in words, for a failure message."""
        parts = []
        if self.status:
            parts.append("HTTP " + " or ".join(map(str, self.status)))
        parts.extend(c.describe() for c in self.json)
        parts.extend(f"header {k} matching /{v}/" for k, v in self.headers.items())
        if self.body_matches is not None:
            parts.append(f"a body matching /{self.body_matches}/")
        if self.body_not_matches is not None:
            parts.append(f"a body not matching /{self.body_not_matches}/")
        return ", ".join(parts) or "any answer"


@dataclass(frozen=True)
class Request:
    """One request: method, URL, headers, JSON or form body; ``auth`` names an [[auth]] entry whose token
    is presented the way that entry's contract says. ``url`` None: the URL of the entry that holds the
    request (an ``[[http.endpoints]]`` entry's ``url``)."""

    url: HttpUrl | None = None
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    json: Any = None
    form: Mapping[str, str] | None = None
    auth: str | None = None

    def __post_init__(self) -> None:
        if self.json is not None and self.form is not None:
            raise Invalid("form", "json and form are exclusive: a body is one or the other")
