"""The one generic converter from TOML values to the inventory's frozen dataclasses, and its rules.

Every value goes through ``build``/``_convert``: unknown keys, wrong types and missing keys are errors,
and so is every value a probe could not use (a NaN timeout, port 70000, a URL without a host). Rules
that belong to one kind of value are ``Annotated`` markers (``PortNumber``, ``HttpUrl``, ``LocalFile``)
that an area module puts on its fields; rules that involve several fields of one entry live in that
entry's ``__post_init__`` and raise ``Invalid``. Every error is an ``InventoryError``: one line naming
the key and the rule, never the value of a secret.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

__all__ = [
    "ENV_NAME",
    "MAX_DEPTH",
    "NAME",
    "AnyUrl",
    "Between",
    "ContainerName",
    "HttpUrl",
    "Invalid",
    "InventoryError",
    "LocalFile",
    "Percent",
    "PortNumber",
    "Ratio",
    "Regex",
    "Secret",
    "Signed",
    "StatusCode",
    "WsUrl",
    "build",
    "describe",
    "only_for",
    "too_deep",
]

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# TOML nests arrays and inline tables without limit; nothing in an inventory needs more than a few levels,
# and Python's parser recurses (a RecursionError, not a message, past about 300).
MAX_DEPTH = 32

T = TypeVar("T")


class InventoryError(ValueError):
    """An inventory file is missing or invalid; the message is one line naming file and key."""


class Invalid(Exception):
    """Raised by an entry's ``__post_init__``: ``key`` (relative to the entry) breaks ``rule``."""

    def __init__(self, key: str, rule: str) -> None:
        super().__init__(f"{key}: {rule}")
        self.key = key
        self.rule = rule


@dataclass(frozen=True)
class Secret:
    """A value taken from an environment variable; its repr and str never show the value.

    ``value`` is the only way to read it; nothing in the inventory copies it into a plain string.
    """

    env: str
    value: str = field(repr=False, compare=False)

    def __repr__(self) -> str:
        return f"Secret(env={self.env!r})"

    def __str__(self) -> str:
        return f"${self.env}"


# ---------------------------------------------------------------------------- rules (Annotated markers)


