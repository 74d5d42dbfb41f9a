"""A target: one inventory file, loaded and validated, and how checks read its entries and thresholds.

Declaring a component turns its checks on. Thresholds default to the catalog's and are
overridable per entry (a field of the same name) or per target (``[thresholds.<ID>]``).
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from infragate.catalog import Catalog, load_catalog
from infragate.inventory._validate import (
    MAX_DEPTH,
    NAME,
    InventoryError,
    LocalFile,
    build,
    describe,
    too_deep,
)
from infragate.inventory.auth import Auth, Security
from infragate.inventory.config import Config
from infragate.inventory.host import Proxy
from infragate.inventory.hosts import Host, normalize_hosts
from infragate.inventory.http import Cors, Http
from infragate.inventory.load import Load
from infragate.inventory.merge import merge_extends, origin_of
from infragate.inventory.migrations import Migrations, Sqlite, check_databases
from infragate.inventory.monitoring import Alertmanager, Grafana, Llm, Loki, Metrics, Prometheus
from infragate.inventory.postgres import Postgres
from infragate.inventory.redis import Redis, check_registry_metrics
from infragate.inventory.tls import Tls
from infragate.inventory.websocket import WebSocket

__all__ = ["Target", "components", "find_inventory", "load_target", "remedy_for", "resolve_threshold"]


@dataclass(frozen=True)
class Target:
    """One inventory file: a target and every component it declares."""

    name: str
    path: Path
    description: str = ""
    sensitive: bool = False
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    # A command on a host (over ssh: its own `timeout` there), e.g. `df` on a hung NFS mount.
    command_timeout: float = 60.0
    ca_bundle: LocalFile | None = None
    thresholds: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    # Your own runbook: failure messages name it after the remedy ([target] runbook = "https://...").
    runbook: str = ""
    # Remedies of your own, overriding the catalog's: "CHECK-ID" or "CHECK-ID/entry-name" -> text.
    remedies: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # [[hosts]] (a single [host] table is one host named "local"): the machines host checks read.
    hosts: tuple[Host, ...] = ()
    http: Http | None = None
    tls: Tls | None = None
    cors: tuple[Cors, ...] = ()
    websocket: WebSocket | None = None
    postgres: tuple[Postgres, ...] = ()
    redis: tuple[Redis, ...] = ()
    load: Load | None = None
    auth: tuple[Auth, ...] = ()  # [[auth]] entries; a single [auth] table is one entry named "auth"
    security: Security | None = None
    config: Config | None = None
    # [[proxy]] entries (nginx, Traefik); a single [proxy] table is one entry.
    proxy: tuple[Proxy, ...] = ()
    migrations: Migrations | None = None
    sqlite: tuple[Sqlite, ...] = ()
    metrics: Metrics | None = None
    prometheus: tuple[Prometheus, ...] = ()
    alertmanager: tuple[Alertmanager, ...] = ()
    grafana: tuple[Grafana, ...] = ()
    loki: tuple[Loki, ...] = ()
    llm: tuple[Llm, ...] = ()

    @property
    def host(self) -> Host | None:
        """The first host: where target-wide host-side facts (config files, the proxy) are read."""
        return self.hosts[0] if self.hosts else None

    def host_of(self, entry: object) -> Host | None:
        """The host that declares ``entry`` (one of its ports, disks, ...; or the host itself), or None."""
        for host in self.hosts:
            if entry is host:
                return host
            for f in dataclasses.fields(host):
                value = getattr(host, f.name)
                if value is entry or (isinstance(value, tuple) and any(v is entry for v in value)):
                    return host
        return None

    def trust(self, entry: object) -> Path | None:
        """The CA bundle for an entry: its own, else the target's, else None (system store)."""
        own = getattr(entry, "ca_bundle", None)
        return own if isinstance(own, Path) else self.ca_bundle


