"""Shared by infragate's Locust users: where a scenario comes from, TLS trust, finer buckets, the exit gate.

Not a locustfile itself: Locust skips files starting with ``_`` when given a directory (``-f tests_load``).
A scenario reaches a user in one of two ways:

* from ``pytest tests_load`` (infragate.load): JSON in ``INFRAGATE_SCENARIO``, one scenario per run;
* exploratory, ``locust -f tests_load --target NAME``: every load scenario of ``inventory/NAME.toml``,
  each User class taking the scenarios of its check; ``--host`` still overrides the base URL.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import json
import logging
import os
import random
import re
import ssl
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import locust.stats
from locust import FastHttpUser, events, task
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.user.wait_time import constant_pacing

_REPO = Path(__file__).resolve().parents[2]
if importlib.util.find_spec("infragate") is None:
    # `locust -f tests_load` from another directory with infragate not installed: use the checkout's.
    # Under `pytest tests_load` the runner has already put the infragate it runs on our path.
    sys.path.insert(0, str(_REPO))

from infragate.catalog import load_catalog  # noqa: E402
from infragate.inventory import (  # noqa: E402
    InventoryError,
    LoadScenario,
    find_inventory,
    load_target,
    resolve_threshold,
)
from infragate.load import SCENARIO_ENV, PlanError, scenario_spec, scenarios  # noqa: E402

__all__ = [
    "ScenarioHttpUser",
    "ScenarioSource",
    "Spec",
    "client_ssl_context",
    "rebase",
    "redact",
    "scenario_source",
    "ssl_context_factory",
]

log = logging.getLogger("infragate")

# A path segment like {1..20} becomes a random integer in that range (dynamic URLs; their stats are
# grouped under the request's declared `name`, e.g. /api/items/{id}).
_RANGE = re.compile(r"\{(\d+)\.\.(\d+)\}")

Spec = Mapping[str, Any]


def _bucket_3_digits(response_time: float) -> int:
    """Round response times to 3 significant digits instead of Locust's 2 (147.4 -> 147, 1234 -> 1230).

    Locust's percentiles come from these buckets; with 2 digits a p95 of 495 ms reads as 500 ms, right
    on a typical SLO. Three digits keep the histogram small (about 3,000 keys) for distributed runs.
    """
    if response_time < 1000:
        return round(response_time)
    if response_time < 10000:
        return int(round(response_time, -1))
    if response_time < 100000:
        return int(round(response_time, -2))
    return int(round(response_time, -3))


# Locust documents this hook for custom bucketing (locust.stats.bucket_response_time); every process
# that imports a locustfile (workers too) buckets the same way.
locust.stats.bucket_response_time = _bucket_3_digits


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    """Add --target/--inventory/--scenario/--allow-load for exploratory runs from the inventory."""
    group = parser.add_argument_group("infragate", "read scenarios from an infragate inventory")
    group.add_argument(
        "--target",
        default=os.environ.get("INFRAGATE_HOST", ""),
        metavar="NAME",
        help="inventory target whose [load] scenarios to run (env INFRAGATE_HOST); --host still "
        "overrides the base URL",
    )
    group.add_argument(
        "--inventory",
        default=os.environ.get("INFRAGATE_INVENTORY", str(_REPO / "inventory")),
        metavar="DIR",
        help="directory of inventory files (env INFRAGATE_INVENTORY; default ./inventory)",
    )
    group.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="NAME",
        help="only this scenario of the target (repeatable); default: all of them",
    )
    group.add_argument(
        "--allow-load",
        action="store_true",
        default=False,
        help="allow load on a target marked sensitive in its inventory",
    )


class ScenarioSource:
    """The scenarios a run may use, by check id, and the thresholds of the exploratory exit gate."""

    def __init__(self, specs: Sequence[Spec], from_runner: bool, error_limit: float = 0.01) -> None:
        self.specs = list(specs)
        self.from_runner = from_runner
        self.error_limit = error_limit
        self._cycles: dict[str, itertools.cycle[Spec]] = {}

    def for_checks(self, checks: tuple[str, ...]) -> list[Spec]:
        """The scenarios of these checks."""
        return [s for s in self.specs if s["check"] in checks]

    def next_for(self, checks: tuple[str, ...]) -> Spec:
        """The scenario for a new user of a class: round robin over its scenarios."""
        key = ",".join(checks)
        if key not in self._cycles:
            found = self.for_checks(checks)
            if not found:
                raise RuntimeError(f"no scenario for {key}")
            self._cycles[key] = itertools.cycle(found)
        return next(self._cycles[key])


_SOURCE: ScenarioSource | None = None


def _load_source(environment: Environment) -> ScenarioSource:
    raw = os.environ.get(SCENARIO_ENV)
    if raw:
        return ScenarioSource([json.loads(raw)], from_runner=True)
    options = environment.parsed_options
    name = getattr(options, "target", "") if options is not None else ""
    if options is None or not name:
        raise SystemExit(
            "infragate: give --target NAME (an inventory under --inventory) or run through "
            "`pytest tests_load --host=NAME`"
        )
    try:
        catalog = load_catalog()
        target = load_target(find_inventory(name, Path(options.inventory)), catalog)
        if target.sensitive and not options.allow_load:
            raise SystemExit(f"infragate: target {name} is sensitive: add --allow-load to put load on it")
        wanted = set(options.scenario)
        chosen = [e for e in scenarios(target) if not wanted or e.name in wanted]
        specs = [scenario_spec(target, catalog, e) for e in chosen]
        # The exit gate: the strictest error-ratio SLO of the scenarios run, resolved as pytest does.
        limits = [
            resolve_threshold(catalog, target, e.check, "max_error_ratio", e)
            for e in chosen
            if isinstance(e, LoadScenario)
        ]
        error_limit = float(min(limits, default=0.01))
    except (InventoryError, PlanError) as exc:
        raise SystemExit(f"infragate: {exc}") from None
    if wanted - {s["name"] for s in specs}:
        raise SystemExit(f"infragate: unknown --scenario {sorted(wanted - {s['name'] for s in specs})}")
    return ScenarioSource(specs, from_runner=False, error_limit=error_limit)


def scenario_source() -> ScenarioSource:
    """The run's scenarios (set up by the init listener before any user starts)."""
    if _SOURCE is None:
        raise RuntimeError("infragate scenarios not loaded yet (init event not fired)")
    return _SOURCE


