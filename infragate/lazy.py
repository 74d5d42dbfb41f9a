"""Modules imported on first use: a probe's client library costs nothing until that probe runs.

Every probe module is imported at start-up (the fact registry loads them all), but a run uses only some
client libraries, and a run against a dead target almost none: fail-fast answers for the endpoint after
its first failure. psycopg, redis, python-socketio (engineio, requests) and PyJWT took about 0.5 s of
CPU to import on every run. A probe module writes, for mypy the real module and at run time the proxy:

    if TYPE_CHECKING:
        import psycopg
    else:
        psycopg = lazy_module("psycopg")

and uses it as before (``psycopg.connect``, ``except psycopg.Error``): the first attribute read imports it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["LazyModule", "lazy_module"]


class LazyModule:
    """Stands for module ``name``; the first attribute read imports it, later reads go straight to it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        # Only called for names not set on the proxy itself, i.e. the module's own attributes.
        if attr in ("_name", "_module"):  # a copy made without __init__: no recursion
            raise AttributeError(attr)
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy_module(name: str) -> Any:
    """A stand-in for ``import name`` that imports on first use (typed Any: declare the real module for
    mypy under ``TYPE_CHECKING``)."""
    return LazyModule(name)
