"""Inventory: one TOML file per target, validated into frozen, typed objects.

Declaring a component turns its checks on. Thresholds default to the catalog's and are
overridable per entry (a field of the same name) or per target (``[thresholds.<ID>]``).
Secrets are named by environment variable (``*_env`` keys) and resolved at load time.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from infragate.catalog import Catalog, load_catalog

__all__ = [
    "ApiEndpoint",
    "Auth",
    "Cors",
    "Host",
    "Http",
    "HttpEndpoint",
    "InventoryError",
    "JsonAssertion",
    "Load",
    "LoadRequest",
    "LoadScenario",
    "LoadWebSocket",
    "PgBackup",
    "Port",
    "Postgres",
    "Redis",
    "Secret",
    "Security",
    "Target",
    "Tls",
    "TlsEndpoint",
    "WebSocket",
    "WebSocketEndpoint",
    "build",
    "components",
    "find_inventory",
    "load_target",
    "resolve_threshold",
]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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


# ---------------------------------------------------------------------------- components


@dataclass(frozen=True)
class Port:
    """A TCP endpoint the test runner must reach (HOST-PORT-REACHABLE)."""

    name: str
    host: str
    port: int
    process: str | None = None


# ---------------------------------------------------------------- host and configuration (testinfra)
# Paths in these entries are paths on the checked host; relative ones are relative to the inventory file.


@dataclass(frozen=True)
class HostService:
    """A service without systemd: a pid file whose process runs, or a command-line pattern (regex)."""

    name: str
    pidfile: Path | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class HostProcess:
    """Processes whose command line matches ``pattern`` (regex): between ``min`` and ``max`` of them."""

    name: str
    pattern: str
    min: int = 1
    max: int | None = None


@dataclass(frozen=True)
class HostFile:
    """A path that must exist with this owner, group and mode (octal string, e.g. "0600")."""

    name: str
    path: Path
    owner: str | None = None
    group: str | None = None
    mode: str | None = None
    secret: bool = False


@dataclass(frozen=True)
class HostDisk:
    """A mount point or any path on it whose file system must keep free space."""

    name: str
    path: Path
    max_used_pct: float | None = None


@dataclass(frozen=True)
class HostLog:
    """A log file: error lines within a recent window, and its size."""

    name: str
    path: Path
    error_pattern: str = r"\b(ERROR|CRITICAL|FATAL)\b|\[(error|crit|alert|emerg)\]"
    max_errors: int | None = None
    window_minutes: float | None = None
    max_size_mb: float | None = None


@dataclass(frozen=True)
class HostBinary:
    """An executable whose shared libraries must all resolve (``ldd``)."""

    name: str
    path: Path


@dataclass(frozen=True)
class HostPythonApp:
    """A deployed Python application: its interpreter, its sources and its requirements file."""

    name: str
    python: Path
    sources: Path
    requirements: Path | None = None


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


@dataclass(frozen=True)
class WsLocation:
    """A WebSocket location of the proxy (``location`` as written in nginx.conf)."""

    name: str
    location: str
    min_read_timeout_s: float | None = None


@dataclass(frozen=True)
class Proxy:
    """The nginx reverse proxy on the host: its configuration file, tested with ``nginx -t`` / ``-T``."""

    nginx_conf: Path
    name: str = "nginx"
    nginx_prefix: Path | None = None
    nginx_binary: str = "nginx"
    websocket_locations: tuple[WsLocation, ...] = ()


@dataclass(frozen=True)
class AlembicMigrations:
    """Alembic scripts deployed with the app, applied to the [[postgres]] entry named ``database``."""

    name: str
    scripts: Path
    database: str
    version_table: str = "alembic_version"


@dataclass(frozen=True)
class SqlxMigrations:
    """sqlx migrations (``<version>_<description>.sql`` in ``directory``) applied to ``database``."""

    name: str
    directory: Path
    database: str


@dataclass(frozen=True)
class SchemaObjects:
    """Tables (and their columns) that must exist in the [[postgres]] entry named ``database``."""

    name: str
    database: str
    tables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    schema: str = "public"


@dataclass(frozen=True)
class Migrations:
    """Database migrations of the application."""

    alembic: tuple[AlembicMigrations, ...] = ()
    sqlx: tuple[SqlxMigrations, ...] = ()
    schema: tuple[SchemaObjects, ...] = ()


@dataclass(frozen=True)
class Sqlite:
    """A SQLite database file on the host, opened read-only; ``tables`` maps table -> columns."""

    name: str
    path: Path
    tables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Host:
    """The machine itself: how to reach it (testinfra URL) and what it must expose."""

    transport: str = "local://"
    ports: tuple[Port, ...] = ()
    services: tuple[HostService, ...] = ()
    processes: tuple[HostProcess, ...] = ()
    files: tuple[HostFile, ...] = ()
    disks: tuple[HostDisk, ...] = ()
    logs: tuple[HostLog, ...] = ()
    python_apps: tuple[HostPythonApp, ...] = ()
    binaries: tuple[HostBinary, ...] = ()


@dataclass(frozen=True)
class HttpEndpoint:
    """An HTTP(S) URL to probe; ``frontend`` marks a page served through the proxy."""

    name: str
    url: str
    frontend: bool = False
    expect_status: int | None = None
    max_response_ms: float | None = None
    ca_bundle: Path | None = None
    # service area (fixtures/service.py)
    detailed_url: str | None = None
    health_components: tuple[str, ...] = ()
    json_asserts: tuple[JsonAssertion, ...] = ()
    expect_version: str | None = None
    version_field: str = "version"
    docs: Literal["served", "hidden"] | None = None
    max_median_ms: float | None = None
    samples: int | None = None


@dataclass(frozen=True)
class JsonAssertion:
    """One assertion on a JSON answer: ``path`` (dotted, list indexes) exists and satisfies the rest."""

    path: str
    equals: Any = None
    contains: Any = None
    min_count: int | None = None


@dataclass(frozen=True)
class ApiEndpoint:
    """An API endpoint that validates its body: a malformed one must get 422 with a ``detail`` list."""

    name: str
    url: str
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    invalid_body: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class Http:
    """HTTP checks of a target."""

    endpoints: tuple[HttpEndpoint, ...] = ()
    api: tuple[ApiEndpoint, ...] = ()


@dataclass(frozen=True)
class TlsEndpoint:
    """A TLS listener: its certificate, chain and protocol versions."""

    name: str
    host: str
    port: int = 443
    server_name: str | None = None
    ca_bundle: Path | None = None
    cert_file: Path | None = None
    redirect_from: str | None = None
    min_days: float | None = None
    min_version: Literal["TLSv1.2", "TLSv1.3"] | None = None

    @property
    def sni(self) -> str:
        """The name sent as SNI and matched against the certificate."""
        return self.server_name or self.host


@dataclass(frozen=True)
class Tls:
    """TLS checks of a target."""

    endpoints: tuple[TlsEndpoint, ...] = ()


@dataclass(frozen=True)
class Cors:
    """A CORS policy: origins that must be allowed and origins that must not be."""

    name: str
    url: str
    allowed_origins: tuple[str, ...]
    denied_origins: tuple[str, ...] = ("https://evil.example",)
    method: str = "GET"
    request_headers: tuple[str, ...] = ()
    credentials: bool = True
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class WebSocketEndpoint:
    """A WebSocket URL, reached directly (backend) or through the proxy."""

    name: str
    url: str
    via: Literal["direct", "proxy"] = "direct"
    message: str = "ping"
    expect_reply: str | None = None
    origin: str | None = None
    ca_bundle: Path | None = None
    # service area: a token from [auth] is required; Origin allow-list; idle hold (WS-KEEPALIVE)
    auth: bool = False
    token_param: str = "token"
    allowed_origins: tuple[str, ...] = ()
    denied_origins: tuple[str, ...] = ()
    hold_s: float | None = None


@dataclass(frozen=True)
class WebSocket:
    """WebSocket checks of a target."""

    endpoints: tuple[WebSocketEndpoint, ...] = ()


@dataclass(frozen=True)
class PgBackup:
    """Where a PostgreSQL server's backups land (PG-BACKUP-DUMP): the newest file must be recent."""

    dir: Path
    pattern: str = "*"
    max_backup_age_h: float | None = None
    min_bytes: int = 1


