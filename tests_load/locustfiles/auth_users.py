"""LOAD-AUTH-FLOW: log in, make authenticated calls, refresh the token (runbook 002 § Token JWT)."""

from __future__ import annotations

import random
import time
from typing import Any

from _infragate import ScenarioHttpUser
from locust import task


class AuthFlowUser(ScenarioHttpUser):
    """A signed-in user: login in on_start, authenticated calls, refresh before the token expires."""

    checks = ("LOAD-AUTH-FLOW",)
    expires_at: float | None = None

    def on_start(self) -> None:
        """Every session starts with a login."""
        self.login()

    @task
    def mix(self) -> None:
        """An authenticated call; every refresh_every calls (or near expiry) a refresh first."""
        expiring = self.expires_at is not None and time.monotonic() > self.expires_at
        if self.calls_since_refresh >= int(self.spec["refresh_every"]) or expiring:
            self.refresh()
        authed = [r for r in self.requests if r["auth"]] or self.requests
        self.call(random.choices(authed, weights=[int(r["weight"]) for r in authed])[0])

    def _take_tokens(self, resp: Any, what: str) -> bool:
        ok = super()._take_tokens(resp, what)
        self.expires_at = None
        if ok:
            lifetime = resp.json().get("expires_in")
            if isinstance(lifetime, (int, float)) and lifetime > 0:
                # Refresh at 80 % of the lifetime: an expired token mid-run is a 401, a real failure.
                self.expires_at = time.monotonic() + 0.8 * float(lifetime)
        return ok
