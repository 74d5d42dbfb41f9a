"""The machine itself, read through testinfra: ports, services, files, the proxy (probe: host)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from infragate.inventory._validate import Invalid, Percent, PortNumber, Ratio, Regex

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
    "Port",
    "Proxy",
    "ProxyUpload",
    "WsLocation",
]


@dataclass(frozen=True)
class Port:
    """A TCP endpoint the test runner must reach (HOST-PORT-REACHABLE)."""

    name: str
    host: str
    port: PortNumber
    process: str | None = None


@dataclass(frozen=True)
class HostService:
    """A service without systemd: a pid file whose process runs, or a command-line pattern (regex)."""

    name: str
    pidfile: Path | None = None
    pattern: Regex | None = None


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
    """A WebSocket location of the proxy (``location`` as written in nginx.conf)."""

    name: str
    location: str
    min_read_timeout_s: float | None = None


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
    """The nginx reverse proxy on the host: its configuration file, tested with ``nginx -t`` / ``-T``."""

    nginx_conf: Path
    name: str = "nginx"
    nginx_prefix: Path | None = None
    nginx_binary: str = "nginx"
    websocket_locations: tuple[WsLocation, ...] = ()
    upload: tuple[ProxyUpload, ...] = ()


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