@dataclass(frozen=True)
class Postgres:
    """A PostgreSQL server and the database/user the application uses."""

    name: str
    host: str
    dbname: str
    user: str
    port: int = 5432
    password_env: Secret | None = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    require_ssl: bool = False
    min_version: int | None = None
    # PG-* statistics checks: per-entry overrides of the catalog thresholds (None = catalog/target value).
    max_connections_ratio: float | None = None
    max_query_s: float | None = None
    max_idle_in_transaction_s: float | None = None
    max_lock_wait_s: float | None = None
    deadlock_window_s: float | None = None
    max_new_deadlocks: int | None = None
    max_mean_ms: float | None = None
    min_calls: int | None = None
    min_cache_hit: float | None = None
    min_cache_blocks: int | None = None
    max_dead_ratio: float | None = None
    min_dead_tuples: int | None = None
    unused_index_min_kb: float | None = None
    strict_unused_indexes: bool | None = None
    max_db_mb: float | None = None
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    backup: PgBackup | None = None


@dataclass(frozen=True)
class Redis:
    """A Redis server."""

    name: str
    host: str
    port: int = 6379
    username: str | None = None
    password_env: Secret | None = None
    tls: bool = False
    db: int = 0
    # REDIS-* checks: per-entry overrides of the catalog thresholds (None = catalog/target value).
    latency_samples: int = 100
    max_latency_ms: float | None = None
    max_memory_ratio: float | None = None
    max_fragmentation: float | None = None
    fragmentation_min_mb: float | None = None
    maxmemory_policy: str | None = None
    persistence: Literal["none", "rdb", "aof", "rdb+aof"] | None = None
    max_clients_ratio: float | None = None
    max_blocked_clients: int | None = None


