"""The machine itself, read through testinfra: ports, services, files, the proxy (probe: host)."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

from infragate.inventory._validate import (
    ContainerName,
    HttpUrl,
    Invalid,
    Percent,
    PortNumber,
    Ratio,
    Regex,
    only_for,
)

# testinfra's connection backends (testinfra.backend.BACKENDS; a self-test keeps the two equal). Copied,
# not imported: importing testinfra.backend costs about 0.3 s on every inventory load.
TRANSPORTS = (
    "local", "ssh", "safe-ssh", "paramiko", "salt", "docker", "podman", "ansible", "kubectl", "winrm", "lxc",
    "openshift", "chroot",
)  # fmt: skip
# Backends whose URL needs no host part (``local://``, ``chroot:///srv/root``).
_HOSTLESS = ("local", "chroot")
_MODE = re.compile(r"^0?[0-7]{3}$")

__all__ = [
    "MANAGERS",
    "HostBinary",
    "HostDisk",
    "HostFile",
    "HostFirewall",
    "HostGpu",
    "HostLog",
    "HostProcess",
    "HostPythonApp",
    "HostService",
    "Port",
    "Proxy",
    "ProxyUpload",
    "ServiceManager",
    "WsLocation",
]


@dataclass(frozen=True)
class Port:
    """A TCP endpoint the test runner must reach (HOST-PORT-REACHABLE)."""

    name: str
    host: str
    port: PortNumber
    process: str | None = None


ServiceManager = Literal["pidfile", "pattern", "systemd", "docker", "compose", "supervisor"]
MANAGERS: tuple[ServiceManager, ...] = ("pidfile", "pattern", "systemd", "docker", "compose", "supervisor")
_DEFAULT_ERRORS = r"\b(ERROR|CRITICAL|FATAL)\b|\[(error|crit|alert|emerg)\]"

# Which manager each optional key of a service belongs to: a key of another manager is an error, never
# silently ignored (a `unit` on a docker service would make the check test less than it says).
_SERVICE_KEYS: dict[str, tuple[str, ...]] = {
    "pidfile": ("pidfile",),
    "pattern": ("pidfile", "pattern"),
    "unit": ("systemd",),
    "enabled": ("systemd",),
    "program": ("supervisor",),
    "supervisor_conf": ("supervisor",),
    "container": ("docker",),
    "image": ("docker",),
    "project": ("compose",),
    "compose_file": ("compose",),
    "compose_services": ("compose",),
    "require_healthy": ("docker", "compose"),
    "docker": ("docker", "compose"),
    # Not "supervisor": supervisord keeps no restart count (its status and XML-RPC give state and uptime).
    "max_restarts": ("docker", "compose", "systemd"),
    "max_memory_pct": ("docker", "compose"),
    "log_error_pattern": ("docker", "compose", "systemd"),
    "max_log_errors": ("docker", "compose", "systemd"),
    "log_window_minutes": ("docker", "compose", "systemd"),
}


@dataclass(frozen=True)
class HostService:
    """A service as deployed, by its manager (HOST-SERVICE-ACTIVE).

    ``manager`` says who runs it; without it, today's entries keep working: ``pidfile`` (its live process)
    or ``pattern`` (a process whose command line matches the regex). Names default to the entry's name:

    - ``systemd``: ``unit`` active, and enabled unless ``enabled = false``.
    - ``supervisor``: ``program`` RUNNING (``supervisorctl [-c supervisor_conf] status``).
    - ``docker``: ``container`` running, health ``healthy`` (``require_healthy = false``: no healthcheck
      needed), restart count at most ``max_restarts``, and the ``image`` it runs if declared.
    - ``compose``: every service of ``project`` up (and healthy when it has a healthcheck); the services
      expected are ``compose_services``, else those of ``compose_file`` (read on the host), else those seen.

    ``docker`` is the CLI on the host (e.g. ``["sudo", "docker"]``); it reads ``DOCKER_HOST`` from the
    environment. ``max_memory_pct``: HOST-PROCESS-MEMORY, a container's memory against its limit.
    ``max_log_errors`` (with ``log_window_minutes``, ``log_error_pattern``): HOST-LOG-ERRORS on the
    service's own log (``docker logs --since``, ``journalctl -u UNIT --since``).
    """

    name: str
    manager: ServiceManager | None = None
    pidfile: Path | None = None
    pattern: Regex | None = None
    unit: ContainerName | None = None
    enabled: bool = True
    program: ContainerName | None = None
    supervisor_conf: Path | None = None
    container: ContainerName | None = None
    image: str | None = None
    project: ContainerName | None = None
    compose_file: Path | None = None
    compose_services: tuple[ContainerName, ...] = ()
    require_healthy: bool = True
    docker: tuple[str, ...] = ("docker",)
    max_restarts: int | None = None
    max_memory_pct: Percent | None = None
    log_error_pattern: Regex = _DEFAULT_ERRORS
    max_log_errors: int | None = None
    log_window_minutes: float | None = None

    def __post_init__(self) -> None:
        kind = self.kind
        set_keys = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name in _SERVICE_KEYS and getattr(self, f.name) != f.default
        }
        only_for(kind, _SERVICE_KEYS, set_keys)
        if kind == "pidfile" and self.pidfile is None:
            raise Invalid("pidfile", 'manager = "pidfile" needs the pid file path')
        if kind == "pattern" and self.pattern is None:
            raise Invalid("pattern", 'manager = "pattern" needs a command-line pattern (regex)')
        if not self.docker:
            raise Invalid("docker", "must name a program")
        if self.log_window_minutes is not None and self.max_log_errors is None:
            raise Invalid("log_window_minutes", "needs max_log_errors (the window of what?)")

    @property
    def kind(self) -> ServiceManager:
        """The manager in effect: ``manager``, else pidfile or pattern by the keys declared."""
        if self.manager is not None:
            return self.manager
        if self.pidfile is not None:
            return "pidfile"
        if self.pattern is not None:
            return "pattern"
        raise Invalid("manager", f"declare manager ({', '.join(MANAGERS)}) or a pidfile or pattern")

    @property
    def how(self) -> str:
        """How the service is found, for messages: "container app-1", "pid file /run/x.pid"."""
        what = {
            "pidfile": f"pid file {self.pidfile}",
            "pattern": f"pattern {self.pattern!r}",
            "systemd": "systemd unit",
            "supervisor": "supervisor program",
            "docker": "container",
            "compose": "compose project",
        }[self.kind]
        return what if self.kind in ("pidfile", "pattern") else f"{what} {self.target_name}"

    @property
    def target_name(self) -> str:
        """What the manager knows the service as: unit, program, container or project (default: name)."""
        return {
            "systemd": self.unit,
            "supervisor": self.program,
            "docker": self.container,
            "compose": self.project,
        }.get(self.kind) or self.name


@dataclass(frozen=True)
class HostProcess:
    """Processes whose command line matches ``pattern`` (regex): between ``min`` and ``max`` of them."""

    name: str
    pattern: Regex
    min: int = 1
    max: int | None = None
    # HOST-PROCESS-MEMORY: resident memory (VmRSS) each matching process must stay under, in MiB.
    max_rss_mb: float | None = None

    def __post_init__(self) -> None:
        if self.max is not None and self.max < self.min:
            raise Invalid("max", f"must be at least min ({self.min}), got {self.max}")


@dataclass(frozen=True)
class HostFile:
    """A path that must exist with this owner, group and mode (octal string, e.g. "0600")."""

    name: str
    path: Path
    owner: str | None = None
    group: str | None = None
    mode: str | None = None
    secret: bool = False

    def __post_init__(self) -> None:
        if self.mode is not None and not _MODE.match(self.mode):
            raise Invalid("mode", f'must be an octal mode string like "0640", got {self.mode!r}')


@dataclass(frozen=True)
class HostDisk:
    """A mount point or any path on it whose file system must keep free space."""

    name: str
    path: Path
    max_used_pct: Percent | None = None


@dataclass(frozen=True)
class HostLog:
    """A log file: error lines within a recent window, and its size."""

    name: str
    path: Path
    error_pattern: Regex = r"\b(ERROR|CRITICAL|FATAL)\b|\[(error|crit|alert|emerg)\]"
    max_errors: int | None = None
    window_minutes: float | None = None
    max_size_mb: float | None = None
    # "text" (any log: HOST-LOG-ERRORS, HOST-LOG-SIZE) or "nginx-combined" (an nginx access log in the
    # combined format: HOST-NGINX-ACCESS-5XX too).
    format: Literal["text", "nginx-combined"] = "text"
    max_5xx_ratio: Ratio | None = None
    # nginx writes a buffered access log at most every `flush=` seconds: wait that long before reading it.
    flush_s: float = 0.0


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
    # Paths under ``sources`` not compiled (absolute, or relative to ``sources``); virtualenvs
    # (pyvenv.cfg) and site-packages are always skipped.
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class WsLocation:
    """A WebSocket location of the proxy: for nginx ``location`` as written in nginx.conf; for Traefik the
    path its ``router`` must route (its rule's Path/PathPrefix) to a service whose servers are ``upstreams``.
    """

    name: str
    location: str
    min_read_timeout_s: float | None = None
    # kind = "traefik" only: the router's name in the dynamic configuration ("ws", or "ws@file" with its
    # provider; without one, @file) and the server URLs its service must list, no more and no fewer.
    router: str | None = None
    upstreams: tuple[HttpUrl, ...] = ()


@dataclass(frozen=True)
class ProxyUpload:
    """CONFIG-UPLOAD-LIMITS: the proxy's ``client_max_body_size`` in effect at ``location`` (as written in
    nginx.conf; inherited from its server and http blocks, nginx's default 1m when none sets it) must be
    at least the application's upload limit: ``max_bytes``, or ``key`` read from the application's
    settings file ``settings`` (``format`` toml, json or env; the value is a number of ``unit``s, or
    a size such as ``10M``).
    """

    name: str
    location: str
    settings: Path | None = None
    format: Literal["toml", "json", "env"] = "env"
    key: str = "MAX_FILE_SIZE"
    unit: Literal["bytes", "KiB", "MiB", "GiB", "kB", "MB", "GB"] = "bytes"
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        if (self.settings is None) == (self.max_bytes is None):
            raise Invalid("settings", "declare the application's limit: settings (with key) or max_bytes")


@dataclass(frozen=True)
class Proxy:
    """A reverse proxy: nginx on the host (its configuration file, tested with ``nginx -t`` / ``-T``) or
    Traefik (``kind = "traefik"``: its API at ``api_url``, routers, services and routes as loaded)."""

    nginx_conf: Path | None = None
    name: str = ""  # default: the kind ("nginx", "traefik")
    kind: Literal["nginx", "traefik"] = "nginx"
    nginx_prefix: Path | None = None
    nginx_binary: str = "nginx"
    # Traefik's API (api@internal): e.g. http://127.0.0.1:8080 for `api.insecure` on a loopback entrypoint.
    api_url: HttpUrl | None = None
    websocket_locations: tuple[WsLocation, ...] = ()
    upload: tuple[ProxyUpload, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.kind)
        nginx_only = {"nginx_conf": self.nginx_conf, "nginx_prefix": self.nginx_prefix, "upload": self.upload}
        if self.kind == "nginx":
            if self.nginx_conf is None:
                raise Invalid(
                    "nginx_conf", "required for an nginx proxy (the nginx.conf that nginx -t reads)"
                )
            if self.api_url is not None:
                raise Invalid("api_url", 'only for kind = "traefik"')
            for loc in self.websocket_locations:
                if loc.router is not None or loc.upstreams:
                    raise Invalid(
                        f"websocket_locations.{loc.name}", 'router and upstreams: only for kind = "traefik"'
                    )
            return
        for key, value in nginx_only.items():
            if value is not None and value != ():
                # upload: CONFIG-UPLOAD-LIMITS reads nginx's client_max_body_size.
                raise Invalid(key, f'only for kind = "nginx", not "{self.kind}"')
        if self.api_url is None:
            raise Invalid("api_url", "required for a Traefik proxy (its API, e.g. http://127.0.0.1:8080)")
        for loc in self.websocket_locations:
            if loc.router is None or not loc.upstreams:
                raise Invalid(
                    f"websocket_locations.{loc.name}",
                    "a Traefik WebSocket location needs router and upstreams",
                )


@dataclass(frozen=True)
class HostFirewall:
    """The host firewall (HOST-FIREWALL-OPEN): TCP ports open to the world, read from nftables."""

    public_ports: tuple[PortNumber, ...]
    name: str = "firewall"
    # The command printing the ruleset as nftables JSON, run on the host (e.g. inside a network namespace:
    # ["ip", "netns", "exec", "NS", "nft", "-j", "list", "ruleset"]).
    command: tuple[str, ...] = ("nft", "-j", "list", "ruleset")

    def __post_init__(self) -> None:
        if not self.command:
            raise Invalid("command", "must name a program")


@dataclass(frozen=True)
class HostGpu:
    """The host's NVIDIA GPUs (HOST-GPU-MEMORY): how many there must be and their memory use."""

    name: str = "gpu"
    # nvidia-smi (or a wrapper: ["docker", "exec", "ollama", "nvidia-smi"]); the query arguments are added.
    command: tuple[str, ...] = ("nvidia-smi",)
    count: int | None = None
    max_used_pct: Percent | None = None

    def __post_init__(self) -> None:
        if not self.command:
            raise Invalid("command", "must name a program")
