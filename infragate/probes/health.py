"""Health documents as the inventory describes them: each component's status at its own JMESPath.

Flat (``{"database": "connected"}``) and nested (``{"checks": {"db": {"status": "up"}}}``) documents are
read the same way: the inventory names the path of each component's status and the values that mean
healthy. These functions only read a decoded document and say what they found; the tests decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infragate.jsonpath import MISSING, search

__all__ = ["ComponentReport", "components_report", "status_word"]


@dataclass(frozen=True)
class ComponentReport:
    """What a detailed health document says: ``unhealthy`` lists ``name value`` for each failing one."""

    unhealthy: tuple[str, ...]
    healthy: tuple[str, ...]
    overall: str


def _error_beside(doc: Any, path: str) -> Any:
    # A nested status usually has its reason beside it (checks.db.error next to checks.db.status).
    parent, dot, _ = path.rpartition(".")
    return search(doc, f"{parent}.error") if dot else MISSING


def components_report(doc: Any, paths: Mapping[str, str], healthy_values: Iterable[str]) -> ComponentReport:
    """Which components have a status (at their path) outside ``healthy_values`` (case-insensitive)."""
    healthy_set = {str(v).lower() for v in healthy_values}
    bad: list[str] = []
    good: list[str] = []
    for name, path in paths.items():
        value = search(doc, path)
        if value is not MISSING and str(value).lower() in healthy_set:
            good.append(name)
            continue
        shown = "missing" if value is MISSING else repr(value)
        error = _error_beside(doc, path)
        bad.append(f"{name} {shown} at {path}" + ("" if error is MISSING else f" ({error})"))
    overall = search(doc, "status")
    return ComponentReport(tuple(bad), tuple(good), "missing" if overall is MISSING else str(overall))


def status_word(doc: Any, unhealthy_values: Iterable[str]) -> str | None:
    """The document's own top-level ``status`` when it is one of ``unhealthy_values`` (a page answering
    200 ``{"status": "unhealthy"}``), else None."""
    value = search(doc, "status") if isinstance(doc, dict) else MISSING
    if isinstance(value, str) and value.lower() in {str(v).lower() for v in unhealthy_values}:
        return value
    return None
