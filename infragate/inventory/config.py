"""Configuration files of the application (probe: host, read on the machine)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["Config", "ConfigFile", "EnvFile", "SettingsSource"]


@dataclass(frozen=True)
class EnvFile:
    """A .env file; every key of ``example`` (its .env.example) must be set to a non-empty value."""

    name: str
    path: Path
    example: Path


@dataclass(frozen=True)
class SettingsSource:
    """A settings file (TOML, JSON or .env): required keys (dotted for tables), allowed ranges, debug keys."""

    name: str
    path: Path
    format: Literal["toml", "json", "env"] = "toml"
    required: tuple[str, ...] = ()
    ranges: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    debug_keys: tuple[str, ...] = ("DEBUG", "debug", "LOG_LEVEL", "log_level")
    # The framework's DEBUG when the settings do not set it: "on" for Django-style settings (an absent
    # DEBUG is then not "off").
    debug_default: Literal["on", "off"] = "off"


@dataclass(frozen=True)
class ConfigFile:
    """A configuration file that must parse; ``check_command`` (argv) must then exit 0 on the host."""

    name: str
    path: Path
    format: Literal["toml", "json", "yaml", "ini"]
    check_command: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """Configuration files of the application."""

    env_files: tuple[EnvFile, ...] = ()
    settings: tuple[SettingsSource, ...] = ()
    files: tuple[ConfigFile, ...] = ()
