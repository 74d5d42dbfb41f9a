"""The machines host facts read: a testinfra host per ``[[hosts]]`` entry (its transport, ssh options and
ControlPath), watched for transport failures so a dead host costs one timeout per run, and run through one
long-lived shell session per ssh host (``infragate/transport.py``). Split from the fact registry
(``infragate/facts``), which re-exports these names.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import math
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from testinfra.host import Host as Machine

from infragate.bounded import bound
from infragate.transport import SessionLost, ShellSession

if TYPE_CHECKING:
    from infragate.inventory import Host

__all__ = [
    "AHEAD_OF_TEST",
    "HostUnreachable",
    "WatchedMachine",
    "machine_for",
    "missing_client",
    "tcp_key",
    "transport_address",
    "transport_endpoint",
    "transport_failure",
    "transport_options",
    "watch",
]


# Backends that run the system's ssh client, which reuses one connection per host through a ControlPath.
_SSH_CLIENT = ("ssh", "safe-ssh")


# 107 bytes of sun_path minus the ".XXXXXXXXXXXXXXXX" ssh appends while it sets the master socket up.
_MAX_CONTROL_PATH = 107 - 17


def _short_control_dir() -> Path:
    import os

    return Path(tempfile.gettempdir()) / f"infragate-ssh-{os.getuid()}"


def transport_options(host: Host, *, connect_timeout: float, control_dir: Path) -> dict[str, str]:
    """testinfra options for the host's backend beyond its URL (whose own query values win): the target's
    connect timeout (ssh, paramiko) and, for the ssh client, a ControlPath under ``control_dir``, so every
    command after the first rides one connection (testinfra asks for ControlMaster but sets no ControlPath,
    and reads none from the URL, which disables reuse: 309 ms per command instead of 92, machine.md)."""
    scheme = host.transport.partition("://")[0]
    options: dict[str, str] = {}
    if scheme in (*_SSH_CLIENT, "paramiko"):
        options["timeout"] = str(max(1, math.ceil(connect_timeout)))
    if scheme in _SSH_CLIENT:
        # A digest, not the URL: unix socket paths are limited to about 100 bytes, and testinfra formats its
        # command line with % (no %C token).
        digest = hashlib.sha256(host.transport.encode()).hexdigest()[:16]
        path = control_dir / f"cm-{digest}"
        if len(str(path)) > _MAX_CONTROL_PATH:
            # ssh binds the master at PATH plus a 17-character temporary suffix, and a unix socket path holds
            # 107 bytes: a deep run dir (a pytest tmp_path) would fail every connection ("too long for Unix
            # domain socket"), so such a host's socket lives in a short private directory instead.
            path = _short_control_dir() / f"cm-{digest}"
        options["controlpath"] = str(path)
    return options


def machine_for(host: Host | None, *, connect_timeout: float, control_dir: Path) -> Machine:
    """A testinfra host for a [[hosts]] entry (``local://`` when there is none)."""
    import testinfra

    if host is None:
        return testinfra.get_host("local://")
    options = transport_options(host, connect_timeout=connect_timeout, control_dir=control_dir)
    if "controlpath" in options:
        Path(options["controlpath"]).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return testinfra.get_host(host.transport, **options)


# -- a dead host costs one connect timeout per run ------------------------------------------------------

# docker/podman exec's own errors (the command never ran): the container or the engine is gone. Matched only
# on a docker:// or podman:// transport; a local `docker inspect` saying "No such container" is a fact.
_ENGINE_DOWN = re.compile(
    r"^(Error: No such container|Error response from daemon: (No such container|Container .* is "
    r"(not running|paused|restarting))|Cannot connect to the (Docker|Podman) daemon|error during connect)",
    re.MULTILINE,
)


class HostUnreachable(Exception):
    """The host's transport failed, not a command on it: ssh could not connect or log in (exit 255), the
    container is gone. ``first_seen`` names the test that found it, when this is a remembered failure."""

    def __init__(self, endpoint: str, error: str, first_seen: str | None = None) -> None:
        self.endpoint, self.error, self.first_seen = endpoint, error, first_seen
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line: which transport, what failed, and where it was first seen."""
        if self.first_seen is None:
            return f"{self.endpoint} unreachable: {self.error}"
        return (
            f"{self.endpoint} unreachable (first seen in {self.first_seen}): {self.error}; not retried, "
            "so this run stays fast"
        )


_LOOPBACK_NAMES = ("localhost", "::1", "[::1]")
# ssh's own words for a TCP-level failure: the address itself is dead, for ssh and for every probe.
_TCP_DEAD = re.compile(
    r"(?i)connection refused|connection timed out|timed out during banner|operation timed out|"
    r"no route to host|network is unreachable"
)


# What each testinfra backend needs on this machine: a Python package it imports, or a client program it
# runs. Without it every host check fails with the same ImportError or "not found" (a paramiko:// host gave
# one root cause per check): a usage error before any test runs instead.
_CLIENTS: dict[str, tuple[str, str]] = {
    "paramiko": ("Python package", "paramiko"),
    "ansible": ("Python package", "ansible"),
    "winrm": ("Python package", "winrm"),
    "salt": ("Python package", "salt"),
    "ssh": ("program", "ssh"),
    "safe-ssh": ("program", "ssh"),
    "docker": ("program", "docker"),
    "podman": ("program", "podman"),
    "kubectl": ("program", "kubectl"),
    "openshift": ("program", "oc"),
    "lxc": ("program", "lxc"),
    "chroot": ("program", "chroot"),
}


def missing_client(transport: str) -> str | None:
    """What this machine lacks to reach a host through ``transport`` ("the Python package paramiko"), or
    None: the backend's package imports, its client program is on PATH, or it needs neither."""
    need = _CLIENTS.get(transport.partition("://")[0])
    if need is None:
        return None
    kind, name = need
    if kind == "program":
        found = shutil.which(name) is not None
    else:
        found = importlib.util.find_spec(name) is not None
    return None if found else f"the {kind} {name}"


def tcp_key(host: str, port: int) -> str:
    """The fail-fast key of a TCP address: localhost and 127.0.0.1 are one (names are not resolved here:
    a DNS lookup could itself hang on a broken network)."""
    return f"{'127.0.0.1' if host in _LOOPBACK_NAMES else host}:{port}"


def transport_address(host: Host) -> str | None:
    """The TCP address an ssh/paramiko transport connects to (as its URL writes it), as a fail-fast key;
    None for other transports. An ssh_config alias stays a name: it never matches a probe's address."""
    parts = urlsplit(host.transport)
    if parts.scheme not in (*_SSH_CLIENT, "paramiko") or not parts.hostname:
        return None
    return tcp_key(parts.hostname, parts.port or 22)


def transport_endpoint(host: Host) -> str:
    """The host's transport as a fail-fast key and for messages: scheme, user, host and port; no query
    (an ssh_config path) and never a password (``ssh://user:pw@host``)."""
    parts = urlsplit(host.transport)
    netloc = parts.netloc.rsplit("@", 1)
    who = netloc[0].split(":", 1)[0] + "@" if len(netloc) == 2 else ""
    return f"{parts.scheme}://{who}{netloc[-1]}{parts.path}"


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.replace("\r", "").splitlines() if line.strip()]
    return ("; ".join(lines) or "no error text")[:300]


