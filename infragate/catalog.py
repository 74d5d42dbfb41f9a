"""The check catalog: every check the runbooks document, loaded from the project's own copy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml

from infragate.diagnostics import Diagnostic, DiagnosticError, parse_diagnostics

__all__ = ["CATALOG_PATH", "Catalog", "Check", "load_catalog"]

CATALOG_PATH = Path(__file__).with_name("catalog.yaml")

Mode = Literal["read-only", "intrusive", "load"]
Severity = Literal["critical", "warning"]


@dataclass(frozen=True)
class Check:
    """One catalog entry: what to verify, on which component, and the runbook's remedy."""

    id: str
    component: str
    verify: str
    seeds: tuple[str, ...] = ()
    default: str | None = None
    hint: str | None = None
    mode: Mode = "read-only"
    severity: Severity = "warning"
    thresholds: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # What to look at when the check fails (catalog ``diagnostics``, infragate/diagnostics.py): kinds from
    # a read-only allow-list, run only on failure, attached to the JUnit testcase and the report.
    diagnostics: tuple[Diagnostic, ...] = ()
    # Prerequisite check ids (catalog ``requires``): when one of them failed in the same run on the same
    # endpoint (host:port) or inventory entry, a failure of this check is "blocked by" it, not a cause
    # of its own (infragate/prereqs.py).
    requires: tuple[str, ...] = ()
    # Prerequisites anywhere on the target (catalog ``requires_any``): for a check whose one entry spans
    # the others' (SEC-DEFAULT-SECRETS re-signs every [[auth]] entry's real token), a failure of one of
    # these on any entry of the same target blocks it.
    requires_any: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    """All checks, by id, in catalog order."""

    checks: Mapping[str, Check]

    def __contains__(self, check_id: object) -> bool:
        return check_id in self.checks

    def __getitem__(self, check_id: str) -> Check:
        return self.checks[check_id]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.checks.values())

    def __len__(self) -> int:
        return len(self.checks)


class CatalogError(ValueError):
    """The catalog file is malformed."""


def _diagnostics(raw: Any, where: str) -> tuple[Diagnostic, ...]:
    try:
        return parse_diagnostics(raw, where)
    except DiagnosticError as exc:
        raise CatalogError(str(exc)) from None


def _check(raw: Mapping[str, Any], where: str) -> Check:
    known = {
        "id",
        "component",
        "seeds",
        "verify",
        "default",
        "hint",
        "mode",
        "severity",
        "thresholds",
        "requires",
        "requires_any",
        "diagnostics",
    }
    unknown = set(raw) - known
    if unknown:
        raise CatalogError(f"{where}: unknown keys {sorted(unknown)}")
    mode = raw.get("mode", "read-only")
    severity = raw.get("severity", "warning")
    if mode not in ("read-only", "intrusive", "load"):
        raise CatalogError(f"{where}: mode {mode!r} is not read-only, intrusive or load")
    if severity not in ("critical", "warning"):
        raise CatalogError(f"{where}: severity {severity!r} is not critical or warning")
    return Check(
        id=str(raw["id"]),
        component=str(raw["component"]),
        verify=str(raw["verify"]),
        seeds=tuple(raw.get("seeds") or ()),
        default=None if raw.get("default") is None else str(raw["default"]),
        hint=raw.get("hint"),
        mode=mode,
        severity=severity,
        thresholds=MappingProxyType(dict(raw.get("thresholds") or {})),
        diagnostics=_diagnostics(raw.get("diagnostics"), where),
        requires=tuple(str(r) for r in raw.get("requires") or ()),
        requires_any=tuple(str(r) for r in raw.get("requires_any") or ()),
    )


def _check_requires(checks: Mapping[str, Check], path: Path) -> None:
    """Every ``requires`` (and ``requires_any``) id exists, and the prerequisite graph has no cycle (a
    root must exist)."""
    for check in checks.values():
        unknown = [r for r in (*check.requires, *check.requires_any) if r not in checks]
        if unknown:
            raise CatalogError(f"{path}: {check.id}: requires unknown ids {unknown}")
    done: set[str] = set()

    def visit(check_id: str, path_ids: tuple[str, ...]) -> None:
        if check_id in path_ids:
            raise CatalogError(f"{path}: requires cycle {' -> '.join((*path_ids, check_id))}")
        if check_id in done:
            return
        for required in (*checks[check_id].requires, *checks[check_id].requires_any):
            visit(required, (*path_ids, check_id))
        done.add(check_id)

    for check_id in checks:
        visit(check_id, ())


@cache
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    """Parse the catalog YAML into frozen Check objects (cached per path)."""
    text = path.read_text(encoding="utf-8")
    # libyaml's safe loader when PyYAML was built with it: the same data, about ten times faster (the
    # pure-Python parser took 0.25 s of CPU at every run's start-up, a tenth of it).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(text, Loader=loader)
    checks: dict[str, Check] = {}
    for index, raw in enumerate(data["checks"]):
        check = _check(raw, f"{path}: checks[{index}]")
        if check.id in checks:
            raise CatalogError(f"{path}: duplicate id {check.id}")
        checks[check.id] = check
    _check_requires(checks, path)
    return Catalog(MappingProxyType(checks))