@dataclass(frozen=True)
class LoadRequest:
    """One weighted request of an HTTP load mix; ``path`` is relative to the scenario's base URL.

    ``{a..b}`` in the path becomes a random integer in that range (dynamic URLs); ``group`` is the line
    Locust's statistics file them under (Locust's ``name=``), the path by default.
    """

    path: str
    method: Literal["GET", "POST", "PUT", "DELETE", "PATCH"] = "GET"
    weight: int = 1
    group: str | None = None
    json: Mapping[str, Any] | None = None
    auth: bool = False


@dataclass(frozen=True)
class LoadScenario:
    """An HTTP load scenario; unset numbers come from the catalog's thresholds of its check.

    ``pacing_s`` makes each user start one task every so many seconds (Locust's ``constant_pacing``):
    400 users paced at 1 s offer 400 req/s whatever the latency. Unset, users loop without waiting,
    which measures the most the generator can push rather than a given number of users.
    """

    name: str
    check: Literal["LOAD-HTTP-HEALTH", "LOAD-HTTP-API", "LOAD-AUTH-FLOW", "LOAD-LLM-CHAT"]
    base_url: str
    requests: tuple[LoadRequest, ...] = ()
    users: int | None = None
    spawn_rate: float | None = None
    duration_s: float | None = None
    processes: int | None = None
    pacing_s: float | None = None
    timeout_s: float = 60.0
    max_error_ratio: float | None = None
    max_avg_ms: float | None = None
    max_p50_ms: float | None = None
    max_p95_ms: float | None = None
    max_p99_ms: float | None = None
    min_rps: float | None = None
    login_path: str = "/auth/login"
    refresh_path: str = "/auth/refresh"
    refresh_every: int = 10
    username: str | None = None
    password_env: Secret | None = None
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class LoadWebSocket:
    """A WebSocket load scenario: sessions opened through the proxy, exchanging messages, held.

    With ``token_url`` set, each generator process logs in once (``username`` / ``password_env``) and
    every session connects with ``?<token_param>=<access token>``.
    """

    name: str
    url: str
    sessions: int | None = None
    spawn_rate: float | None = None
    hold_s: float | None = None
    processes: int | None = None
    message: str = "ping"
    message_interval_s: float = 2.0
    timeout_s: float = 10.0
    max_failed_handshakes: int | None = None
    max_message_p95_ms: float | None = None
    min_sessions_held: int | None = None
    token_url: str | None = None
    token_param: str = "token"
    username: str | None = None
    password_env: Secret | None = None
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class Load:
    """Load profile of a target, bounded by its own caps.

    A run is a regression when its p95 exceeds the median p95 of the previous comparable runs (same
    scenario and profile, at most ``regression_window`` of them, at least ``regression_min_runs``) by
    more than ``regression_margin`` (a fraction) and by more than ``regression_min_delta_ms``.
    A run whose generator process averaged more than ``generator_cpu_limit_pct`` of a core over 5 s
    is an error: its figures describe the generator (Locust's own warning threshold is 90 %).
    """

    max_users: int = 1000
    max_duration_s: float = 120.0
    generator_cpu_limit_pct: float = 90.0
    regression_margin: float = 0.25
    regression_fails: bool = False
    regression_min_runs: int = 3
    regression_window: int = 20
    regression_min_delta_ms: float = 5.0
    http: tuple[LoadScenario, ...] = ()
    auth: tuple[LoadScenario, ...] = ()
    llm: tuple[LoadScenario, ...] = ()
    websocket: tuple[LoadWebSocket, ...] = ()