def transport_failure(scheme: str, *, error: BaseException | None = None, result: Any = None) -> str | None:
    """Why the transport itself failed (None: it worked, whatever the command did).

    ssh exits 255 on its own errors (refused, timed out, banner exchange, auth), which testinfra raises as
    a RuntimeError holding the result; paramiko raises socket or SSH errors; docker/podman exec print the
    engine's error. A remote command that itself exits 255 is indistinguishable, and rare."""
    if error is not None:
        if scheme in _SSH_CLIENT and isinstance(error, RuntimeError) and error.args:
            out = error.args[0]
            if getattr(out, "rc", None) == 255:
                return _one_line(str(getattr(out, "stderr", "")) or "ssh exited 255")
        if scheme == "paramiko" and (
            isinstance(error, (OSError, EOFError)) or type(error).__module__.startswith("paramiko")
        ):
            return _one_line(f"{type(error).__name__}: {error}")
        return None
    if scheme in ("docker", "podman") and result is not None and getattr(result, "rc", 0) != 0:
        found = _ENGINE_DOWN.search(str(getattr(result, "stderr", "")))
        if found is not None:
            return _one_line(str(result.stderr)[found.start() :])
    return None


# ``who()`` of a read made ahead of its test (fixtures/facts.py reads a host's facts in a helper thread while
# earlier tests run): a transport failure it finds is remembered under this name until the first test that
# meets the host claims it, so that test reports it (the one that "waited") and later ones name that test.
AHEAD_OF_TEST = "a read ahead of its test"


