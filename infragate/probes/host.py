"""Facts about a machine read through a testinfra-like backend (``run(command, *args)``), never asserted.

Commands are built with arguments (testinfra quotes each ``%s``), never by string interpolation. Every
function takes the host object; the transport (``local://``, ``ssh://``) and its timeouts are the host's.
Files are read on the host and parsed here, so a remote target needs nothing but a shell and coreutils.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "CommandResult",
    "DiskUsage",
    "FilePermissions",
    "FileSize",
    "FileStat",
    "ListeningSocket",
    "Missing",
    "PortListeners",
    "ProcessInfo",
    "ProcessMatch",
    "Runner",
    "ServiceState",
    "disk_usage",
    "file_permissions",
    "file_size",
    "file_stat",
    "listening",
    "missing_libraries",
    "pidfile_process",
    "port_listeners",
    "process_match",
    "processes",
    "read_file",
    "service_state",
]


class CommandResult(Protocol):
    """What testinfra's ``host.run`` returns (the attributes we read)."""

    @property
    def rc(self) -> int: ...

    @property
    def stdout(self) -> str: ...

    @property
    def stderr(self) -> str: ...


class Runner(Protocol):
    """A testinfra host, or anything with the same ``run(command, *args)`` (each arg quoted)."""

    def run(self, command: str, *args: str) -> Any: ...


@dataclass(frozen=True)
class ProcessInfo:
    """One process from ``ps``: pid, state letters, resident memory in KiB, command line."""

    pid: int
    stat: str
    rss_kb: int
    args: str

    @property
    def alive(self) -> bool:
        """Not a zombie: a reaped-late exited process stays visible as state Z (machine notes)."""
        return not self.stat.startswith("Z")


def processes(host: Runner, pattern: str) -> tuple[ProcessInfo, ...]:
    """Live processes whose WHOLE command line matches the regex ``pattern`` (``re.fullmatch``).

    The whole line, not a search: ``uvicorn .*--port 8000`` found anywhere also matched ``--port 80001``
    and a second instance's command line on the same host. ``ps`` then a match here, not ``pgrep -f``:
    the shell running pgrep has the pattern in its own command line and would match itself.
    """
    out = host.run("ps -ww -eo pid=,stat=,rss=,args=")
    regex = re.compile(pattern)
    found = []
    for line in out.stdout.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 4 or not parts[0].isdigit():
            continue
        info = ProcessInfo(int(parts[0]), parts[1], int(parts[2]) if parts[2].isdigit() else 0, parts[3])
        if info.alive and regex.fullmatch(info.args.strip()) and "-eo pid=,stat=" not in info.args:
            found.append(info)
    return tuple(found)


@dataclass(frozen=True)
class ProcessMatch:
    """The processes matching a declared pattern, against the allowed count ``[low, high]``."""

    pattern: str
    matched: tuple[ProcessInfo, ...]
    low: int = 1
    high: int | None = None

    @property
    def within(self) -> bool:
        """The count is within bounds."""
        count = len(self.matched)
        return count >= self.low and (self.high is None or count <= self.high)

    @property
    def allowed(self) -> str:
        """The allowed count in words: ``exactly 1``, ``at least 1``, ``between 1 and 4``."""
        if self.high is None:
            return f"at least {self.low}"
        return f"exactly {self.low}" if self.high == self.low else f"between {self.low} and {self.high}"

    @property
    def described(self) -> str:
        """Which processes matched: count, then pid and command line of the first five."""
        if not self.matched:
            return "no process running whose whole command line matches"
        shown = "; ".join(f"pid {p.pid}: {_shorten(p.args)}" for p in self.matched[:5])
        more = f"; and {len(self.matched) - 5} more" if len(self.matched) > 5 else ""
        return f"{len(self.matched)} running ({shown}{more})"


def _shorten(args: str, limit: int = 160) -> str:
    # The distinguishing part of a command line is often at its end (a port, a config path): keep both ends.
    return args if len(args) <= limit else f"{args[:60]} ... {args[-(limit - 65) :]}"


def process_match(host: Runner, pattern: str, low: int = 1, high: int | None = None) -> ProcessMatch:
    """``processes`` with the bounds they are judged against."""
    return ProcessMatch(pattern, processes(host, pattern), low, high)