# ---------------------------------------------------------------- monitoring (metrics, Prometheus, ...)


@dataclass(frozen=True)
class MetricRange:
    """Bounds of one metric: every sample of ``series`` (a JSON path on JSON pages) lies in [min, max]."""

    series: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class MetricsEndpoint:
    """A metrics page: Prometheus text exposition or a JSON document (``format``)."""

    name: str
    url: str
    format: Literal["prometheus", "json"] = "prometheus"
    series: tuple[str, ...] = ()
    ranges: tuple[MetricRange, ...] = ()
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class Metrics:
    """Metrics endpoints of a target."""

    endpoints: tuple[MetricsEndpoint, ...] = ()


@dataclass(frozen=True)
class PromQuery:
    """A PromQL expression whose every result value must lie in [min, max]."""

    name: str
    expr: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Prometheus:
    """A Prometheus server: scrape jobs that must be up, rule groups that must be loaded, queries."""

    name: str
    url: str
    jobs: tuple[str, ...] = ()
    rule_groups: tuple[str, ...] = ()
    queries: tuple[PromQuery, ...] = ()
    confirm_down_s: float | None = None
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class Alertmanager:
    """An Alertmanager: no critical alert firing, and critical alerts routed to a real receiver."""

    name: str
    url: str
    critical_labels: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({"severity": "critical"})
    )
    critical_receiver: str | None = None
    cluster_peers: int | None = None
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class Grafana:
    """A Grafana server: its database health, datasources (by name) and dashboards (by uid or tag)."""

    name: str
    url: str
    datasources: tuple[str, ...] = ()
    dashboards: tuple[str, ...] = ()
    dashboard_tags: tuple[str, ...] = ()
    token_env: Secret | None = None
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class Loki:
    """A Loki server: readiness, log streams (LogQL selectors) that must have recent entries, retention."""

    name: str
    url: str
    streams: tuple[str, ...] = ()
    window_s: float | None = None
    min_retention_h: float | None = None
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class Llm:
    """A model server (Ollama API): listing, declared models, one short generation under a budget."""

    name: str
    url: str
    kind: Literal["ollama"] = "ollama"
    models: tuple[str, ...] = ()
    probe_model: str | None = None
    prompt: str = "Reply with the single word OK."
    max_generate_s: float | None = None
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class Auth:
    """Token authentication of a service: the account that logs in and where tokens are used.

    ``signing_secret_env`` (optional) lets the checks sign an expired token with the service's own key.
    """

    login_url: str
    username: str
    password_env: Secret
    name: str = "auth"
    refresh_url: str | None = None
    protected_url: str | None = None
    token_ttl_s: float | None = None
    signing_secret_env: Secret | None = None
    bad_credentials_code: str = "INVALID_CREDENTIALS"
    ca_bundle: Path | None = None

    @property
    def url(self) -> str:
        """Where the probes connect (the login endpoint)."""
        return self.login_url


@dataclass(frozen=True)
class Security:
    """Security checks: published defaults refused, sensitive files not served, no placeholder key."""

    name: str = "security"
    base_urls: tuple[str, ...] = ()
    login_url: str | None = None
    protected_url: str | None = None
    token_subject: str = "admin"
    sensitive_paths: tuple[str, ...] = ("/.env", "/.git/config", "/settings.toml", "/config.toml")
    default_credentials: tuple[str, ...] = ("admin:admin123", "admin:admin", "user:password")
    placeholder_secrets: tuple[str, ...] = (
        "changeme",
        "change-me",
        "secret",
        "your-secret-key",
        "your-secret-key-here",
        "your-256-bit-secret-here-change-this-in-production",
    )
    ca_bundle: Path | None = None

    @property
    def url(self) -> str:
        """The first base URL (where failure messages say the checks went)."""
        return self.base_urls[0] if self.base_urls else ""


