"""Facts about a machine read through a testinfra-like backend (``run(command, *args)``), never asserted.

Commands are built with arguments (testinfra quotes each ``%s``), never by string interpolation. Every
function takes the host object; the transport (``local://``, ``ssh://``) and its timeouts are the host's.
Files are read on the host and parsed here, so a remote target needs nothing but a shell and coreutils.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

__all__ = [
    "CommandResult",
    "Compile",
    "DiskUsage",
    "FileStat",
    "ListeningSocket",
    "LogScan",
    "ProcessInfo",
    "Runner",
    "compile_sources",
    "disk_usage",
    "file_stat",
    "listening",
    "missing_libraries",
    "missing_requirements",
    "parse_env",
    "pidfile_process",
    "processes",
    "read_file",
    "scan_log",
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
    """Live processes whose command line matches the regex ``pattern``.

    ``ps`` then a match here, not ``pgrep -f``: the shell running pgrep has the pattern in its own
    command line and would match itself.
    """
    out = host.run("ps -ww -eo pid=,stat=,rss=,args=")
    regex = re.compile(pattern)
    found = []
    for line in out.stdout.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 4 or not parts[0].isdigit():
            continue
        info = ProcessInfo(int(parts[0]), parts[1], int(parts[2]) if parts[2].isdigit() else 0, parts[3])
        if info.alive and regex.search(info.args) and "-eo pid=,stat=" not in info.args:
            found.append(info)
    return tuple(found)


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


def file_size(host: Runner, path: str) -> tuple[int | None, str]:
    """Size in bytes (``stat -c %s``), or None and why."""
    out = host.run("stat -c %s %s", "%s", path)
    if out.rc != 0:
        return None, out.stderr.strip() or f"exit {out.rc}"
    return int(out.stdout.strip()), ""


# ISO 8601 (`2026-11-28 06:41:47`, `2026-11-28T06:41:47`) and nginx's error log (`2026/11/28 06:41:47`).
_TIMESTAMP = re.compile(r"(\d{4})[-/](\d\d)[-/](\d\d)[T ](\d\d):(\d\d):(\d\d)")


@dataclass(frozen=True)
class LogScan:
    """Lines matching an error pattern within a window, with the newest ones as examples."""

    matches: int
    examples: tuple[str, ...]
    scanned_lines: int


def scan_log(text: str, pattern: str, *, now: datetime, window: timedelta) -> LogScan:
    """Count lines matching ``pattern`` stamped within ``window`` before ``now`` (host-local times).

    A line without a timestamp belongs to the last stamped line above it (a traceback); lines before
    the first timestamp count as recent only when the file has no timestamps at all.
    """
    regex = re.compile(pattern)
    since = now - window
    has_stamps = _TIMESTAMP.search(text) is not None
    recent = not has_stamps
    matches: list[str] = []
    lines = text.splitlines()
    for line in lines:
        stamp = _TIMESTAMP.search(line[:40])
        if stamp:
            year, month, day, hour, minute, second = map(int, stamp.groups())
            recent = datetime(year, month, day, hour, minute, second) >= since
        if recent and regex.search(line):
            matches.append(line.strip()[:200])
    return LogScan(len(matches), tuple(matches[-3:]), len(lines))


def host_now(host: Runner) -> datetime:
    """The host's local wall-clock time (log timestamps are written in it)."""
    out = host.run("date +%s", "%Y-%m-%dT%H:%M:%S")
    return datetime.fromisoformat(out.stdout.strip())


def parse_env(text: str) -> dict[str, str]:
    """``KEY=value`` lines of a .env file (``export``, comments and quotes handled like docker/dotenv)."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def parse_settings(text: str, fmt: str) -> Mapping[str, Any]:
    """A settings document as a mapping (raises ValueError with the parser's message)."""
    if fmt == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"TOML: {exc}") from None
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("JSON: top level is not an object")
        return data
    return parse_env(text)


def lookup(data: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    """``a.b.c`` in nested tables (an exact key containing dots wins): (found, value)."""
    if dotted in data:
        return True, data[dotted]
    current: Any = data
    for part in dotted.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


@dataclass(frozen=True)
class Compile:
    """Byte-compilation of an app's sources with its interpreter (nothing written: ``compile()`` only)."""

    files: int
    errors: tuple[str, ...]
    error: str | None = None


_COMPILE_SCRIPT = """
import os, sys
root = sys.argv[1]
paths = [root] if os.path.isfile(root) else sorted(
    os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith('.py'))
bad = 0
for path in paths:
    try:
        with open(path, 'rb') as handle:
            compile(handle.read(), path, 'exec', dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        bad += 1
        print('ERR %s:%s: %s' % (path, getattr(exc, 'lineno', '?'), getattr(exc, 'msg', exc)))
print('FILES %d' % len(paths))
"""


def compile_sources(host: Runner, python: str, sources: str) -> Compile:
    """Compile every ``.py`` under ``sources`` with the app's interpreter, in memory (no .pyc written)."""
    out = host.run("%s -c %s %s", python, _COMPILE_SCRIPT, sources)
    files = re.search(r"^FILES (\d+)$", out.stdout, re.MULTILINE)
    if files is None:
        return Compile(0, (), error=(out.stderr.strip() or f"exit {out.rc}")[-300:])
    errors = tuple(line[4:] for line in out.stdout.splitlines() if line.startswith("ERR "))
    return Compile(int(files.group(1)), errors)


_REQUIREMENTS_SCRIPT = """
import re, sys
from importlib import metadata
try:
    from packaging.requirements import Requirement
except ImportError:
    Requirement = None
for raw in open(sys.argv[1], encoding='utf-8'):
    line = raw.split('#', 1)[0].strip()
    if not line or line.startswith('-'):
        continue
    if Requirement is not None:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        name, spec = req.name, req.specifier
    else:
        name, spec = re.split(r'[\\s\\[<>=!~;]', line, 1)[0], None
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        print('MISSING %s' % line)
        continue
    if spec is not None and not spec.contains(version, prereleases=True):
        print('MISMATCH %s (installed %s)' % (line, version))
print('DONE')
"""


def missing_requirements(host: Runner, python: str, requirements: str) -> tuple[tuple[str, ...], str | None]:
    """Requirements of a requirements file not installed (or at a wrong version) for ``python``."""
    out = host.run("%s -c %s %s", python, _REQUIREMENTS_SCRIPT, requirements)
    if "DONE" not in out.stdout.splitlines():
        return (), (out.stderr.strip() or f"exit {out.rc}")[-300:]
    problems = tuple(
        line.split(" ", 1)[1]
        for line in out.stdout.splitlines()
        if line.startswith(("MISSING ", "MISMATCH "))
    )
    return problems, None


def missing_libraries(host: Runner, path: str) -> tuple[tuple[str, ...], str | None]:
    """Shared libraries ``ldd`` cannot resolve for the executable at ``path`` (or why ldd failed)."""
    out = host.run("ldd %s", path)
    missing = tuple(line.split("=>", 1)[0].strip() for line in out.stdout.splitlines() if "not found" in line)
    if out.rc != 0 and not missing:
        return (), " ".join((out.stderr + out.stdout).split())[-300:] or f"ldd exited {out.rc}"
    return missing, None