@events.init.add_listener
def _on_init(environment: Environment, **_kwargs: Any) -> None:
    """Load the scenarios; drop User classes that have none (exploratory runs of a whole directory)."""
    global _SOURCE
    _SOURCE = _load_source(environment)
    if isinstance(environment.runner, WorkerRunner) and environment.parsed_options is not None:
        # --processes gives forked workers the master's options: each would write the same JSON file
        # as the master, racing it. Only the master's (complete, merged) statistics go to the file.
        environment.parsed_options.json_file = None
    keep = [u for u in environment.user_classes if _SOURCE.for_checks(getattr(u, "checks", ()))]
    dropped = sorted({u.__name__ for u in environment.user_classes} - {u.__name__ for u in keep})
    if dropped:
        log.info("no scenario for %s in this run; not spawned", ", ".join(dropped))
    environment.user_classes[:] = keep
    if environment.available_user_classes is not None:
        for name in dropped:
            environment.available_user_classes.pop(name, None)
    if not keep:
        raise SystemExit("infragate: no User class has a scenario in this run")


@events.quitting.add_listener
def _exit_gate(environment: Environment, **_kwargs: Any) -> None:
    """Exit code: pytest judges runner-mode runs itself; exploratory runs gate on the error ratio."""
    source = _SOURCE
    if source is None or isinstance(environment.runner, WorkerRunner):
        return
    if source.from_runner:
        # infragate.load reads the JSON/CSV and judges every SLO; a non-zero exit would only mean
        # "some request failed", which the error-ratio SLO already says with its threshold.
        environment.process_exit_code = 0
        return
    ratio = environment.stats.total.fail_ratio
    environment.process_exit_code = 1 if ratio > source.error_limit else 0
    log.info(
        "error ratio %.2f%% vs SLO %.2f%% (strictest of this run's scenarios)",
        ratio * 100,
        source.error_limit * 100,
    )


@functools.cache
def client_ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """A verifying client context trusting the inventory's CA (one per CA file, shared by all sessions)."""
    # `ssl` is gevent's here (Locust patched it before importing locustfiles): sockets stay cooperative.
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()


def ssl_context_factory(ca_bundle: str | None) -> Callable[..., ssl.SSLContext]:
    """A factory for FastHttpUser.ssl_context_factory (geventhttpclient may pass its own cafile)."""
    context = client_ssl_context(ca_bundle)

    def factory(*_args: Any, **_kwargs: Any) -> ssl.SSLContext:
        return context

    return factory