@dataclass(frozen=True)
class Between:
    """A number within [low, high]."""

    low: float
    high: float
    what: str = "a value"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` breaks the rule, or None."""
        if not self.low <= value <= self.high:
            return f"must be {self.what} between {self.low:g} and {self.high:g}"
        return None


@dataclass(frozen=True)
class _NegativeAllowed:
    """Marks a number that may be negative (a bound of a metric); every other number is >= 0."""


@dataclass(frozen=True)
class _Url:
    """An absolute URL with one of ``schemes``, a host and, if given, a port in 1..65535."""

    schemes: tuple[str, ...]

    def problem(self, value: Any) -> str | None:
        """Why ``value`` breaks the rule, or None."""
        if any(c.isspace() for c in value):
            return "must be a URL without spaces"
        try:
            parts = urlsplit(value)
            port = parts.port  # raises ValueError for a port out of range or not a number
        except ValueError:
            return "must be a URL whose port is a number 1..65535"
        if parts.scheme.lower() not in self.schemes:
            return f"must be a URL starting with {' or '.join(s + '://' for s in self.schemes)}"
        if not parts.hostname:
            return "must be a URL with a host (scheme://host[:port]/path)"
        if port == 0:
            return "must be a URL whose port is a number 1..65535"
        return None


@dataclass(frozen=True)
class _LocalFile:
    """A file read where pytest runs (a CA bundle): it must exist and be a regular file."""

    def problem(self, value: Any) -> str | None:
        """Why ``value`` breaks the rule, or None."""
        path = Path(value)
        if path.is_dir():
            return "must be a file, not a directory"
        if not path.is_file():
            return "must be an existing file"
        if not os.access(path, os.R_OK):
            return "must be a readable file"
        return None


@dataclass(frozen=True)
class _Regex:
    """A Python regular expression."""

    def problem(self, value: Any) -> str | None:
        """Why ``value`` breaks the rule, or None."""
        try:
            re.compile(value)
        except re.error as exc:
            return f"must be a valid regular expression ({exc})"
        return None


@dataclass(frozen=True)
class _Named:
    """A name another program resolves (a container, a systemd unit): its own allowed characters."""

    pattern: re.Pattern[str]
    what: str

    def problem(self, value: Any) -> str | None:
        """Why ``value`` breaks the rule, or None."""
        if not self.pattern.fullmatch(value):
            return f"must be {self.what}"
        return None


PortNumber = Annotated[int, Between(1, 65535, "a port number")]
StatusCode = Annotated[int, Between(100, 599, "an HTTP status code")]
HttpUrl = Annotated[str, _Url(("http", "https"))]
WsUrl = Annotated[str, _Url(("ws", "wss"))]
AnyUrl = Annotated[str, _Url(("http", "https", "ws", "wss"))]
LocalFile = Annotated[Path, _LocalFile()]
Regex = Annotated[str, _Regex()]
Signed = Annotated[float, _NegativeAllowed()]
Ratio = Annotated[float, Between(0, 1, "a ratio")]
Percent = Annotated[float, Between(0, 100, "a percentage")]
# Docker's own rule for container and compose project names (daemon/names: [a-zA-Z0-9][a-zA-Z0-9_.-]+);
# also systemd unit and supervisor program names (no spaces, no shell characters: they reach a command).
ContainerName = Annotated[
    str,
    _Named(re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@:-]*"), "a name of letters, digits, '_', '.', '@', ':', '-'"),
]


def only_for(kind: str, allowed: Mapping[str, tuple[str, ...]], values: Mapping[str, object]) -> None:
    """Raise ``Invalid`` for a key set (not None, not empty) that ``allowed`` gives to other kinds only.

    ``allowed`` maps a key to the kinds it belongs to; an entry of kind ``kind`` must not set a key of
    another kind (a ``unit`` on a docker service would be silently ignored, and the check would test less).
    """
    for key, kinds in allowed.items():
        value = values.get(key)
        if value is None or value == ():
            continue
        if kind not in kinds:
            owners = " or ".join(f'"{k}"' for k in kinds)
            raise Invalid(key, f'only for manager = {owners}, not "{kind}"')


# ---------------------------------------------------------------------------- conversion


def describe(value: object) -> str:
    """A short repr of a value for a message (never used for secrets)."""
    try:
        text = repr(value)
    except RecursionError:  # pragma: no cover - depth is checked before any repr
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def too_deep(data: Mapping[str, Any]) -> str | None:
    """The key under which lists and tables nest more than MAX_DEPTH levels, or None.

    Iterative, so deep input cannot blow the stack (the converter and ``repr`` recurse).
    """
    stack: list[tuple[object, str, int]] = [(v, k, 1) for k, v in data.items()]
    while stack:
        current, where, level = stack.pop()
        if level > MAX_DEPTH:
            return where
        if isinstance(current, dict):
            stack.extend((v, f"{where}.{k}" if level < 3 else where, level + 1) for k, v in current.items())
        elif isinstance(current, list):
            stack.extend(
                (v, f"{where}[{i}]" if level < 3 else where, level + 1) for i, v in enumerate(current)
            )
    return None


def _number(tp: Any, value: Any, where: str, negative_ok: bool) -> Any:
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InventoryError(f"{where}: expected an integer, got {describe(value)}")
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InventoryError(f"{where}: expected a number, got {describe(value)}")
    elif not math.isfinite(value):
        raise InventoryError(f"{where}: must be a finite number, got {value}")
    else:
        value = float(value)
    if value < 0 and not negative_ok:
        raise InventoryError(f"{where}: must be zero or more, got {value:g}")
    return value


def _check_unique_names(items: tuple[Any, ...], where: str) -> None:
    """Entries of one list are told apart by name (test ids, messages): no two may share one."""
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        name = getattr(item, "name", None)
        if not isinstance(name, str):
            return
        if name in seen:
            raise InventoryError(
                f"{where}[{i}].name: names must be unique, {name!r} is also {where}[{seen[name]}]"
            )
        seen[name] = i


def _convert(tp: Any, value: Any, where: str, base: Path) -> Any:
    """Convert one TOML value to the annotated type, or raise InventoryError naming ``where``."""
    origin = get_origin(tp)
    if origin is Annotated:
        inner, *rules = get_args(tp)
        # A range rule says more than "zero or more" (port -1: "a port number between 1 and 65535").
        own_sign = any(isinstance(r, (_NegativeAllowed, Between)) for r in rules)
        if own_sign and inner in (int, float):
            converted = _number(inner, value, where, negative_ok=True)
        else:
            converted = _convert(inner, value, where, base)
        for rule in rules:
            problem = rule.problem(converted) if hasattr(rule, "problem") else None
            if problem:
                shown = str(converted) if isinstance(converted, Path) else describe(value)
                raise InventoryError(f"{where}: {problem}, got {shown}")
        return converted
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if len(options) == 1:
            return _convert(options[0], value, where, base)
        raise TypeError(f"unsupported union {tp}")  # pragma: no cover - a schema bug, not input
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise InventoryError(
                f"{where}: expected one of {', '.join(map(str, choices))}, got {describe(value)}"
            )
        return value
    if origin is tuple:
        (item,) = (a for a in get_args(tp) if a is not Ellipsis)
        if not isinstance(value, list):
            raise InventoryError(f"{where}: expected a list, got {describe(value)}")
        items = tuple(_convert(item, v, f"{where}[{i}]", base) for i, v in enumerate(value))
        _check_unique_names(items, where)
        return items
    if origin in (Mapping, dict) or tp is Mapping:
        if not isinstance(value, dict):
            raise InventoryError(f"{where}: expected a table, got {describe(value)}")
        return MappingProxyType(dict(value))
    if tp is Secret:
        if not isinstance(value, str) or not ENV_NAME.match(value):
            # Never echo the value: someone may have pasted the secret itself here.
            raise InventoryError(f"{where}: expected the NAME of an environment variable (e.g. PG_PASSWORD)")
        secret = os.environ.get(value)
        if secret is None:
            raise InventoryError(f"{where}: environment variable {value} is not set")
        return Secret(env=value, value=secret)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise InventoryError(f"{where}: expected a table, got {describe(value)}")
        return build(typing.cast(type[Any], tp), value, where, base)
    if tp is Path:
        if not isinstance(value, str) or not value or "\0" in value:
            raise InventoryError(f"{where}: expected a path string, got {describe(value)}")
        path = Path(os.path.expanduser(value))
        # normpath, not resolve(): a venv interpreter is a symlink whose target is not the venv.
        return path if path.is_absolute() else Path(os.path.normpath(base / path))
    if tp is bool:
        if not isinstance(value, bool):
            raise InventoryError(f"{where}: expected true or false, got {describe(value)}")
        return value
    if tp in (int, float):
        return _number(tp, value, where, negative_ok=False)
    if tp is str:
        if not isinstance(value, str):
            raise InventoryError(f"{where}: expected a string, got {describe(value)}")
        return value
    if tp is Any:
        return value
    raise TypeError(f"unsupported field type {tp}")  # pragma: no cover - a schema bug, not input


def build(cls: type[T], data: Mapping[str, Any], where: str, base: Path) -> T:
    """Build a frozen dataclass from a TOML table: unknown keys, wrong types, missing keys are errors."""
    hints = get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    # `path` and `name` of a Target come from the file, not from its content.
    settable = {n for n, f in fields.items() if f.init}
    unknown = sorted(set(data) - settable)
    if unknown:
        allowed = ", ".join(sorted(settable))
        prefix = f"{where}: " if where else ""
        raise InventoryError(f"{prefix}unknown key {unknown[0]!r} (allowed: {allowed})")
    kwargs: dict[str, Any] = {}
    for name in (n for n in fields if n in settable):
        f = fields[name]
        sub = f"{where}.{name}" if where else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], sub, base)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise InventoryError(f"{where or 'top level'}: missing required key {name!r}")
    if "name" in kwargs and isinstance(kwargs["name"], str) and not NAME.match(kwargs["name"]):
        raise InventoryError(f"{where}.name: {kwargs['name']!r} must be letters, digits, '.', '_' or '-'")
    try:
        return cls(**kwargs)
    except Invalid as exc:
        raise InventoryError(f"{where}.{exc.key}: {exc.rule}" if where else str(exc)) from None