def find_inventory(name: str, directory: Path) -> Path:
    """Path of ``<directory>/<name>.toml``; a clear error when the target is unknown."""
    if not NAME.match(name):
        raise InventoryError(f"target name {name!r}: must be letters, digits, '.', '_' or '-'")
    path = directory / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in directory.glob("*.toml")) if directory.is_dir() else []
        hint = f" (known targets: {', '.join(known)})" if known else ""
        raise InventoryError(f"unknown target {name!r}: {path} does not exist{hint}")
    return path


def _check_thresholds(thresholds: Mapping[str, Any], where: str, catalog: Catalog) -> None:
    for check_id, values in thresholds.items():
        if check_id not in catalog:
            raise InventoryError(f"{where}.thresholds.{check_id}: not a catalog check id")
        if not isinstance(values, dict):
            raise InventoryError(f"{where}.thresholds.{check_id}: expected a table of threshold values")
        known = catalog[check_id].thresholds
        for key, value in values.items():
            if key not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise InventoryError(
                    f"{where}.thresholds.{check_id}.{key}: unknown threshold (allowed: {allowed})"
                )
            if not isinstance(value, type(known[key])) and not (
                isinstance(known[key], (int, float)) and isinstance(value, (int, float))
            ):
                raise InventoryError(
                    f"{where}.thresholds.{check_id}.{key}: expected {type(known[key]).__name__}, "
                    f"got {describe(value)}"
                )
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if not math.isfinite(value):
                    raise InventoryError(
                        f"{where}.thresholds.{check_id}.{key}: must be a finite number, got {value}"
                    )
                if value < 0:
                    raise InventoryError(
                        f"{where}.thresholds.{check_id}.{key}: must be zero or more, got {value:g}"
                    )


def _check_remedies(remedies: Mapping[str, Any], catalog: Catalog) -> None:
    """Keys of [remedies] are catalog ids (optionally ``/entry``); values are non-empty text."""
    for key, text in remedies.items():
        check_id = key.partition("/")[0]
        if check_id not in catalog:
            raise InventoryError(f"remedies.{key}: {check_id!r} is not a catalog check id")
        if not isinstance(text, str) or not text.strip():
            raise InventoryError(f"remedies.{key}: expected the remedy as text, got {describe(text)}")


def remedy_for(target: Target, check_id: str, entry_name: str | None) -> str | None:
    """The target's own remedy for a check on an entry (``ID/entry`` first, then ``ID``), or None."""
    if entry_name is not None and f"{check_id}/{entry_name}" in target.remedies:
        return target.remedies[f"{check_id}/{entry_name}"]
    return target.remedies.get(check_id)


def _read(path: Path) -> dict[str, Any]:
    """The file's TOML as a dict; every way reading or parsing fails is one InventoryError line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InventoryError(f"{path}: no such inventory file") from None
    except IsADirectoryError:
        raise InventoryError(f"{path}: is a directory, not an inventory file") from None
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read the inventory file: {exc.strerror or exc}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InventoryError(f"{path}: looks like UTF-16 text; TOML files are UTF-8: save it as UTF-8")
    if data.startswith(b"\xef\xbb\xbf"):
        raise InventoryError(f"{path}: starts with a byte-order mark; save it as UTF-8 without BOM")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InventoryError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); TOML files are UTF-8"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InventoryError(f"{path}: not valid TOML: {first_line}") from None
    except RecursionError:
        raise InventoryError(
            f"{path}: arrays or tables nested more than {MAX_DEPTH} levels deep (the TOML parser gave up)"
        ) from None
    deep = too_deep(raw)
    if deep is not None:
        raise InventoryError(f"{path}: {deep}: arrays or tables nested more than {MAX_DEPTH} levels deep")
    return raw


def _source(message: str, origins: dict[str, Path], path: Path) -> str:
    """The file an error's key came from: the inventory itself, or "<profile> (extended by <inventory>)"."""
    origin = origin_of(message, origins)
    if origin is None or origin == path:
        return str(path)
    return f"{origin} (extended by {path})"


