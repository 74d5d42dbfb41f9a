"""Profiles: ``[target] extends = "profiles/stoflow"`` reads a profile first and merges the file over it.

Merge rules (the user's file wins): tables merge key by key, recursively; arrays whose items are all
tables with a ``name`` (``[[http.endpoints]]``, ``[[postgres]]``) merge by name: an entry of the same
name overrides the profile entry's keys, a new name is appended after the profile's entries; every other
array and every scalar is replaced. A profile may itself extend another; a cycle is an error.

``extends`` is relative to the directory of the file that says it (``.toml`` optional) or absolute.
Relative paths inside a profile (``ca_bundle``, log files, migration directories) are NOT relative to
the profile: the merged inventory is read as if it were the user's file, because the user fills in
hosts and paths and the profile only carries defaults.

``origins`` records which file every merged key came from, so an error in a key the profile set names
the profile, not the user's file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infragate.inventory._validate import InventoryError, describe

__all__ = ["Merged", "merge_extends", "origin_of"]

# key path ("http.endpoints[0].url", "target.runbook") -> the file that set it
Origins = dict[str, Path]
Merged = tuple[dict[str, Any], Origins]
# The one reader of a file's TOML (target._read: every way reading fails is one line).
Reader = Callable[[Path], dict[str, Any]]

_LEADING_KEY = re.compile(r"^([A-Za-z0-9_.\-\[\]\"/]+): ")
_UNKNOWN_KEY = re.compile(r"unknown key '([^']+)'")


def _normalize(raw: dict[str, Any]) -> dict[str, Any]:
    """A single ``[auth]`` table is one ``[[auth]]`` entry named ``auth``: merged by that name."""
    if isinstance(raw.get("auth"), dict):
        raw["auth"] = [{"name": "auth", **raw["auth"]}]
    return raw


def _align_hosts(base: dict[str, Any], over: dict[str, Any]) -> None:
    """A single ``[host]`` is the ``[[hosts]]`` entry named ``local`` (inventory.hosts) when the other side
    of a merge has ``[[hosts]]``: a file extending one with ``[host]`` may add ``[[hosts]]`` (a container, a
    second machine) or merge into that host. Only then: a file of one ``[host]`` keeps its errors named
    ``host.*``, as its author wrote them."""
    for one, other in ((base, over), (over, base)):
        if isinstance(one.get("host"), dict) and "hosts" not in one and "hosts" in other:
            one["hosts"] = [{"name": "local", **one.pop("host")}]


def _named_tables(items: list[Any]) -> bool:
    return all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items)


def _record(value: Any, where: str, source: Path, origins: Origins) -> None:
    """Every key under ``where`` (and ``where`` itself) came from ``source``."""
    origins[where] = source
    if isinstance(value, dict):
        for key, sub in value.items():
            _record(sub, f"{where}.{key}" if where else str(key), source, origins)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            _record(sub, f"{where}[{i}]", source, origins)


def _merge(base: Any, over: Any, where: str, source: Path, origins: Origins) -> Any:
    """``over`` merged onto ``base`` (see the module doc); origins of what ``over`` set become ``source``."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            sub = f"{where}.{key}" if where else str(key)
            if key in merged:
                merged[key] = _merge(merged[key], value, sub, source, origins)
            else:
                merged[key] = value
                _record(value, sub, source, origins)
        return merged
    if isinstance(base, list) and isinstance(over, list) and _named_tables(base) and _named_tables(over):
        result = list(base)
        index = {item["name"]: i for i, item in enumerate(base)}
        for item in over:
            if item["name"] in index:
                i = index[item["name"]]
                result[i] = _merge(base[i], item, f"{where}[{i}]", source, origins)
            else:
                index[item["name"]] = len(result)
                _record(item, f"{where}[{len(result)}]", source, origins)
                result.append(item)
        return result
    # A replaced value: forget the origins of what it replaced (a shorter list has fewer indexes).
    for key in [k for k in origins if k.startswith((f"{where}.", f"{where}["))]:
        del origins[key]
    _record(over, where, source, origins)
    return over


def _extends_path(value: Any, path: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InventoryError(f"{path}: target.extends: expected a profile path, got {describe(value)}")
    found = Path(value).expanduser()
    if not found.is_absolute():
        found = path.parent / found
    if found.suffix != ".toml":
        found = found.with_name(found.name + ".toml")
    if not found.is_file():
        raise InventoryError(f"{path}: target.extends: no profile {value!r} ({found} does not exist)")
    return found


def merge_extends(path: Path, read: Reader, chain: tuple[Path, ...] = ()) -> Merged:
    """The file's TOML merged over the profile it extends (recursively), and where each key came from."""
    raw = _normalize(read(path))
    head = raw.get("target")
    extends = head.pop("extends", None) if isinstance(head, dict) else None
    if extends is None:
        origins: Origins = {}
        _record(raw, "", path, origins)
        return raw, origins
    profile = _extends_path(extends, path)
    seen = (*chain, path.resolve())
    if profile.resolve() in seen:
        names = " -> ".join(str(p) for p in (*seen, profile.resolve()))
        raise InventoryError(f"{path}: target.extends: a cycle of profiles: {names}")
    base, origins = merge_extends(profile, read, seen)
    _align_hosts(base, raw)
    if "hosts" in base and "host" in origins:  # the profile's [host] became hosts[0]: so did its origins
        moved = {k: v for k, v in origins.items() if k == "host" or k.startswith("host.")}
        origins.update({"hosts[0]" + k.removeprefix("host"): v for k, v in moved.items()})
    merged: dict[str, Any] = _merge(base, raw, "", path, origins)
    return merged, origins


def origin_of(message: str, origins: Origins) -> Path | None:
    """The file that set the key an error message starts with (longest known prefix), or None."""
    match = _LEADING_KEY.match(message)
    key = match.group(1) if match else ""
    unknown = _UNKNOWN_KEY.search(message)
    if unknown:
        key = f"{key}.{unknown.group(1)}" if key else unknown.group(1)
    while key:
        if key in origins:
            return origins[key]
        cut = max(key.rfind("."), key.rfind("["))
        key = key[:cut] if cut > 0 else ""
    return None
