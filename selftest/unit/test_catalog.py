"""The project's catalog is complete and every check marker in the suites names one of its ids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from infragate.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "catalog.yaml"


def test_catalog_has_every_id_once() -> None:
    catalog = load_catalog()
    assert len(catalog) == 107 and len({c.id for c in catalog}) == 107


def test_catalog_keeps_the_shared_ids() -> None:
    if not SHARED.exists():
        pytest.skip("../shared is not beside this checkout")
    shared = {c["id"] for c in yaml.safe_load(SHARED.read_text())["checks"]}
    assert shared == set(load_catalog().checks)


def test_thresholds_are_typed_values() -> None:
    for check in load_catalog():
        for key, value in check.thresholds.items():
            # a scalar, a list of scalars (healthy words) or a table of texts (debug-page signatures)
            if isinstance(value, list):
                assert all(isinstance(v, (int, float, str)) for v in value), f"{check.id}.{key}"
            elif isinstance(value, dict):
                assert all(isinstance(v, str) for v in value.values()), f"{check.id}.{key}"
            else:
                assert isinstance(value, (int, float, str)), f"{check.id}.{key}"


def test_every_check_has_a_generic_hint() -> None:
    # A hint is the remedy printed under every failure, on any system: it must exist (the fallback
    # "see runbook <first seed>" sent on-call to one seed system's section) and name no seed section.
    for check in load_catalog():
        assert check.hint and check.hint.strip(), f"{check.id}: no hint"
        assert "runbook 0" not in check.hint and "§" not in check.hint, f"{check.id}: {check.hint}"


def test_every_marker_names_a_catalog_id() -> None:
    catalog = load_catalog()
    for folder in ("tests_infra", "tests_load"):
        for path in (ROOT / folder).rglob("test_*.py"):
            for check_id in re.findall(r"check\(\s*[\"']([A-Z0-9-]+)[\"']", path.read_text()):
                assert check_id in catalog, f"{path.name}: {check_id}"
