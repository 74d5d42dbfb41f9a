"""The machines of a target: ``[[hosts]]`` entries (today's single ``[host]`` is one named "local"), each
reached through its own testinfra transport, and ``[roles.<name>]`` tables a host takes by listing them.

A role holds what a host holds (ports, services, processes, files, disks, logs, ...) and is applied to
every host that lists it, in the order listed, under the host's own keys: named entries merge by name (the
host's entry replaces the role's), anything else the host sets replaces the role's. ``name``, ``transport``
and ``roles`` are the host's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infragate.inventory._validate import Invalid, InventoryError, describe
from infragate.inventory.host import (
    _HOSTLESS,
    TRANSPORTS,
    HostBinary,
    HostDisk,
    HostFile,
    HostFirewall,
    HostGpu,
    HostLog,
    HostProcess,
    HostPythonApp,
    HostService,
    Port,
)

__all__ = ["Host", "normalize_hosts"]

_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Host:
    """One machine of the target (a ``[[hosts]]`` entry; today's ``[host]`` is one named "local"): how to
    reach it (testinfra URL), its roles, and what it must expose."""

    # In test ids and messages when the target has several hosts (``HOST-DISK-FREE local/web-1/root``).
    name: str = "local"
    transport: str = "local://"
    # Names of [roles.<name>] tables whose keys this host takes (its own keys win, entries by name).
    roles: tuple[str, ...] = ()
    ports: tuple[Port, ...] = ()
    services: tuple[HostService, ...] = ()
    processes: tuple[HostProcess, ...] = ()
    files: tuple[HostFile, ...] = ()
    disks: tuple[HostDisk, ...] = ()
    logs: tuple[HostLog, ...] = ()
    python_apps: tuple[HostPythonApp, ...] = ()
    binaries: tuple[HostBinary, ...] = ()
    # Where logrotate reads its rules on the host (files, or directories of rule files): HOST-LOG-SIZE.
    logrotate_configs: tuple[Path, ...] = (Path("/etc/logrotate.conf"), Path("/etc/logrotate.d"))
    # Where HOST-MEMORY and HOST-CPU-LOAD read meminfo, loadavg and stat on the host (node_exporter's
    # --path.procfs: a host watched from a container has its /proc mounted elsewhere, e.g. /host/proc).
    procfs: Path = Path("/proc")
    firewall: HostFirewall | None = None
    gpu: HostGpu | None = None

    def __post_init__(self) -> None:
        scheme, sep, rest = self.transport.partition("://")
        if not sep or scheme not in TRANSPORTS:
            known = ", ".join(TRANSPORTS)
            raise Invalid(
                "transport", f"must be a testinfra URL SCHEME://... ({known}), got {self.transport!r}"
            )
        if scheme not in _HOSTLESS and not rest.split("?")[0].rsplit("@", 1)[-1]:
            raise Invalid("transport", f"must name a host ({scheme}://[user@]host), got {self.transport!r}")
        for role in self.roles:
            if not _ROLE.match(role):
                raise Invalid("roles", f"{role!r} must be letters, digits, '.', '_' or '-'")


# Keys of a host that only its [[hosts]] entry may set; a role carries the rest.
_PER_HOST_ONLY = ("name", "transport", "roles")


def _overlay(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over``'s keys over ``base``'s (neither changed): lists of named entries merge by name (``over``'s
    entry takes a same-named one's place, new names follow), everything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        if (
            isinstance(old, list)
            and isinstance(value, list)
            and all(isinstance(v, dict) for v in old + value)
        ):
            mine = {v["name"]: v for v in value if isinstance(v.get("name"), str)}
            kept = [mine.pop(v["name"]) if v.get("name") in mine else v for v in old]
            out[key] = kept + [
                v for v in value if v.get("name") in mine or not isinstance(v.get("name"), str)
            ]
        else:
            out[key] = value
    return out


def normalize_hosts(data: dict[str, Any], path: Path) -> None:
    """``[host]`` becomes the one entry of ``hosts``; each ``[[hosts]]`` entry takes the keys of the
    ``[roles.<name>]`` tables it lists, in order, under its own (a fleet declares its checks once)."""
    single = data.pop("host", None)
    if single is not None:
        if "hosts" in data:
            raise InventoryError(f"{path}: host: declare one [host] table or [[hosts]] entries, not both")
        if not isinstance(single, dict):
            raise InventoryError(f"{path}: host: expected a table, got {describe(single)}")
        data["hosts"] = [single]
    roles = data.pop("roles", {})
    if not isinstance(roles, dict) or not all(isinstance(v, dict) for v in roles.values()):
        raise InventoryError(f"{path}: roles: expected [roles.<name>] tables of host keys")
    for role, spec in roles.items():
        for key in _PER_HOST_ONLY:
            if key in spec:
                raise InventoryError(f"{path}: roles.{role}.{key}: set per host in [[hosts]], not in a role")
    found = data.get("hosts")
    hosts: list[Any] = found if isinstance(found, list) else []  # another type: the converter names it
    if roles and not hosts:
        raise InventoryError(f"{path}: roles: declared without any [[hosts]] entry to apply them to")
    for i, host in enumerate(hosts):
        if not isinstance(host, dict):
            continue  # the converter names the wrong type
        if len(hosts) > 1 and "name" not in host:
            raise InventoryError(
                f"{path}: hosts[{i}]: missing required key 'name' (the target has several hosts)"
            )
        wanted = host.get("roles", [])
        if not isinstance(wanted, list):
            continue
        merged: dict[str, Any] = {}
        for role in wanted:
            if not isinstance(role, str) or role not in roles:
                known = ", ".join(sorted(roles)) or "none"
                raise InventoryError(
                    f"{path}: hosts[{i}].roles: {describe(role)} is not a [roles.<name>] table "
                    f"(declared: {known})"
                )
            merged = _overlay(merged, roles[role])
        hosts[i] = _overlay(merged, host)
