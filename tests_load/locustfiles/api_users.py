"""LOAD-HTTP-API: a weighted mix of API calls from the inventory (runbook 004's baselines)."""

from __future__ import annotations

from _infragate import ScenarioHttpUser


class ApiMixUser(ScenarioHttpUser):
    """An API client: weighted requests, dynamic URLs grouped under their declared name."""

    checks = ("LOAD-HTTP-API",)