@dataclass(frozen=True)
class Target:
    """One inventory file: a target and every component it declares."""

    name: str
    path: Path
    description: str = ""
    sensitive: bool = False
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    ca_bundle: Path | None = None
    thresholds: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    host: Host | None = None
    http: Http | None = None
    tls: Tls | None = None
    cors: tuple[Cors, ...] = ()
    websocket: WebSocket | None = None
    postgres: tuple[Postgres, ...] = ()
    redis: tuple[Redis, ...] = ()
    load: Load | None = None
    auth: Auth | None = None
    security: Security | None = None
    config: Config | None = None
    proxy: Proxy | None = None
    migrations: Migrations | None = None
    sqlite: tuple[Sqlite, ...] = ()
    metrics: Metrics | None = None
    prometheus: tuple[Prometheus, ...] = ()
    alertmanager: tuple[Alertmanager, ...] = ()
    grafana: tuple[Grafana, ...] = ()
    loki: tuple[Loki, ...] = ()
    llm: tuple[Llm, ...] = ()

    def trust(self, entry: object) -> Path | None:
        """The CA bundle for an entry: its own, else the target's, else None (system store)."""
        own = getattr(entry, "ca_bundle", None)
        return own if isinstance(own, Path) else self.ca_bundle


# ---------------------------------------------------------------------------- building

T = TypeVar("T")


def _describe(value: object) -> str:
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
                f"{where}: expected one of {', '.join(map(str, choices))}, got {_describe(value)}"
            )
        return value
    if origin is tuple:
        (item,) = (a for a in get_args(tp) if a is not Ellipsis)
        if not isinstance(value, list):
            raise InventoryError(f"{where}: expected a list, got {_describe(value)}")
        return tuple(_convert(item, v, f"{where}[{i}]", base) for i, v in enumerate(value))
    if origin in (Mapping, dict) or tp is Mapping:
        if not isinstance(value, dict):
            raise InventoryError(f"{where}: expected a table, got {_describe(value)}")
        return MappingProxyType(dict(value))
    if tp is Secret:
        if not isinstance(value, str) or not _ENV_NAME.match(value):
            # Never echo the value: someone may have pasted the secret itself here.
            raise InventoryError(f"{where}: expected the NAME of an environment variable (e.g. PG_PASSWORD)")
        secret = os.environ.get(value)
        if secret is None:
            raise InventoryError(f"{where}: environment variable {value} is not set")
        return Secret(env=value, value=secret)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise InventoryError(f"{where}: expected a table, got {_describe(value)}")
        return build(typing.cast(type[Any], tp), value, where, base)
    if tp is Path:
        if not isinstance(value, str):
            raise InventoryError(f"{where}: expected a path string, got {_describe(value)}")
        path = Path(os.path.expanduser(value))
        # normpath, not resolve(): a venv interpreter is a symlink whose target is not the venv.
        return path if path.is_absolute() else Path(os.path.normpath(base / path))
    if tp is bool:
        if not isinstance(value, bool):
            raise InventoryError(f"{where}: expected true or false, got {_describe(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InventoryError(f"{where}: expected an integer, got {_describe(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InventoryError(f"{where}: expected a number, got {_describe(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise InventoryError(f"{where}: expected a string, got {_describe(value)}")
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
    if "name" in kwargs and isinstance(kwargs["name"], str) and not _NAME.match(kwargs["name"]):
        raise InventoryError(f"{where}.name: {kwargs['name']!r} must be letters, digits, '.', '_' or '-'")
    return cls(**kwargs)


def find_inventory(name: str, directory: Path) -> Path:
    """Path of ``<directory>/<name>.toml``; a clear error when the target is unknown."""
    if not _NAME.match(name):
        raise InventoryError(f"--host={name!r}: a target name is letters, digits, '.', '_' or '-'")
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
                    f"got {_describe(value)}"
                )


def load_target(path: Path, catalog: Catalog | None = None) -> Target:
    """Read and validate one inventory file into a Target."""
    catalog = catalog or load_catalog()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InventoryError(f"{path}: no such inventory file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"{path}: not valid TOML: {exc}") from None
    head = raw.pop("target", {})
    if not isinstance(head, dict):
        raise InventoryError(f"{path}: target: expected a table")
    data = {**head, **raw}
    for key in ("name", "path"):
        if key in head:
            raise InventoryError(f"{path}: target.{key}: set by the file name, remove it")
    try:
        target = build(Target, {**data, "name": path.stem, "path": str(path)}, "", path.parent)
    except InventoryError as exc:
        raise InventoryError(f"{path}: {exc}") from None
    try:
        _check_thresholds(target.thresholds, "", catalog)
    except InventoryError as exc:
        raise InventoryError(f"{path}: {str(exc).lstrip('.')}") from None
    if target.connect_timeout <= 0 or target.read_timeout <= 0:
        raise InventoryError(f"{path}: connect_timeout and read_timeout must be positive")
    return target


def components(target: Target, path: str) -> list[Any]:
    """Entries a catalog component path names on a target (``http.endpoints`` -> the endpoints)."""
    current: list[Any] = [target]
    for part in path.split("."):
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
