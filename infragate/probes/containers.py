"""Containers as deployed (runbooks 001/002: ``docker ps``, ``docker-compose ps``, ``docker logs``, ``docker
stats``): read with the docker CLI on the host, through its transport, never asserted.

The CLI finds its engine the usual way (``DOCKER_HOST`` in the environment the command runs in; the
inventory's ``docker`` command may add ``-H`` or ``sudo``). Every call runs under coreutils ``timeout`` on
the host, so a hung engine costs at most ``DEADLINE_S`` and says so. Compose projects are read from the
labels compose puts on its containers (``com.docker.compose.project`` / ``.service``), which docker-compose
1.x and compose v2 both write: no compose binary is needed on the host.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infragate.probes.host import Runner, ServiceState

__all__ = [
    "DEADLINE_S",
    "ContainerLogErrors",
    "ContainerMemory",
    "ContainerState",
    "compose_containers",
    "compose_file_services",
    "compose_service_state",
    "container_log_errors",
    "container_memory",
    "container_state",
    "docker_service_state",
    "parse_inspect",
    "parse_mem_usage",
]

DEADLINE_S = 15.0
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


class DockerError(RuntimeError):
    """The docker CLI failed or ran out of time; the message says which command and why."""


def docker(host: Runner, cli: Sequence[str], *args: str, deadline_s: float = DEADLINE_S) -> str:
    """Run ``cli args`` on the host under ``timeout``; its stdout, or DockerError naming the failure."""
    argv = ["timeout", "-k", "2", f"{deadline_s:g}", *cli, *args]
    out = host.run(" ".join(["%s"] * len(argv)), *argv)
    if out.rc == 124 or out.rc == 137:
        raise DockerError(f"{' '.join(cli)} {' '.join(args[:2])}: no answer within {deadline_s:g} s")
    if out.rc != 0:
        why = (out.stderr or out.stdout or "").strip().splitlines()
        raise DockerError(f"{' '.join(cli)} {' '.join(args[:2])}: exit {out.rc}: {why[-1] if why else ''}")
    return str(out.stdout)


@dataclass(frozen=True)
class ContainerState:
    """What ``docker inspect`` says of one container."""

    name: str
    status: str  # created, running, restarting, paused, exited, dead
    health: str | None  # starting, healthy, unhealthy; None without a healthcheck
    restarts: int
    image: str  # the reference it was created from (Config.Image)
    exit_code: int = 0
    oom_killed: bool = False
    memory_limit: int = 0  # bytes, 0 = none
    service: str | None = None  # compose service label
    last_health_output: str = ""

    def problems(self, *, require_healthy: bool, max_restarts: int | None, image: str | None) -> list[str]:
        """Why this container does not count as up, in words (empty: it does)."""
        found = []
        if self.status != "running":
            how = f"{self.status} (exit code {self.exit_code}{', OOM-killed' if self.oom_killed else ''})"
            found.append(how if self.status in ("exited", "dead") else self.status)
        if self.health is None:
            if require_healthy:
                found.append("has no healthcheck (require_healthy = false to accept that)")
        elif self.health != "healthy":
            last = f": {self.last_health_output}" if self.last_health_output else ""
            found.append(f"health {self.health}{last}")
        if max_restarts is not None and self.restarts > max_restarts:
            found.append(f"restarted {self.restarts} times (at most {max_restarts})")
        if image is not None and self.image != image:
            found.append(f"runs image {self.image}, not {image}")
        return found


def parse_inspect(entry: Mapping[str, Any]) -> ContainerState:
    """One element of ``docker inspect``'s JSON array."""
    state = entry.get("State") or {}
    config = entry.get("Config") or {}
    health = state.get("Health")
    last = ""
    if isinstance(health, dict) and health.get("Log"):
        last = " ".join(str(health["Log"][-1].get("Output", "")).split())[:160]
    labels = config.get("Labels") or {}
    return ContainerState(
        name=str(entry.get("Name", "")).lstrip("/"),
        status=str(state.get("Status", "unknown")),
        health=str(health.get("Status")) if isinstance(health, dict) else None,
        restarts=int(entry.get("RestartCount") or 0),
        image=str(config.get("Image", "")),
        exit_code=int(state.get("ExitCode") or 0),
        oom_killed=bool(state.get("OOMKilled")),
        memory_limit=int((entry.get("HostConfig") or {}).get("Memory") or 0),
        service=labels.get(SERVICE_LABEL),
        last_health_output=last,
    )


