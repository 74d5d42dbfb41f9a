"""The fact registry: one table from a fact's name to the binding that turns an inventory entry into a
probe call (pytest-testinfra's ``modules`` table, served by ``Host.__getattr__``).

A binding is a plain function ``(ctx, entry, *args) -> result`` registered with ``@fact``. It reads the
entry's settings (URL, trust, secrets) and calls a probe with the run's timeouts; it never asserts and
never caches: the pytest side (``fixtures/facts.py``) caches each ``(name, *args)`` once per session and
keeps the fail-fast memory of unreachable endpoints. A new fact is one function in the area's module.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

from testinfra.host import Host as Machine

from infragate.machines import (
    AHEAD_OF_TEST,
    HostUnreachable,
    WatchedMachine,
    machine_for,
    tcp_key,
    transport_address,
    transport_endpoint,
    transport_failure,
    transport_options,
    watch,
)

if TYPE_CHECKING:
    from infragate.inventory import Host, Target
    from infragate.probes._base import Timeout
    from infragate.probes.exchange import Outgoing
    from infragate.probes.http import HttpAnswer

__all__ = [
    "AHEAD_OF_TEST",
    "FACTS",
    "Context",
    "Fact",
    "HostUnreachable",
    "WatchedMachine",
    "endpoint_of",
    "fact",
    "load_all",
    "machine_for",
    "tcp_key",
    "transport_address",
    "transport_endpoint",
    "transport_failure",
    "transport_options",
    "url_endpoint",
    "watch",
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