def pidfile_process(host: Runner, pidfile: str) -> tuple[int | None, ProcessInfo | None, str]:
    """The pid recorded in ``pidfile`` (first line) and its live process, or why there is none."""
    out = host.run("cat %s", pidfile)
    if out.rc != 0:
        return None, None, f"pid file {pidfile} unreadable: {out.stderr.strip() or 'rc ' + str(out.rc)}"
    first = out.stdout.strip().split("\n", 1)[0].strip()
    if not first.isdigit():
        return None, None, f"pid file {pidfile} holds {first[:40]!r}, not a pid"
    pid = int(first)
    ps = host.run("ps -ww -o pid=,stat=,rss=,args= -p %s", str(pid))
    parts = ps.stdout.strip().split(None, 3)
    if ps.rc != 0 or len(parts) < 4:
        return pid, None, f"pid {pid} from {pidfile} is not running (stale pid file)"
    info = ProcessInfo(pid, parts[1], int(parts[2]) if parts[2].isdigit() else 0, parts[3])
    if not info.alive:
        return pid, None, f"pid {pid} from {pidfile} is not running (exited, not yet reaped: stale pid file)"
    return pid, info, "running"


@dataclass(frozen=True)
class ServiceState:
    """Whether a declared service runs, and what was seen (pid file, process)."""

    running: bool
    detail: str


def service_state(host: Runner, *, pidfile: str | None, pattern: str | None) -> ServiceState:
    """State of a service: its pid file's process, else the process whose command line is ``pattern``."""
    if pidfile is not None:
        pid, info, why = pidfile_process(host, pidfile)
        if info is None:
            return ServiceState(False, why)
        return ServiceState(True, f"pid {pid}: {info.args[:120]}")
    if pattern is not None:
        found = processes(host, pattern)
        if not found:
            return ServiceState(False, f"no process's whole command line matches {pattern!r}")
        return ServiceState(True, f"pid {found[0].pid}: {found[0].args[:120]}")
    return ServiceState(False, "declares neither pidfile nor pattern")


@dataclass(frozen=True)
class ListeningSocket:
    """A TCP listener from ``ss -tlnp``: local address, port and the names of the owning processes."""

    address: str
    port: int
    processes: tuple[str, ...]


_SS_USER = re.compile(r'\("([^"]+)",pid=(\d+)')


def listening(host: Runner) -> tuple[ListeningSocket, ...]:
    """Every listening TCP socket of the host (``ss -Htlnp``)."""
    out = host.run("ss -Htlnp")
    sockets = []
    for line in out.stdout.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        address, _, port = fields[3].rpartition(":")
        if not port.isdigit():
            continue
        names = tuple(dict.fromkeys(m.group(1) for m in _SS_USER.finditer(line)))
        sockets.append(ListeningSocket(address.strip("[]"), int(port), names))
    return tuple(sockets)


WILDCARDS = ("0.0.0.0", "*", "::")


@dataclass(frozen=True)
class PortListeners:
    """The listeners on a declared address and port, and whether the declared process owns one."""

    address: str
    port: int
    sockets: tuple[ListeningSocket, ...]
    process: str | None = None

    @property
    def listening(self) -> bool:
        """Something listens on the port, on the address or a wildcard."""
        return bool(self.sockets)

    @property
    def owned(self) -> bool:
        """The declared process (if any) owns one of the listeners."""
        return self.process is None or any(self.process in s.processes for s in self.sockets)

    @property
    def described(self) -> str:
        """``address:port owner`` of each listener."""
        return ", ".join(f"{s.address}:{s.port} {'/'.join(s.processes) or '?'}" for s in self.sockets)


def port_listeners(
    sockets: tuple[ListeningSocket, ...], address: str, port: int, process: str | None
) -> PortListeners:
    """The sockets of ``ss -tlnp`` listening on ``address:port`` (or a wildcard address on that port)."""
    on_port = tuple(s for s in sockets if s.port == port and s.address in (address, *WILDCARDS))
    return PortListeners(address, port, on_port, process)


