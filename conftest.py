"""Top-level conftest: loads infragate's pytest plugin and fixtures for every test directory."""

from __future__ import annotations

pytest_plugins = [
    "fixtures.plugin",
    "fixtures.rootcause",
    "fixtures.report",
    "fixtures.select",
    "fixtures.checks",
    "fixtures.load",
    "fixtures.timeouts",
    "fixtures.logins",
    "fixtures.htmlreport",
    "fixtures.metrics",
    "fixtures.diagnostics",
    "fixtures.hostwarm",
    "fixtures.workers",
]
