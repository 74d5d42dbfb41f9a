"""Configuration documents read on a host: .env, TOML, JSON, YAML and INI files, parsed and judged here.

Nothing here reads a file or asserts: the bindings (``infragate.facts.config``) read the text through
the host transport and pass it in. Parser errors never quote the offending line (it may hold a secret):
they say the format, the line and column, and the parser's problem.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = [
    "ConfigParse",
    "DebugState",
    "EnvFileState",
    "OutOfRange",
    "SettingsCheck",
    "debug_state",
    "env_file_state",
    "lookup",
    "parse_config",
    "parse_env",
    "settings_check",
    "typed",
]

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def parse_env(text: str) -> dict[str, str]:
    """``KEY=value`` lines of a .env file (``export``, comments and quotes handled like docker/dotenv)."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def _yaml(text: str) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # str(exc) quotes the offending line (a "password: ..." line among them): keep only the problem
        # and where it is.
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or type(exc).__name__
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ValueError(f"YAML: {problem}{where}") from None
    return data if isinstance(data, dict) else {}


def _ini(text: str) -> Mapping[str, Any]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.MissingSectionHeaderError as exc:
        raise ValueError(f"INI: line {exc.lineno}: no [section] header before the first key") from None
    except configparser.ParsingError as exc:
        lines = ", ".join(str(n) for n, _ in exc.errors)
        raise ValueError(f"INI: lines {lines} are neither 'key = value' nor a [section]") from None
    except (configparser.DuplicateOptionError, configparser.DuplicateSectionError) as exc:
        what = f"key {exc.option!r}" if isinstance(exc, configparser.DuplicateOptionError) else "section"
        raise ValueError(f"INI: line {exc.lineno}: duplicate {what} in [{exc.section}]") from None
    except configparser.Error as exc:
        raise ValueError(f"INI: {type(exc).__name__}") from None
    return {s: dict(parser[s]) for s in parser.sections()}


def parse_config(text: str, fmt: str) -> Mapping[str, Any]:
    """A configuration document (toml, json, env, yaml, ini) as a mapping; ValueError says why not."""
    if fmt == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"TOML: {exc}") from None  # "Invalid value (at line 3, column 5)": no text
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
        if not isinstance(data, dict):
            raise ValueError("JSON: top level is not an object")
        return data
    if fmt == "yaml":
        return _yaml(text)
    if fmt == "ini":
        return _ini(text)
    if fmt == "env":
        return parse_env(text)
    raise ValueError(f"unknown configuration format {fmt!r}")


def lookup(data: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    """``a.b.c`` in nested tables (an exact key containing dots wins): (found, value)."""
    if dotted in data:
        return True, data[dotted]
    current: Any = data
    for part in dotted.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")


def typed(value: Any) -> Any:
    """A text value as the application would read it: ``"5"`` -> 5, ``"0.5"`` -> 0.5; anything else as is.

    .env and INI files hold only text, and settings loaders convert a declared integer setting before
    use: compare what the application will see.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return value


# ---------------------------------------------------------------- judgements over a parsed document


@dataclass(frozen=True)
class EnvFileState:
    """Keys of .env.example that the .env leaves unset or empty, or why either file is unreadable."""

    unset: tuple[str, ...]
    error: str | None = None


def env_file_state(env_text: str, example_text: str) -> EnvFileState:
    """Compare a .env with its .env.example (values are never kept, only key names)."""
    values = parse_env(env_text)
    return EnvFileState(tuple(k for k in parse_env(example_text) if not values.get(k)))


@dataclass(frozen=True)
class OutOfRange:
    """A setting whose (typed) value is not a number within ``[low, high]``."""

    key: str
    value: Any
    low: float
    high: float

    def __str__(self) -> str:
        shown = repr(self.value)
        return f"{self.key} = {shown[:40]} out of range [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class SettingsCheck:
    """Required settings missing and settings out of their allowed range, or why the source is unreadable."""

    missing: tuple[str, ...] = ()
    out_of_range: tuple[OutOfRange, ...] = ()
    error: str | None = None

    @property
    def problems(self) -> tuple[str, ...]:
        """Each problem in words: ``KEY missing`` or ``KEY = value out of range [low, high]``."""
        return tuple(f"{k} missing" for k in self.missing) + tuple(str(r) for r in self.out_of_range)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def settings_check(
    data: Mapping[str, Any], required: Iterable[str], ranges: Mapping[str, Any]
) -> SettingsCheck:
    """Which ``required`` keys are absent and which ``ranges`` keys hold no number within their bounds."""
    missing = [key for key in required if not lookup(data, key)[0]]
    bad = []
    for key, (low, high) in ranges.items():
        found, raw = lookup(data, key)
        if not found:
            missing.append(key)
            continue
        value = typed(raw)
        if not _number(value) or not low <= value <= high:
            bad.append(OutOfRange(key, raw, low, high))
    return SettingsCheck(tuple(dict.fromkeys(missing)), tuple(bad))


@dataclass(frozen=True)
class DebugState:
    """Debug switches found on (or left to a default that is on), or why the source is unreadable."""

    on: tuple[str, ...] = ()
    error: str | None = None


def _is_level(key: str) -> bool:
    return "level" in key.lower()


def debug_state(data: Mapping[str, Any], keys: Iterable[str], *, default_on: bool) -> DebugState:
    """Debug keys set on, log-level keys set to DEBUG; with ``default_on``, no debug key at all is "on".

    Some frameworks default to debug on unless the settings turn it off (declared per entry with
    ``debug_default``): an absent key is then not "off".
    """
    on = []
    switches_found = False
    switches = []
    for key in keys:
        found, value = lookup(data, key)
        text = str(value).strip().lower()
        if _is_level(key):
            if found and text == "debug":
                on.append(f"{key} = {value!r}")
            continue
        switches.append(key)
        switches_found = switches_found or found
        if found and text in TRUE_WORDS:
            on.append(f"{key} = {value!r}")
    if default_on and switches and not switches_found:
        on.append(f"{' / '.join(switches)} absent (the framework's default is on)")
    return DebugState(tuple(on))


@dataclass(frozen=True)
class ConfigParse:
    """A config file parsed (and its check command run), with what went wrong."""

    ok: bool
    detail: str
