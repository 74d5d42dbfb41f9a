"""infragate: runbook checks as tests against live targets (library layer: no pytest, no locust)."""

from __future__ import annotations

__version__ = "0.1.0"
