"""LOAD-HTTP-HEALTH: many concurrent users on the health endpoint (runbook 002's `wrk -c400 /health`)."""

from __future__ import annotations

from _infragate import ScenarioHttpUser


class HealthUser(ScenarioHttpUser):
    """A monitoring client polling the health endpoint (paced by the scenario's pacing_s)."""

    checks = ("LOAD-HTTP-HEALTH",)