def load_target(path: Path, catalog: Catalog | None = None) -> Target:
    """Read and validate one inventory file into a Target."""
    catalog = catalog or load_catalog()
    # [target] extends = "profiles/x": the profile first, this file merged over it (inventory.merge).
    raw, origins = merge_extends(path, _read)
    head = raw.pop("target", {})
    if not isinstance(head, dict):
        raise InventoryError(f"{path}: target: expected a table, got {describe(head)}")
    data = {**head, **raw}
    if isinstance(data.get("auth"), dict):  # today's single [auth] table: one entry named "auth"
        data["auth"] = [data["auth"]]
    if isinstance(data.get("proxy"), dict):  # a single [proxy] table: one proxy (before kind existed)
        data["proxy"] = [data["proxy"]]
    # A file of one [host] table: its errors keep the name its author wrote (host.ports[0].port), not the
    # hosts[0] it becomes below.
    single_host = isinstance(data.get("host"), dict)
    normalize_hosts(data, path)
    for key in ("name", "path"):
        if key in head:
            raise InventoryError(
                f"{_source(f'target.{key}: ', origins, path)}: target.{key}: set by the file name, remove it"
            )
    # [target] keys are flattened into the Target: their errors name them without "target.".
    origins.update(
        {k.removeprefix("target."): v for k, v in list(origins.items()) if k.startswith("target.")}
    )
    try:
        target = build(Target, {**data, "name": path.stem, "path": str(path)}, "", path.parent)
    except InventoryError as exc:
        text = str(exc)
        if single_host and text.startswith("hosts[0]"):
            text = "host" + text.removeprefix("hosts[0]")
        raise InventoryError(f"{_source(text, origins, path)}: {text}") from None
    try:
        _check_thresholds(target.thresholds, "", catalog)
        _check_remedies(target.remedies, catalog)
        check_databases(target.migrations, {p.name for p in target.postgres})
        metrics_names = {m.name for m in target.metrics.endpoints} if target.metrics else set()
        check_registry_metrics(target.redis, metrics_names)
    except InventoryError as exc:
        message = str(exc).lstrip(".")
        raise InventoryError(f"{_source(message, origins, path)}: {message}") from None
    for key in ("connect_timeout", "read_timeout", "command_timeout"):
        if getattr(target, key) <= 0:
            raise InventoryError(f"{path}: {key}: must be more than 0 seconds, got {getattr(target, key):g}")
    if not any(components(target, component) for component in sorted({c.component for c in catalog})):
        raise InventoryError(
            f"{path}: declares no component, so no check would run: add one, e.g. [[http.endpoints]] "
            "(inventory/example.toml shows them all)"
        )
    return target


def components(target: Target, path: str) -> list[Any]:
    """Entries a catalog component path names on a target (``http.endpoints`` -> the endpoints)."""
    current: list[Any] = [target]
    parts = path.split(".")
    # The catalog's "host" components are read on every host: [[hosts]] (or today's [host]).
    if parts[0] == "host":
        parts[0] = "hosts"
    for part in parts:
        nxt: list[Any] = []
        for obj in current:
            value = getattr(obj, part, None)
            if value is None or value == ():
                continue
            nxt.extend(value if isinstance(value, tuple) else [value])
        current = nxt
    return current


def resolve_threshold(catalog: Catalog, target: Target, check_id: str, key: str, entry: object = None) -> Any:
    """A threshold: the entry's own field, else ``[thresholds.<ID>]``, else the catalog default."""
    own = getattr(entry, key, None) if entry is not None else None
    if own is not None:
        return own
    per_target = target.thresholds.get(check_id, {})
    if key in per_target:
        return per_target[key]
    defaults = catalog[check_id].thresholds
    if key not in defaults:
        raise KeyError(f"{check_id} has no threshold {key!r}")
    return defaults[key]