class WatchedMachine(Machine):  # type: ignore[misc]  # testinfra ships no type hints
    """A testinfra host whose transport failures are remembered for the run: the first one raises
    ``HostUnreachable`` and records ``(who(), error)`` in ``memory`` under the transport's endpoint; after
    that every command on the host raises at once (the facts' fail-fast rule, for hosts). Commands on one
    host run one at a time (a test and a read ahead of the next tests may share it)."""

    def __init__(
        self,
        machine: Machine,
        endpoint: str,
        scheme: str,
        memory: MutableMapping[str, tuple[str, str]],
        who: Callable[[], str],
        command_timeout: float | None = None,
    ) -> None:
        # The same backend: testinfra modules (``machine.file(...)``) run through this class's ``run``.
        super().__init__(machine.backend)
        self.endpoint, self.scheme, self.memory, self.who = endpoint, scheme, memory, who
        # The TCP address under the transport: a probe that found it dead (refused, blackholed) spares
        # the ssh attempt, and an ssh refused or timed out there spares the probes (same socket).
        self.address: str | None = None
        self.session = _session_for(machine.backend, command_timeout) if scheme in _SSH_CLIENT else None
        # One command at a time per host, the memory checked under it: a thread that finds the transport
        # dead makes the next one fail at once instead of opening a second ssh that waits its own timeout.
        self._lock = threading.RLock()

    def _through_session(self, session: ShellSession, command: str, *args: str) -> Any:
        backend = self.backend
        line = backend.get_command(command, *args)  # testinfra's quoting (and sudo, when asked)
        try:
            rc, out, err = session.run(line)
        except SessionLost as lost:
            # The session ended (ssh's own error, or the host went away): a transport failure, reported
            # the way testinfra's ssh backend reports one (exit 255, ssh's exit code and stderr as text).
            raise RuntimeError(backend.result(255, backend.encode(line), b"", str(lost))) from None
        return backend.result(rc, backend.encode(line), out, err)

    def warm(self) -> None:
        """Start connecting now (the next test reads this host): its handshake overlaps the current test."""
        if self.session is not None and self.endpoint not in self.memory:
            self.session.start()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """No other command of this run on the host meanwhile (a CPU sample: our own commands would count)."""
        with self._lock:
            yield

    def run(self, command: str, *args: str, **kwargs: Any) -> Any:
        """``command`` on the host, unless its transport already failed in this run."""
        with self._lock:
            return self._run(command, *args, **kwargs)

    def _run(self, command: str, *args: str, **kwargs: Any) -> Any:
        seen = self.memory.get(self.endpoint)
        if seen is None and self.address is not None:
            seen = self.memory.get(self.address)
        if seen is not None:
            if seen[0] == AHEAD_OF_TEST and self.who() != AHEAD_OF_TEST:
                self._remember(seen[1])  # found ahead of its tests: this test is the first to report it
                raise HostUnreachable(self.endpoint, seen[1])
            raise HostUnreachable(self.endpoint, seen[1], first_seen=seen[0])
        try:
            if self.session is not None and not kwargs:
                out = self._through_session(self.session, command, *args)
            else:
                out = super().run(command, *args, **kwargs)
        except Exception as exc:
            why = transport_failure(self.scheme, error=exc)
            if why is None:
                raise
            self._remember(why)
            raise HostUnreachable(self.endpoint, why) from None
        why = transport_failure(self.scheme, result=out)
        if why is not None:
            self._remember(why)
            raise HostUnreachable(self.endpoint, why)
        return out

    def _remember(self, why: str) -> None:
        who = self.who()
        if who == AHEAD_OF_TEST:
            # Found ahead of its tests: kept under the transport only (probes of the address would name no
            # test) until the first test on this host claims it.
            self.memory.setdefault(self.endpoint, (who, why))
            return
        for key in (self.endpoint, self.address if _TCP_DEAD.search(why) else None):
            if key is not None and self.memory.get(key, (AHEAD_OF_TEST,))[0] == AHEAD_OF_TEST:
                self.memory[key] = (who, why)


def _session_for(backend: Any, command_timeout: float | None = None) -> ShellSession | None:
    """One shell session per ssh host, opened by the very command line testinfra's backend builds for a
    command (``sh`` run there: ssh_config, user, port, key, ConnectTimeout, ControlPath); None when this
    testinfra version builds it otherwise (then every command is its own ssh client, as before)."""
    build = getattr(backend, "_build_ssh_command", None)
    quote = getattr(backend, "quote", None)
    if build is None or quote is None:
        return None
    cmd, cmd_args = build("sh")
    return ShellSession(quote(" ".join(cmd), *cmd_args), command_timeout)


def watch(
    machine: Machine,
    host: Host | None,
    memory: MutableMapping[str, tuple[str, str]],
    who: Callable[[], str],
    command_timeout: float | None = None,
) -> Machine:
    """``machine`` under the fail-fast memory (a local host has no transport to lose) and a deadline on
    each command: ssh hosts through their session, the other backends through ``infragate.bounded``."""
    scheme = "local" if host is None else host.transport.partition("://")[0]
    if host is None or scheme == "local":
        bound(machine.backend, command_timeout)
        return machine
    watched = WatchedMachine(machine, transport_endpoint(host), scheme, memory, who, command_timeout)
    watched.address = transport_address(host)
    if watched.session is None:
        # docker, podman, kubectl, paramiko...: no session of ours, so the deadline goes on the backend.
        bound(machine.backend, command_timeout)
    return watched
