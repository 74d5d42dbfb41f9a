"""The effective inventory of a target as TOML-like text (``--show-inventory``), secrets redacted.

What it prints is the validated ``Target`` (profile merged, paths resolved), not the files: keys left at
their default are left out, every ``Secret`` reads ``"<from $NAME>"`` and its value is never touched.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infragate.inventory._validate import Secret
from infragate.inventory.hosts import Host
from infragate.inventory.target import Target

__all__ = ["render"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _text(value: str) -> str:
    # A JSON string is a TOML basic string (same escapes); non-ASCII stays readable (runbooks in French).
    return json.dumps(value, ensure_ascii=False)


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _text(name)


def _is_table(value: Any) -> bool:
    # A Secret is a dataclass too, but it is a value: never walked into (its `value` is the secret).
    return dataclasses.is_dataclass(value) and not isinstance(value, (type, Secret))


def _set_fields(obj: Any) -> list[tuple[str, Any]]:
    """(name, value) of the fields that differ from their default (what the inventory set)."""
    out = []
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        value = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING and value == f.default:
            continue
        if f.default_factory is not dataclasses.MISSING and value == f.default_factory():
            continue
        out.append((f.name, value))
    return out


def _value(value: Any) -> str:
    """One value inline; a Secret is its variable's name only."""
    if isinstance(value, Secret):
        return _text(f"<from ${value.env}>")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return _text(str(value))
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + " }"
    if _is_table(value):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in _set_fields(value)) + " }"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return _text(str(value))


def _table(obj: Any, where: str, array: bool, lines: list[str]) -> None:
    """``obj`` as ``[where]`` (or ``[[where]]``): its plain keys, then its sub-tables."""
    fields = _set_fields(obj)
    subtables = [
        (k, v) for k, v in fields if _is_table(v) or (v and isinstance(v, tuple) and _is_table(v[0]))
    ]
    plain = [(k, v) for k, v in fields if (k, v) not in subtables]
    lines.append("")
    lines.append(f"[[{where}]]" if array else f"[{where}]")
    for k, v in plain:
        if k == "roles" and isinstance(obj, Host):
            # Their keys are already merged into this host: listed, not re-declared (the text loads again).
            lines.append(f"# roles {_value(v)}: merged into this host")
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    for key, value in subtables:
        sub = f"{where}.{_key(key)}"
        if isinstance(value, tuple):
            for item in value:
                _table(item, sub, True, lines)
        else:
            _table(value, sub, False, lines)


def render(target: Target) -> str:
    """The target's effective inventory: ``[target]`` keys, thresholds, remedies, then each component."""
    lines = [f"# effective inventory of {target.name} ({target.path}); secrets show their variable only"]
    head: list[tuple[str, Any]] = []
    for key, value in _set_fields(target):
        if key in ("name", "path"):
            continue
        if key == "thresholds":
            for check_id, values in value.items():
                lines.append("")
                lines.append(f"[thresholds.{_key(check_id)}]")
                lines.extend(f"{_key(k)} = {_value(v)}" for k, v in values.items())
        elif key == "remedies":
            lines.append("")
            lines.append("[remedies]")
            lines.extend(f"{_key(k)} = {_value(v)}" for k, v in value.items())
        elif _is_table(value):
            _table(value, key, False, lines)
        elif isinstance(value, tuple) and value and _is_table(value[0]):
            for item in value:
                _table(item, key, True, lines)
        else:
            head.append((key, value))
    top = ["", "[target]", *(f"{_key(k)} = {_value(v)}" for k, v in head)]
    return "\n".join(lines[:1] + top + lines[1:]) + "\n"
