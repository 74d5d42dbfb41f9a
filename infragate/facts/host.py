"""Host facts read on the machine through ``[host] transport`` (testinfra): services, processes, listeners,
files, disks, logs, deployed binaries and Python applications.

Every binding here is ``host_side``: no network endpoint to remember, the transport's own timeouts apply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from infragate.facts import Context, fact, host_side
from infragate.probes import containers, host, logs, python_app, units
from infragate.probes.containers import ContainerLogErrors, ContainerMemory
from infragate.probes.host import ServiceState

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
    )
    from infragate.probes.logs import LogErrors, LogrotateCoverage
    from infragate.probes.python_app import Compile


def _pidfile_or_pattern(ctx: Context, service: HostService) -> ServiceState:
    """Today's entries: the pid file's live process, else the process whose command line is the pattern."""
    pidfile = str(service.pidfile) if service.pidfile is not None else None
    return host.service_state(ctx.machine(), pidfile=pidfile, pattern=service.pattern)


def _docker(ctx: Context, service: HostService) -> ServiceState:
    """A container: running, healthy (unless require_healthy = false), restarts, image."""
    return containers.docker_service_state(
        ctx.machine(),
        service.docker,
        service.target_name,
        require_healthy=service.require_healthy,
        max_restarts=service.max_restarts,
        image=service.image,
    )


def _compose(ctx: Context, service: HostService) -> ServiceState:
    """A compose project: every expected service's container up, and healthy when it has a healthcheck."""
    machine = ctx.machine()
    expected: tuple[str, ...] = service.compose_services
    if not expected and service.compose_file is not None:
        text, why = host.read_file(machine, str(service.compose_file))
        if text is None:
            return ServiceState(False, f"compose file {service.compose_file}: {why}")
        expected = containers.compose_file_services(text)
    return containers.compose_service_state(
        machine, service.docker, service.target_name, expected=expected, max_restarts=service.max_restarts
    )


def _systemd(ctx: Context, service: HostService) -> ServiceState:
    """A systemd unit: active, enabled (unless enabled = false), NRestarts within max_restarts."""
    return units.systemd_service(
        ctx.machine(), service.target_name, require_enabled=service.enabled, max_restarts=service.max_restarts
    )


def _supervisor(ctx: Context, service: HostService) -> ServiceState:
    """A supervisor program: RUNNING (``supervisorctl [-c supervisor_conf] status PROGRAM``)."""
    conf = str(service.supervisor_conf) if service.supervisor_conf is not None else None
    return units.supervisor_service(ctx.machine(), service.target_name, config=conf)


# How each manager's HOST-SERVICE-ACTIVE is read: one function per manager.
SERVICE_READERS: dict[str, Callable[[Context, HostService], ServiceState]] = {
    "pidfile": _pidfile_or_pattern,
    "pattern": _pidfile_or_pattern,
    "docker": _docker,
    "compose": _compose,
    "systemd": _systemd,
    "supervisor": _supervisor,
}


@fact(endpoint=host_side)
def service_state(ctx: Context, service: HostService) -> ServiceState:
    """A declared service by its manager (``[[host.services]] manager``): running, as that manager says."""
    reader = SERVICE_READERS.get(service.kind)
    if reader is None:
        return ServiceState(False, f"manager {service.kind!r} is not readable by this version of infragate")
    return reader(ctx, service)


def _service_containers(ctx: Context, service: HostService) -> tuple[str, ...]:
    """The containers of a docker service (its own) or of a compose project (each one, running or not)."""
    if service.kind == "docker":
        return (service.target_name,)
    found = containers.compose_containers(ctx.machine(), service.docker, service.target_name)
    return tuple(sorted(c.name for c in found))


@fact(endpoint=host_side)
def service_memory(ctx: Context, service: HostService) -> tuple[ContainerMemory, ...]:
    """HOST-PROCESS-MEMORY of a docker service or compose project: each container's use against its limit."""
    if service.kind not in ("docker", "compose"):
        raise ValueError(f"host.services {service.name}: memory is read for docker and compose services")
    try:
        names = _service_containers(ctx, service)
    except containers.DockerError as err:
        return (ContainerMemory(service.target_name, error=str(err)),)
    return tuple(containers.container_memory(ctx.machine(), service.docker, names))


def _container_logs(
    ctx: Context, service: HostService, window_minutes: float
) -> tuple[ContainerLogErrors, ...]:
    """``docker logs --since`` of the service's containers."""
    try:
        names = _service_containers(ctx, service)
    except containers.DockerError as err:
        return (ContainerLogErrors(service.target_name, window_minutes, error=str(err)),)
    return tuple(
        containers.container_log_errors(
            ctx.machine(), service.docker, name, service.log_error_pattern, window_minutes=window_minutes
        )
        for name in names
    )


def _journal(ctx: Context, service: HostService, window_minutes: float) -> tuple[ContainerLogErrors, ...]:
    """``journalctl -u UNIT --since`` of a systemd unit (the machine's clock sets the window)."""
    unit = service.target_name
    found = units.journal_errors(
        ctx.machine(), unit, service.log_error_pattern, window_minutes=window_minutes
    )
    if found.scan is None:
        return (ContainerLogErrors(unit, window_minutes, error=found.error),)
    scan = found.scan
    return (ContainerLogErrors(unit, window_minutes, scan.matches, scan.scanned_lines, scan.examples),)


# How each manager's own log is read for HOST-LOG-ERRORS.
SERVICE_LOG_READERS: dict[str, Callable[[Context, HostService, float], tuple[ContainerLogErrors, ...]]] = {
    "docker": _container_logs,
    "compose": _container_logs,
    "systemd": _journal,
}


@fact(endpoint=host_side)
def service_log_errors(
    ctx: Context, service: HostService, window_minutes: float
) -> tuple[ContainerLogErrors, ...]:
    """Error lines of a service's own log (containers: ``docker logs --since``) within the window."""
    reader = SERVICE_LOG_READERS.get(service.kind)
    if reader is None:
        raise ValueError(f"host.services {service.name}: no log reader for manager {service.kind!r}")
    found: tuple[ContainerLogErrors, ...] = reader(ctx, service, window_minutes)
    return found


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