def rebase(url: str, host: str | None) -> str:
    """``url`` moved onto Locust's ``--host`` (scheme mapped to ws/wss for WebSocket URLs)."""
    if not host:
        return url
    base = urlsplit(host)
    parts = urlsplit(url)
    scheme = base.scheme
    if parts.scheme in ("ws", "wss"):
        scheme = {"http": "ws", "https": "wss"}.get(base.scheme, base.scheme)
    return urlunsplit((scheme, base.netloc, parts.path, parts.query, parts.fragment))


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every secret replaced, so error lines in Locust's reports never carry one."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


# ---------------------------------------------------------------------------- HTTP users


class ScenarioHttpUser(FastHttpUser):
    """A FastHttpUser driven by an inventory scenario: a weighted request mix, optionally paced."""

    abstract = True
    checks: tuple[str, ...] = ()

    def __init__(self, environment: Environment) -> None:
        spec = scenario_source().next_for(self.checks)
        self.spec = spec
        # Locust's --host wins over the inventory (exploratory runs against another URL).
        self.host = environment.host or spec["base_url"]
        self.network_timeout = self.connection_timeout = float(spec["timeout_s"])
        if self.host.startswith("https:"):
            # FastHttpUser does not verify certificates by default; we do, against the inventory's CA.
            self.insecure = False
            self.ssl_context_factory = ssl_context_factory(spec["ca_bundle"])
        super().__init__(environment)
        self.requests: list[Spec] = list(spec["requests"])
        self.weights = [int(r["weight"]) for r in self.requests]
        self.pace = constant_pacing(float(spec["pacing_s"])) if spec.get("pacing_s") else None
        env_name = spec.get("password_env")
        self.password = os.environ.get(env_name, "") if env_name else ""
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.calls_since_refresh = 0

    def wait_time(self) -> float:
        """Constant pacing when the scenario sets pacing_s, else none (closed loop)."""
        return self.pace(self) if self.pace is not None else 0.0

    def on_start(self) -> None:
        """Log in first when any request of the mix is authenticated."""
        if any(r["auth"] for r in self.requests):
            self.login()

    def login(self) -> bool:
        """POST the credentials; keep the access and refresh tokens."""
        body = {"username": self.spec["username"], "password": self.password}
        with self.client.post(self.spec["login_path"], json=body, name="login", catch_response=True) as resp:
            return self._take_tokens(resp, "login")

    def refresh(self) -> bool:
        """Trade the refresh token for new tokens (log in again when that fails)."""
        self.calls_since_refresh = 0
        if not self.refresh_token:
            return self.login()
        body = {"refresh_token": self.refresh_token}
        with self.client.post(
            self.spec["refresh_path"], json=body, name="refresh", catch_response=True
        ) as resp:
            if self._take_tokens(resp, "refresh"):
                return True
        return self.login()

    def _take_tokens(self, resp: Any, what: str) -> bool:
        try:
            data = resp.json() if resp.status_code == 200 else None
        except ValueError:
            data = None
        if not isinstance(data, dict) or not data.get("access_token"):
            # The reason is the status line, never the body: a login body may echo what was sent.
            resp.failure(f"{what}: HTTP {resp.status_code}, no access_token")
            self.access_token = None
            return False
        self.access_token = str(data["access_token"])
        # A refresh answer without a new refresh token (no rotation) keeps the one we have.
        self.refresh_token = str(data.get("refresh_token") or "") or self.refresh_token
        resp.success()
        return True

    @task
    def mix(self) -> None:
        """One request drawn from the weighted mix."""
        # The generator's CPU per request is what a throughput run measures against wrk: no draw for one.
        only = len(self.requests) == 1
        self.call(self.requests[0] if only else random.choices(self.requests, weights=self.weights)[0])

    def call(self, request: Spec) -> None:
        """Send one request of the mix (with the bearer token when it is authenticated)."""
        headers = None
        if request["auth"]:
            if self.access_token is None and not self.login():
                return
            headers = {"Authorization": f"Bearer {self.access_token}"}
            self.calls_since_refresh += 1
        path = request["path"]
        if "{" in path:
            path = _RANGE.sub(lambda m: str(random.randint(int(m[1]), int(m[2]))), path)
        self.client.request(
            request["method"], path, name=request["name"], json=request["json"], headers=headers
        )