def _inspect(host: Runner, cli: Sequence[str], names: Sequence[str]) -> list[ContainerState]:
    text = docker(host, cli, "inspect", "--type", "container", *names)
    return [parse_inspect(e) for e in json.loads(text)]


def container_state(host: Runner, cli: Sequence[str], name: str) -> ContainerState | None:
    """The container's state, or None when the engine has no container of that name."""
    try:
        found = _inspect(host, cli, [name])
    except DockerError as err:
        if "no such" in str(err).lower():
            return None
        raise
    return found[0] if found else None


def docker_service_state(
    host: Runner,
    cli: Sequence[str],
    name: str,
    *,
    require_healthy: bool,
    max_restarts: int | None,
    image: str | None,
) -> ServiceState:
    """HOST-SERVICE-ACTIVE for ``manager = "docker"``: running, healthy, few restarts, the right image."""
    try:
        state = container_state(host, cli, name)
    except DockerError as err:
        return ServiceState(False, str(err))
    if state is None:
        return ServiceState(False, f"no container named {name}")
    problems = state.problems(require_healthy=require_healthy, max_restarts=max_restarts, image=image)
    if problems:
        return ServiceState(False, f"container {name}: {'; '.join(problems)}")
    health = f", {state.health}" if state.health else ""
    return ServiceState(True, f"container {name}: running{health}, {state.restarts} restarts, {state.image}")


def compose_file_services(text: str) -> tuple[str, ...]:
    """The service names a compose file declares (its ``services`` table), read with PyYAML."""
    import yaml

    data = yaml.safe_load(text)
    services = data.get("services") if isinstance(data, dict) else None
    return tuple(sorted(str(k) for k in services)) if isinstance(services, dict) else ()


def compose_containers(host: Runner, cli: Sequence[str], project: str) -> list[ContainerState]:
    """Every container (running or not) labelled with the compose project."""
    ids = docker(host, cli, "ps", "-a", "-q", "--filter", f"label={PROJECT_LABEL}={project}").split()
    return _inspect(host, cli, ids) if ids else []


def compose_service_state(
    host: Runner,
    cli: Sequence[str],
    project: str,
    *,
    expected: Sequence[str],
    max_restarts: int | None,
) -> ServiceState:
    """HOST-SERVICE-ACTIVE for ``manager = "compose"``: each expected service has a container up and healthy.

    ``expected`` empty: the services seen (at least one container must exist). A service's container
    without a healthcheck counts when running; one with a healthcheck must be healthy.
    """
    try:
        containers = compose_containers(host, cli, project)
    except DockerError as err:
        return ServiceState(False, str(err))
    if not containers:
        return ServiceState(False, f"no container of compose project {project}")
    services = list(expected) or sorted({c.service or c.name for c in containers})
    down = []
    for service in services:
        mine = [c for c in containers if c.service == service]
        if not mine:
            down.append(f"{service}: no container")
            continue
        for c in mine:
            problems = c.problems(require_healthy=False, max_restarts=max_restarts, image=None)
            if problems:
                down.append(f"{service} ({c.name}): {'; '.join(problems)}")
    if down:
        return ServiceState(False, f"compose project {project}: {' | '.join(down)}")
    return ServiceState(
        True, f"compose project {project}: {len(services)} services up ({', '.join(services)})"
    )


# ---------------------------------------------------------------------------- memory (HOST-PROCESS-MEMORY)

_UNITS = {
    "b": 1,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
}
_SIZE = re.compile(r"^\s*([0-9.]+)\s*([A-Za-z]*)\s*$")


def _bytes(text: str) -> int | None:
    match = _SIZE.match(text)
    if not match:
        return None
    factor = _UNITS.get(match.group(2).lower() or "b")
    return int(float(match.group(1)) * factor) if factor else None


def parse_mem_usage(text: str) -> tuple[int, int] | None:
    """``docker stats``' MemUsage column ("12.5MiB / 128MiB") as (used, limit) bytes."""
    used, sep, limit = text.partition("/")
    if not sep:
        return None
    u, lim = _bytes(used), _bytes(limit)
    return (u, lim) if u is not None and lim is not None else None


