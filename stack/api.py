"""Importable API of the reference stack (used by selftest and bench); the CLI is a thin layer over it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stack import control
from stack import faults as _faults
from stack.control import PartStatus, StackError
from stack.faults import Fault, FaultError
from stack.layout import Ports
from stack.layout import ports as _ports
from stack.layout import run_dir as _run_dir
from stack.tls import TlsFiles

__all__ = [
    "Fault",
    "FaultError",
    "PartStatus",
    "Ports",
    "StackError",
    "active_faults",
    "ca_file",
    "down",
    "fault",
    "faults",
    "heal",
    "heal_all",
    "ports",
    "run_dir",
    "secrets",
    "ssh_config",
    "status",
    "up",
]


def up(echo: Callable[[str], None] | None = None) -> None:
    """Start the stack (idempotent, heals active faults) and return once every part is ready."""
    control.up(echo)


def down(echo: Callable[[str], None] | None = None) -> None:
    """Stop every process of the stack by its recorded PID."""
    control.down(echo)


def status() -> dict[str, PartStatus]:
    """Status of every part keyed by name: postgres, redis, service, nginx, prometheus, alertmanager, sshd."""
    return control.status()


def fault(name: str) -> None:
    """Apply a fault from faults.toml; returns once its effect is observable."""
    control.fault(name)


def heal(name: str) -> None:
    """Heal a fault; returns once the healthy behaviour is observable again."""
    control.heal(name)


def heal_all() -> list[str]:
    """Heal every active fault; returns their names."""
    return [name for name, _ in control.heal_all()]


def faults() -> list[Fault]:
    """The fault catalog (faults.toml)."""
    return _faults.catalog()


def active_faults() -> list[str]:
    """Names of the faults currently applied."""
    return control.active_faults()


def secrets() -> dict[str, str]:
    """Secret values by environment-variable name (INFRAGATE_LOCAL_*)."""
    return control.secrets()


def run_dir() -> Path:
    """The run directory holding all state of the stack."""
    return _run_dir()


def ports() -> Ports:
    """The ports of every listener."""
    return _ports()


def ca_file() -> Path:
    """The root CA certificate clients must trust to talk to nginx."""
    return TlsFiles(_run_dir() / "tls").ca


def ssh_config() -> Path:
    """The ssh_config defining Host `stack` (for testinfra's ssh backend)."""
    return _run_dir() / "ssh" / "ssh_config"
