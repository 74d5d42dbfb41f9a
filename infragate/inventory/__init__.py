"""Inventory: one TOML file per target, validated into frozen, typed objects.

One module per area, mirroring ``infragate.probes`` (``http``, ``tls``, ``postgres``, ...), each owning its
dataclasses and the rules specific to them; ``_validate`` is the one generic TOML -> dataclass converter
and ``target`` loads a file into a ``Target``. Everything is re-exported here:
``from infragate.inventory import X`` is the public way in.
"""

from __future__ import annotations

from infragate.inventory._validate import InventoryError, Secret, build
from infragate.inventory.auth import Auth, Security
from infragate.inventory.config import Config, ConfigFile, EnvFile, SettingsSource
from infragate.inventory.host import (
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
    Proxy,
    WsLocation,
)
from infragate.inventory.hosts import Host
from infragate.inventory.http import ApiEndpoint, Cors, Http, HttpEndpoint, JsonAssertion
from infragate.inventory.load import Load, LoadRequest, LoadScenario, LoadWebSocket
from infragate.inventory.migrations import (
    AlembicMigrations,
    Migrations,
    SchemaObjects,
    Sqlite,
    SqlxMigrations,
)
from infragate.inventory.monitoring import (
    Alertmanager,
    Grafana,
    Llm,
    Loki,
    MetricRange,
    Metrics,
    MetricsEndpoint,
    Prometheus,
    PromQuery,
)
from infragate.inventory.postgres import PgBackup, Postgres
from infragate.inventory.redis import Redis, RedisKey
from infragate.inventory.target import (
    Target,
    components,
    find_inventory,
    load_target,
    remedy_for,
    resolve_threshold,
)
from infragate.inventory.tls import Tls, TlsEndpoint
from infragate.inventory.websocket import WebSocket, WebSocketEndpoint

__all__ = [
    "AlembicMigrations",
    "Alertmanager",
    "ApiEndpoint",
    "Auth",
    "Config",
    "ConfigFile",
    "Cors",
    "EnvFile",
    "Grafana",
    "Host",
    "HostBinary",
    "HostDisk",
    "HostFile",
    "HostFirewall",
    "HostGpu",
    "HostLog",
    "HostProcess",
    "HostPythonApp",
    "HostService",
    "Http",
    "HttpEndpoint",
    "InventoryError",
    "JsonAssertion",
    "Llm",
    "Load",
    "LoadRequest",
    "LoadScenario",
    "LoadWebSocket",
    "Loki",
    "MetricRange",
    "Metrics",
    "MetricsEndpoint",
    "Migrations",
    "PgBackup",
    "Port",
    "Postgres",
    "PromQuery",
    "Prometheus",
    "Proxy",
    "Redis",
    "RedisKey",
    "SchemaObjects",
    "Secret",
    "Security",
    "SettingsSource",
    "Sqlite",
    "SqlxMigrations",
    "Target",
    "Tls",
    "TlsEndpoint",
    "WebSocket",
    "WebSocketEndpoint",
    "WsLocation",
    "build",
    "components",
    "find_inventory",
    "load_target",
    "remedy_for",
    "resolve_threshold",
]
