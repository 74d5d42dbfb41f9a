"""Host facts read on the machine through ``[host] transport`` (testinfra): services, processes, listeners,
files, disks, logs, deployed binaries and Python applications.

Every binding here is ``host_side``: no network endpoint to remember, the transport's own timeouts apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infragate.facts import Context, fact, host_side
from infragate.probes import host, logs, python_app

if TYPE_CHECKING:
    from infragate.inventory import (
        HostBinary,
        HostDisk,
        HostFile,
        HostLog,
        HostProcess,
        HostPythonApp,
        HostService,
        Port,
    )
    from infragate.probes.host import (
        DiskUsage,
        FilePermissions,
        FileSize,
        ListeningSocket,
        Missing,
        PortListeners,
        ProcessMatch,
        ServiceState,
    )
    from infragate.probes.logs import LogErrors, LogrotateCoverage
    from infragate.probes.python_app import Compile


@fact(endpoint=host_side)
def service_state(ctx: Context, service: HostService) -> ServiceState:
    """A declared service: its pid file's live process, else the process whose command line is its pattern."""
    pidfile = str(service.pidfile) if service.pidfile is not None else None
    return host.service_state(ctx.machine(), pidfile=pidfile, pattern=service.pattern)


@fact(endpoint=host_side)
def processes(ctx: Context, process: HostProcess) -> ProcessMatch:
    """Live processes whose whole command line matches the declared pattern, with the allowed count."""
    return host.process_match(ctx.machine(), process.pattern, process.min, process.max)


@fact(endpoint=host_side)
def listeners(ctx: Context) -> tuple[ListeningSocket, ...]:
    """Listening TCP sockets of the machine (``ss -tlnp``), read once per session."""
    return host.listening(ctx.machine())


@fact(endpoint=host_side)
def port_listeners(ctx: Context, port: Port) -> PortListeners:
    """The listeners on a declared port (its address or a wildcard) and whether its process owns one."""
    return host.port_listeners(ctx.get("listeners"), port.host, port.port, port.process)


@fact(endpoint=host_side)
def file_permissions(ctx: Context, file: HostFile) -> FilePermissions:
    """Owner, group and mode of a declared path against the declared ones (and world-readable secrets)."""
    return host.file_permissions(
        ctx.machine(), str(file.path), owner=file.owner, group=file.group, mode=file.mode, secret=file.secret
    )


@fact(endpoint=host_side)
def disk_usage(ctx: Context, disk: HostDisk) -> DiskUsage:
    """Usage of the file system holding a declared path (``df``)."""
    return host.disk_usage(ctx.machine(), str(disk.path))


@fact(endpoint=host_side)
def log_errors(ctx: Context, log: HostLog, window_minutes: float) -> LogErrors:
    """Lines of a log matching its error pattern within the last ``window_minutes`` (host-local times)."""
    return logs.log_errors(ctx.machine(), str(log.path), log.error_pattern, window_minutes=window_minutes)


@fact(endpoint=host_side)
def log_size(ctx: Context, log: HostLog) -> FileSize:
    """Size of a declared log file."""
    return host.file_size(ctx.machine(), str(log.path))


@fact(endpoint=host_side)
def log_rotation(ctx: Context, log: HostLog) -> LogrotateCoverage:
    """The logrotate rule covering a log file, read from ``[host] logrotate_configs`` on the machine."""
    configs = ctx.host.logrotate_configs if ctx.host is not None else ()
    return logs.logrotate_coverage(ctx.machine(), str(log.path), tuple(str(p) for p in configs))


@fact(endpoint=host_side)
def python_sources(ctx: Context, app: HostPythonApp) -> Compile:
    """The app's sources compiled by its own interpreter (virtualenvs, site-packages, ``exclude`` skipped)."""
    return python_app.compile_sources(ctx.machine(), str(app.python), str(app.sources), app.exclude)


@fact(endpoint=host_side)
def python_requirements(ctx: Context, app: HostPythonApp) -> Missing:
    """Requirements of the app's requirements file not installed for its interpreter."""
    if app.requirements is None:
        raise ValueError(f"host.python_apps {app.name} declares no requirements")
    return python_app.missing_requirements(ctx.machine(), str(app.python), str(app.requirements))


@fact(endpoint=host_side)
def binary_libraries(ctx: Context, binary: HostBinary) -> Missing:
    """Shared libraries ``ldd`` reports as not found for a declared executable."""
    return host.missing_libraries(ctx.machine(), str(binary.path))
