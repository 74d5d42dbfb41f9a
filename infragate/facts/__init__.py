"""The fact registry: one table from a fact's name to the binding that turns an inventory entry into a
probe call (pytest-testinfra's ``modules`` table, served by ``Host.__getattr__``).

A binding is a plain function ``(ctx, entry, *args) -> result`` registered with ``@fact``. It reads the
entry's settings (URL, trust, secrets) and calls a probe with the run's timeouts; it never asserts and
never caches: the pytest side (``fixtures/facts.py``) caches each ``(name, *args)`` once per session and
keeps the fail-fast memory of unreachable endpoints. A new fact is one function in the area's module.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from testinfra.host import Host as Machine

    from infragate.inventory import Host, Target
    from infragate.probes._base import Timeout
    from infragate.probes.exchange import Outgoing
    from infragate.probes.http import HttpAnswer

__all__ = [
    "FACTS",
    "Context",
    "Fact",
    "endpoint_of",
    "fact",
    "load_all",
    "machine_for",
    "transport_options",
    "url_endpoint",
]


F = TypeVar("F", bound=Callable[..., Any])
Endpoint = tuple[str, int]


class Context(Protocol):
    """What a binding may use: the target, its timeouts and trust, other facts, and the host the current
    test reads (``host``: its [[hosts]] entry, None on a target without hosts) through ``machine()``."""

    @property
    def target(self) -> Target: ...

    @property
    def timeout(self) -> Timeout: ...

    def trust(self, entry: object) -> Path | None: ...

    def get(self, name: str, *args: Any, **kwargs: Any) -> Any: ...

    def send(self, out: Outgoing, entry: object) -> HttpAnswer:
        """One HTTP exchange with ``entry``'s trust, under the same fail-fast memory as facts: a binding
        that sends several requests (a login burst, defaults tried on every [[auth]]) never waits on an
        endpoint already found dead."""
        ...

    def machine(self) -> Machine: ...

    @property
    def host(self) -> Host | None: ...

    @property
    def run_started(self) -> datetime: ...


@dataclass(frozen=True)
class Fact:
    """A registered binding and how to find the endpoint it talks to (None: host-side, no fail-fast)."""

    name: str
    func: Callable[..., Any]
    endpoint: Callable[..., Endpoint | None]
    doc: str


FACTS: dict[str, Fact] = {}


def url_endpoint(url: str) -> Endpoint:
    """Host and port a URL connects to (scheme default port when none is written)."""
    parts = urlsplit(url)
    default = 443 if parts.scheme in ("https", "wss") else 80
    return parts.hostname or "", parts.port or default


def endpoint_of(entry: Any, *_: Any) -> Endpoint | None:
    """The host and port an entry's probes connect to: its ``url`` (or ``base_url``), else host/port."""
    url = getattr(entry, "url", None) or getattr(entry, "base_url", None)
    if isinstance(url, str) and url:
        return url_endpoint(url)
    host, port = getattr(entry, "host", None), getattr(entry, "port", None)
    if isinstance(host, str) and isinstance(port, int):
        return host, port
    return None


def host_side(*_: Any) -> Endpoint | None:
    """For facts read on the machine (files, processes): no network endpoint to remember."""
    return None


def fact(
    name: str | None = None, *, endpoint: Callable[..., Endpoint | None] = endpoint_of
) -> Callable[[F], F]:
    """Register a binding under ``name`` (default: the function's name)."""

    def register(func: F) -> F:
        key = name or func.__name__
        if key in FACTS:
            raise ValueError(f"fact {key!r} registered twice")
        doc = (func.__doc__ or key).strip().splitlines()[0]
        FACTS[key] = Fact(key, func, endpoint, doc)
        return func

    return register


def load_all() -> dict[str, Fact]:
    """Import every area module of this package so its bindings are registered; returns the table.

    Every module here is an area (net, service, datastores, ...), and a probe module may register its
    own binding beside the probe (``infragate/probes/access_log.py``): a new check then needs no list to
    join, only the probe module.
    """
    from infragate import probes

    for package in (__name__, probes.__name__):
        path = importlib.import_module(package).__path__
        for module in pkgutil.iter_modules(path):
            importlib.import_module(f"{package}.{module.name}")
    return FACTS


# Backends that run the system's ssh client, which reuses one connection per host through a ControlPath.
_SSH_CLIENT = ("ssh", "safe-ssh")


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
        options["controlpath"] = str(control_dir / f"cm-{digest}")
    return options


def machine_for(host: Host | None, *, connect_timeout: float, control_dir: Path) -> Machine:
    """A testinfra host for a [[hosts]] entry (``local://`` when there is none)."""
    import testinfra

    if host is None:
        return testinfra.get_host("local://")
    options = transport_options(host, connect_timeout=connect_timeout, control_dir=control_dir)
    if "controlpath" in options:
        control_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return testinfra.get_host(host.transport, **options)
