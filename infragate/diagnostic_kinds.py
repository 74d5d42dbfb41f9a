"""What a catalog diagnostic may be: the allow-list of kinds, their keys, the ``{entry.<field>}``
placeholders they accept, and what a diagnostic may cost (``Limits``). Split from ``diagnostics.py`` (the
run's session), which re-exports these names; ``diagnostic_commands.py`` builds each kind's command.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

__all__ = [
    "HOST_KINDS",
    "KINDS",
    "MAX_LINES",
    "PLACEHOLDER",
    "Diagnostic",
    "DiagnosticError",
    "Limits",
    "Runner",
    "parse_diagnostics",
]


class DiagnosticError(ValueError):
    """A catalog ``diagnostics`` item is malformed (unknown kind or key, bad value)."""


class Runner(Protocol):
    """The host transport: testinfra's ``Host.run(command, *args)`` quotes each ``%s`` argument."""

    def run(self, command: str, *args: str) -> Any: ...


# kind -> (allowed keys, required keys). Values may hold ``{entry.<field>}`` placeholders where noted.
HOST_KINDS = {
    "log_tail": ({"path", "lines"}, {"path"}),  # path: a placeholder, or "declared" = every [[host.logs]]
    "journal": ({"unit", "lines"}, {"unit"}),
    "docker_logs": ({"container", "lines"}, {"container"}),
    "nginx_config": ({"match"}, {"match"}),  # match: a regex (catalog text) selecting nginx -T lines
    "listeners": ({"port"}, {"port"}),
    "processes": ({"pattern"}, {"pattern"}),
    "pidfile": ({"pidfile"}, {"pidfile"}),
    "disk": ({"path"}, {"path"}),
}
_NETWORK_KINDS = {
    "sql": ({"query", "rows"}, {"query"}),  # the entry is a [[postgres]] entry
    "redis_info": ({"section"}, {"section"}),  # the entry is a [[redis]] entry
    "tls_peer": (set(), set()),  # the entry has host/port (or a URL): the certificate it serves
}
KINDS: Mapping[str, tuple[set[str], set[str]]] = MappingProxyType({**HOST_KINDS, **_NETWORK_KINDS})
PLACEHOLDER = re.compile(r"\{entry((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\}")
_ANY_BRACE = re.compile(r"[{}]")
MAX_LINES = 200


@dataclass(frozen=True)
class Diagnostic:
    """One catalog diagnostic: an allow-listed kind and its parameters (placeholders not yet filled)."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def _parse_one(raw: Any, where: str) -> Diagnostic:
    if not isinstance(raw, Mapping) or "kind" not in raw:
        raise DiagnosticError(f"{where}: a diagnostic is a mapping with a kind")
    kind = raw["kind"]
    if kind not in KINDS:
        raise DiagnosticError(f"{where}: kind {kind!r} is not one of {sorted(KINDS)}")
    allowed, required = KINDS[kind]
    params = {k: v for k, v in raw.items() if k != "kind"}
    unknown, missing = set(params) - allowed, required - set(params)
    if unknown or missing:
        raise DiagnosticError(f"{where}: {kind}: unknown keys {sorted(unknown)}, missing {sorted(missing)}")
    lines = params.get("lines", 50)
    if not isinstance(lines, int) or isinstance(lines, bool) or not 1 <= lines <= MAX_LINES:
        raise DiagnosticError(f"{where}: {kind}: lines must be an integer in 1..{MAX_LINES}")
    if kind == "sql":
        query = str(params["query"])
        # A plain SELECT (it runs in a READ ONLY transaction anyway): no statement list, no writes.
        if not re.match(r"(?is)\s*(select|with)\b", query) or ";" in query:
            raise DiagnosticError(f"{where}: sql: query must be one SELECT statement without ';'")
    if kind == "redis_info" and not re.fullmatch(r"[a-z]+", str(params["section"])):
        raise DiagnosticError(f"{where}: redis_info: section must be one INFO section name")
    if kind == "nginx_config":
        try:
            re.compile(str(params["match"]))
        except re.error as exc:
            raise DiagnosticError(f"{where}: nginx_config: match is not a regex: {exc}") from None
    for key, value in params.items():
        if isinstance(value, str) and key not in ("query", "match"):
            leftover = _ANY_BRACE.search(PLACEHOLDER.sub("", value))
            if leftover:
                raise DiagnosticError(
                    f"{where}: {kind}.{key}: only {{entry.<field>}} placeholders are allowed"
                )
    return Diagnostic(kind, MappingProxyType(params))


def parse_diagnostics(raw: Any, where: str) -> tuple[Diagnostic, ...]:
    """The ``diagnostics`` list of a catalog entry, validated against the allow-list."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise DiagnosticError(f"{where}: diagnostics must be a list")
    return tuple(_parse_one(item, f"{where}.diagnostics[{i}]") for i, item in enumerate(raw))


# ------------------------------------------------------------------------------------------ bounds


@dataclass(frozen=True)
class Limits:
    """How much a diagnostic may cost: seconds each, seconds per failing test and per run, output size."""

    each_s: float = 5.0
    test_s: float = 15.0
    run_s: float = 60.0
    max_lines: int = 60
    max_chars: int = 4000
    # What the host command may print before it is cut on the host (so a huge `nginx -T` never travels).
    host_bytes: int = 256 * 1024
