"""The one generic converter from TOML values to the inventory's frozen dataclasses.

Every value goes through ``build``/``_convert``: unknown keys, wrong types and missing keys are errors.
Secrets are named by environment variable (``*_env`` keys) and resolved here, at load time.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

__all__ = ["ENV_NAME", "NAME", "InventoryError", "Secret", "build", "describe"]

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

T = TypeVar("T")


class InventoryError(ValueError):
    """An inventory file is missing or invalid; the message is one line naming file and key."""


@dataclass(frozen=True)
class Secret:
    """A value taken from an environment variable; its repr and str never show the value."""

    env: str
    value: str = field(repr=False, compare=False)

    def __repr__(self) -> str:
        return f"Secret(env={self.env!r})"

    def __str__(self) -> str:
        return f"${self.env}"


def describe(value: object) -> str:
    """A short repr of a value for a message (never used for secrets)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _convert(tp: Any, value: Any, where: str, base: Path) -> Any:
    """Convert one TOML value to the annotated type, or raise InventoryError naming ``where``."""
    origin = get_origin(tp)
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
        return tuple(_convert(item, v, f"{where}[{i}]", base) for i, v in enumerate(value))
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
        if not isinstance(value, str):
            raise InventoryError(f"{where}: expected a path string, got {describe(value)}")
        path = Path(os.path.expanduser(value))
        # normpath, not resolve(): a venv interpreter is a symlink whose target is not the venv.
        return path if path.is_absolute() else Path(os.path.normpath(base / path))
    if tp is bool:
        if not isinstance(value, bool):
            raise InventoryError(f"{where}: expected true or false, got {describe(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InventoryError(f"{where}: expected an integer, got {describe(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InventoryError(f"{where}: expected a number, got {describe(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise InventoryError(f"{where}: expected a string, got {describe(value)}")
        return value
    if tp is Any:
        return value
    raise TypeError(f"unsupported field type {tp}")  # pragma: no cover - a schema bug, not input


def build(cls: type[T], data: Mapping[str, Any], where: str, base: Path) -> T:
    """Build a frozen dataclass from a TOML table: unknown keys, wrong types, missing keys are errors."""
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    # `path` and `name` of a Target come from the file, not from its content.
    settable = {n for n, f in fields.items() if f.init}
    unknown = sorted(set(data) - settable)
    if unknown:
        allowed = ", ".join(sorted(settable))
        raise InventoryError(f"{where}: unknown key {unknown[0]!r} (allowed: {allowed})")
    kwargs: dict[str, Any] = {}
    for name in settable:
        f = fields[name]
        sub = f"{where}.{name}" if where else name
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], sub, base)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise InventoryError(f"{where or 'top level'}: missing required key {name!r}")
    if "name" in kwargs and isinstance(kwargs["name"], str) and not NAME.match(kwargs["name"]):
        raise InventoryError(f"{where}.name: {kwargs['name']!r} must be letters, digits, '.', '_' or '-'")
    return cls(**kwargs)