@dataclass(frozen=True)
class ContainerMemory:
    """A container's memory use against its limit (``docker stats --no-stream``), or why it is unknown."""

    name: str
    used_bytes: int | None = None
    limit_bytes: int | None = None  # None: the container has no memory limit
    error: str | None = None

    @property
    def used_pct(self) -> float | None:
        """Use as a percentage of the limit."""
        if self.used_bytes is None or not self.limit_bytes:
            return None
        return 100.0 * self.used_bytes / self.limit_bytes

    @property
    def described(self) -> str:
        """For messages: "shop-worker 104.2 MiB of 128.0 MiB (81.4 %)"."""
        if self.error:
            return f"{self.name}: {self.error}"
        used = (self.used_bytes or 0) / 2**20
        if self.limit_bytes is None:
            return f"{self.name} {used:.1f} MiB, no memory limit"
        return f"{self.name} {used:.1f} MiB of {self.limit_bytes / 2**20:.1f} MiB ({self.used_pct:.1f} %)"


def container_memory(host: Runner, cli: Sequence[str], names: Sequence[str]) -> list[ContainerMemory]:
    """Memory use and limit of running containers; a container without a limit has ``limit_bytes`` None."""
    if not names:
        return []
    try:
        states = {s.name: s for s in _inspect(host, cli, names)}
        text = docker(host, cli, "stats", "--no-stream", "--format", "{{json .}}", *names)
    except DockerError as err:
        return [ContainerMemory(n, error=str(err)) for n in names]
    seen: dict[str, ContainerMemory] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        name = str(row.get("Name", ""))
        parsed = parse_mem_usage(str(row.get("MemUsage", "")))
        if parsed is None:
            seen[name] = ContainerMemory(name, error=f"unreadable MemUsage {row.get('MemUsage')!r}")
            continue
        state = states.get(name)
        # Without a limit, docker stats shows the host's memory as the "limit": that is no limit at all.
        limit = state.memory_limit if state is not None and state.memory_limit else None
        seen[name] = ContainerMemory(name, parsed[0], limit)
    return [seen.get(n) or ContainerMemory(n, error="not running (docker stats has no row)") for n in names]


# ---------------------------------------------------------------------------- logs (HOST-LOG-ERRORS)


@dataclass(frozen=True)
class ContainerLogErrors:
    """Lines of a container's log matching the error pattern within the window, or why it is unreadable."""

    name: str
    window_minutes: float
    matches: int = 0
    lines: int = 0
    examples: tuple[str, ...] = ()
    error: str | None = None


def container_log_errors(
    host: Runner, cli: Sequence[str], name: str, pattern: str, *, window_minutes: float
) -> ContainerLogErrors:
    """``docker logs --since <window>`` (stdout and stderr of the container) scanned for ``pattern``."""
    since = f"{max(1, round(window_minutes * 60))}s"
    argv = ["timeout", "-k", "2", f"{DEADLINE_S:g}", *cli, "logs", "--timestamps", "--since", since, name]
    # docker logs writes the container's stderr on its own stderr: both are the log.
    out = host.run(" ".join(["%s"] * len(argv)) + " 2>&1", *argv)
    if out.rc != 0:
        last = str(out.stdout).strip().splitlines()
        why = "no answer in time" if out.rc in (124, 137) else f"exit {out.rc}: {last[-1] if last else ''}"
        return ContainerLogErrors(name, window_minutes, error=f"docker logs {name}: {why}")
    regex = re.compile(pattern)
    lines = str(out.stdout).splitlines()
    hits = [line for line in lines if regex.search(line)]
    examples = tuple(_strip_stamp(h)[:200] for h in hits[-3:])
    return ContainerLogErrors(name, window_minutes, len(hits), len(lines), examples)


def _strip_stamp(line: str) -> str:
    """Drop docker's RFC 3339 timestamp (added by --timestamps) when the line has its own."""
    stamp, _, rest = line.partition(" ")
    try:
        datetime.fromisoformat(stamp.replace("Z", "+00:00")[:26])
    except ValueError:
        return line
    return rest
