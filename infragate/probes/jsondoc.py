"""Reading JSON answers the way an inventory describes them: health components, assertions, versions.

Every path is JMESPath (``infragate.jsonpath``). These functions only read a decoded document and say
what they found; the tests decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from infragate.jsonpath import MISSING, search

__all__ = [
    "HEALTHY_WORDS",
    "HealthReport",
    "JsonAssertion",
    "assertion_problem",
    "describe_assertion",
    "health_report",
    "search",
    "version_of",
]

# What health documents written with common frameworks call a healthy component.
HEALTHY_WORDS = ("ok", "healthy", "up", "pass", "connected")


class JsonAssertion(Protocol):
    """What an inventory's ``json_asserts`` entry declares (see infragate.inventory)."""

    path: str
    equals: Any
    contains: Any
    min_count: int | None


@dataclass(frozen=True)
class HealthReport:
    """Components of a detailed health document that are not healthy, and the overall status field."""

    unhealthy: tuple[str, ...]
    overall: str


def health_report(
    doc: Any, components: tuple[str, ...], *, status_path: str = "components.{name}.status"
) -> HealthReport:
    """Which ``components`` have no healthy status at ``status_path`` (``{name}`` is the component)."""
    unhealthy = []
    for name in components:
        path = status_path.format(name=name)
        status = search(doc, path)
        if str(status).lower() not in HEALTHY_WORDS:
            error = search(doc, path.rsplit(".", 1)[0] + ".error") if "." in path else MISSING
            shown = "missing" if status is MISSING else repr(status)
            unhealthy.append(f"{name} {shown}" + ("" if error is MISSING else f" ({error})"))
    overall = search(doc, "status")
    return HealthReport(tuple(unhealthy), "missing" if overall is MISSING else str(overall))


def describe_assertion(assertion: JsonAssertion) -> str:
    """The assertion in words (``items exists, count >= 1``)."""
    parts = [f"{assertion.path or '@'} exists"]
    if assertion.equals is not None:
        parts.append(f"equals {assertion.equals!r}")
    if assertion.contains is not None:
        parts.append(f"contains {assertion.contains!r}")
    if assertion.min_count is not None:
        parts.append(f"count >= {assertion.min_count}")
    return ", ".join(parts)


def assertion_problem(doc: Any, assertion: JsonAssertion) -> str | None:
    """What the document breaks of ``assertion`` (None: it holds)."""
    value = search(doc, assertion.path)
    if value is MISSING:
        return f"{assertion.path or '@'} missing"
    if assertion.equals is not None and value != assertion.equals:
        return f"value {value!r}"
    if assertion.contains is not None and (
        not isinstance(value, (list, str, dict)) or assertion.contains not in value
    ):
        return f"{str(value)[:120]!r} without {assertion.contains!r}"
    if assertion.min_count is not None:
        count = len(value) if isinstance(value, (list, dict, str)) else 0
        if count < assertion.min_count:
            return f"count {count}"
    return None


def version_of(doc: Any, headers: Any, field: str) -> str | None:
    """The deployed version: ``field`` of the JSON answer, else the ``X-App-Version`` header."""
    value = search(doc, field) if doc is not None else MISSING
    if value is MISSING:
        value = headers.get("x-app-version", MISSING)
    return None if value is MISSING else str(value)
