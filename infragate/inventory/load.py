"""Load profiles: Locust scenarios and their SLOs (infragate.loadrun)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from infragate.inventory._validate import HttpUrl, LocalFile, Secret, WsUrl

__all__ = ["Load", "LoadRequest", "LoadScenario", "LoadWebSocket"]


@dataclass(frozen=True)
class LoadRequest:
    """One weighted request of an HTTP load mix; ``path`` is relative to the scenario's base URL.

    ``{a..b}`` in the path becomes a random integer in that range (dynamic URLs); ``group`` is the line
    Locust's statistics file them under (Locust's ``name=``), the path by default.
    """

    path: str
    method: Literal["GET", "POST", "PUT", "DELETE", "PATCH"] = "GET"
    weight: int = 1
    group: str | None = None
    json: Mapping[str, Any] | None = None
    auth: bool = False


@dataclass(frozen=True)
class LoadScenario:
    """An HTTP load scenario; unset numbers come from the catalog's thresholds of its check.

    ``pacing_s`` makes each user start one task every so many seconds (Locust's ``constant_pacing``):
    400 users paced at 1 s offer 400 req/s whatever the latency. Unset, users loop without waiting,
    which measures the most the generator can push rather than a given number of users.
    """

    name: str
    check: Literal["LOAD-HTTP-HEALTH", "LOAD-HTTP-API", "LOAD-AUTH-FLOW", "LOAD-LLM-CHAT"]
    base_url: HttpUrl
    requests: tuple[LoadRequest, ...] = ()
    users: int | None = None
    spawn_rate: float | None = None
    duration_s: float | None = None
    processes: int | None = None
    pacing_s: float | None = None
    timeout_s: float = 60.0
    max_error_ratio: float | None = None
    max_avg_ms: float | None = None
    max_p50_ms: float | None = None
    max_p95_ms: float | None = None
    max_p99_ms: float | None = None
    min_rps: float | None = None
    login_path: str = "/auth/login"
    refresh_path: str = "/auth/refresh"
    refresh_every: int = 10
    username: str | None = None
    password_env: Secret | None = None
    ca_bundle: LocalFile | None = None


@dataclass(frozen=True)
class LoadWebSocket:
    """A WebSocket load scenario: sessions opened through the proxy, exchanging messages, held.

    With ``token_url`` set, each generator process logs in once (``username`` / ``password_env``) and
    every session connects with ``?<token_param>=<access token>``.
    """

    name: str
    url: WsUrl
    sessions: int | None = None
    spawn_rate: float | None = None
    hold_s: float | None = None
    processes: int | None = None
    message: str = "ping"
    message_interval_s: float = 2.0
    timeout_s: float = 10.0
    max_failed_handshakes: int | None = None
    max_message_p95_ms: float | None = None
    min_sessions_held: int | None = None
    token_url: HttpUrl | None = None
    token_param: str = "token"
    username: str | None = None
    password_env: Secret | None = None
    ca_bundle: LocalFile | None = None


@dataclass(frozen=True)
class Load:
    """Load profile of a target, bounded by its own caps.

    A run is a regression when its p95 exceeds the median p95 of the previous comparable runs (same
    scenario and profile, at most ``regression_window`` of them, at least ``regression_min_runs``) by
    more than ``regression_margin`` (a fraction) and by more than ``regression_min_delta_ms``.
    A run whose generator process averaged more than ``generator_cpu_limit_pct`` of a core over 5 s
    is an error: its figures describe the generator (Locust's own warning threshold is 90 %).
    """

    max_users: int = 1000
    max_duration_s: float = 120.0
    generator_cpu_limit_pct: float = 90.0
    regression_margin: float = 0.25
    regression_fails: bool = False
    regression_min_runs: int = 3
    regression_window: int = 20
    regression_min_delta_ms: float = 5.0
    http: tuple[LoadScenario, ...] = ()
    auth: tuple[LoadScenario, ...] = ()
    llm: tuple[LoadScenario, ...] = ()
    websocket: tuple[LoadWebSocket, ...] = ()