@dataclass(frozen=True)
class FileStat:
    """Owner, group and mode of a path; ``error`` when it does not exist or cannot be read."""

    exists: bool
    owner: str = ""
    group: str = ""
    mode: int = 0
    error: str | None = None

    @property
    def world_readable(self) -> bool:
        """Others may read it."""
        return bool(self.mode & 0o004)


def file_stat(host: Runner, path: str) -> FileStat:
    """``stat -c '%U %G %a'`` of a path."""
    out = host.run("stat -c %s %s", "%U %G %a", path)
    if out.rc != 0:
        return FileStat(False, error=out.stderr.strip() or f"stat exited {out.rc}")
    owner, group, mode = out.stdout.split()
    return FileStat(True, owner, group, int(mode, 8))


@dataclass(frozen=True)
class FilePermissions:
    """A path's stat against its declared owner, group and mode: which of them are wrong."""

    stat: FileStat
    wrong: tuple[str, ...] = ()


def file_permissions(
    host: Runner, path: str, *, owner: str | None, group: str | None, mode: str | None, secret: bool
) -> FilePermissions:
    """``stat`` of ``path`` compared with what is declared (``mode`` an octal string: "0600")."""
    stat = file_stat(host, path)
    if not stat.exists:
        return FilePermissions(stat)
    want: dict[str, object] = {"owner": owner, "group": group, "mode": None if mode is None else int(mode, 8)}
    seen: dict[str, object] = {"owner": stat.owner, "group": stat.group, "mode": stat.mode}
    wrong = [k for k, v in want.items() if v is not None and v != seen[k]]
    if secret and stat.world_readable:
        wrong.append("world-readable")
    return FilePermissions(stat, tuple(wrong))


@dataclass(frozen=True)
class DiskUsage:
    """Space of the file system holding a path, as ``df`` counts it (used / (used + available))."""

    mount: str = ""
    size_bytes: int = 0
    used_bytes: int = 0
    avail_bytes: int = 0
    error: str | None = None

    @property
    def used_pct(self) -> float:
        """Used share in percent, root-reserved blocks excluded like df's Use%."""
        total = self.used_bytes + self.avail_bytes
        return 100.0 * self.used_bytes / total if total else 0.0


def disk_usage(host: Runner, path: str) -> DiskUsage:
    """``df -P -B1 PATH``."""
    out = host.run("df -P -B1 %s", path)
    lines = out.stdout.strip().splitlines()
    if out.rc != 0 or len(lines) < 2:
        return DiskUsage(error=out.stderr.strip() or f"df exited {out.rc}")
    fields = lines[-1].split()
    return DiskUsage(fields[5], int(fields[1]), int(fields[2]), int(fields[3]))


def read_file(host: Runner, path: str, *, tail_bytes: int | None = None) -> tuple[str | None, str]:
    """The text of a file on the host (its last ``tail_bytes`` only, if given), or None and why."""
    out = host.run("tail -c %s %s", str(tail_bytes), path) if tail_bytes else host.run("cat %s", path)
    if out.rc != 0:
        return None, out.stderr.strip() or f"exit {out.rc}"
    text: str = out.stdout
    return text, ""


@dataclass(frozen=True)
class FileSize:
    """Size in bytes of a file, or why it could not be read."""

    size_bytes: int | None
    error: str | None = None


def file_size(host: Runner, path: str) -> FileSize:
    """``stat -c %s``."""
    out = host.run("stat -c %s %s", "%s", path)
    if out.rc != 0:
        return FileSize(None, out.stderr.strip() or f"exit {out.rc}")
    return FileSize(int(out.stdout.strip()))


@dataclass(frozen=True)
class Missing:
    """What a tool reports as missing (libraries, requirements), or why the tool itself failed."""

    items: tuple[str, ...] = ()
    error: str | None = None


def missing_libraries(host: Runner, path: str) -> Missing:
    """Shared libraries ``ldd`` cannot resolve for the executable at ``path`` (or why ldd failed)."""
    out = host.run("ldd %s", path)
    missing = tuple(line.split("=>", 1)[0].strip() for line in out.stdout.splitlines() if "not found" in line)
    if out.rc != 0 and not missing:
        return Missing((), " ".join((out.stderr + out.stdout).split())[-300:] or f"ldd exited {out.rc}")
    return Missing(missing)
