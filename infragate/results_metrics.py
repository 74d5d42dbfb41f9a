"""A run's results as Prometheus metrics: the text file node_exporter's textfile collector reads, or a push
to a Pushgateway. Library side (no pytest): fixtures/metrics.py feeds it the run's outcomes.

Series (every one labelled ``target``):

- ``infragate_check_status{check, entry, severity, state}``: 1 passed, 0 failed or blocked (``state`` says
  which), -1 did not run (``state`` is ``not_applicable`` or ``skipped``). Alert on ``== 0``.
- ``infragate_gate_open``: 1 when no critical check failed (the deploy gate is open), 0 when it is closed.
- ``infragate_checks{state}``: how many results of each state.
- ``infragate_run_duration_seconds`` and ``infragate_run_timestamp_seconds`` (when the run ended, Unix
  time: ``time() - infragate_run_timestamp_seconds`` tells a schedule that stopped running).
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from prometheus_client import CollectorRegistry, Gauge, delete_from_gateway, push_to_gateway
from prometheus_client.exposition import default_handler, generate_latest, write_to_textfile

__all__ = [
    "JOB",
    "STATE_VALUES",
    "CheckResult",
    "RunResults",
    "delete",
    "exposition",
    "merge",
    "push",
    "redact_url",
    "registry",
    "url_problem",
    "write_textfile",
]

# The Pushgateway job; the grouping key adds target=NAME, so each target's group is replaced by its own
# next run and never by another target's.
JOB = "infragate"
STATE_VALUES: dict[str, float] = {
    "passed": 1.0,
    "failed": 0.0,
    "blocked": 0.0,
    "not_applicable": -1.0,
    "skipped": -1.0,
}
# When one check id has several tests on one entry, the entry's state is the worst of them.
_WORST_FIRST = ("failed", "blocked", "passed", "skipped", "not_applicable")


@dataclass(frozen=True)
class CheckResult:
    """One check on one inventory entry: its catalog id and severity, the entry ("" for a whole target)."""

    check: str
    severity: str
    entry: str
    state: str

    def __post_init__(self) -> None:
        if self.state not in STATE_VALUES:
            raise ValueError(f"unknown state {self.state!r}: one of {', '.join(STATE_VALUES)}")


@dataclass(frozen=True)
class RunResults:
    """What one run says about one target, ready to export."""

    target: str
    checks: tuple[CheckResult, ...]
    gate_open: bool
    duration_s: float
    finished_at: float  # Unix time


def merge(results: Iterable[CheckResult]) -> list[CheckResult]:
    """One result per (check, entry), the worst state winning; sorted for a stable file."""
    by_key: dict[tuple[str, str], CheckResult] = {}
    for result in results:
        key = (result.check, result.entry)
        seen = by_key.get(key)
        if seen is None or _WORST_FIRST.index(result.state) < _WORST_FIRST.index(seen.state):
            by_key[key] = result
    return [by_key[key] for key in sorted(by_key)]


def registry(run: RunResults) -> CollectorRegistry:
    """A registry of its own (never the process-global one) holding the run's series."""
    reg = CollectorRegistry(auto_describe=True)
    status = Gauge(
        "infragate_check_status",
        "infragate check result: 1 passed, 0 failed or blocked (see state), -1 not run "
        "(not_applicable, skipped)",
        ["target", "check", "entry", "severity", "state"],
        registry=reg,
    )
    checks = merge(run.checks)
    for one in checks:
        status.labels(run.target, one.check, one.entry, one.severity, one.state).set(STATE_VALUES[one.state])
    counts = Gauge("infragate_checks", "infragate check results by state", ["target", "state"], registry=reg)
    by_state = Counter(one.state for one in checks)
    for state in STATE_VALUES:
        counts.labels(run.target, state).set(by_state.get(state, 0))
    gate = Gauge(
        "infragate_gate_open",
        "1 when no critical check failed or was blocked (the deploy gate is open), 0 when it is closed",
        ["target"],
        registry=reg,
    )
    gate.labels(run.target).set(1 if run.gate_open else 0)
    duration = Gauge(
        "infragate_run_duration_seconds", "how long the infragate run took", ["target"], registry=reg
    )
    duration.labels(run.target).set(run.duration_s)
    finished = Gauge(
        "infragate_run_timestamp_seconds", "when the infragate run ended, Unix time", ["target"], registry=reg
    )
    finished.labels(run.target).set(run.finished_at)
    return reg


def exposition(run: RunResults) -> str:
    """The Prometheus text format of the run."""
    return generate_latest(registry(run)).decode()


def write_textfile(path: Path, run: RunResults) -> None:
    """Write PATH for node_exporter's textfile collector: a temporary file beside it, then rename(2).

    The collector may read the directory at any moment; the rename means it sees the old file or the
    new one, never half of one (prometheus_client's write_to_textfile does exactly this).
    """
    write_to_textfile(os.fspath(path), registry(run))


def url_problem(url: str) -> str | None:
    """Why URL cannot be a Pushgateway address, or None when it can."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "expected http(s)://HOST[:PORT], the Pushgateway's base URL"
    if port == 0:
        return "port 0 is not a port"
    if parts.query or parts.fragment:
        return "no query or fragment: the base URL only (the job and target are added)"
    return None


def redact_url(url: str) -> str:
    """URL without its user and password, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    # From the netloc's text, not .hostname/.port: an invalid port must not hide the redaction.
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _gateway(url: str) -> tuple[str, Callable[..., Callable[[], None]]]:
    """(URL without credentials, urllib handler sending them as HTTP basic auth, if any)."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, default_handler
    # urllib would take "user:password@host" for a host name; send the credentials as a header instead.
    token = base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()).decode()

    def handler(
        url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
    ) -> Callable[[], None]:
        return default_handler(url, method, timeout, [*headers, ("Authorization", f"Basic {token}")], data)

    return redact_url(url), handler


def push(url: str, run: RunResults, *, timeout: float, job: str = JOB) -> None:
    """PUT the run to the Pushgateway as group {job, target}: it replaces that target's previous run.

    Raises OSError (unreachable, timed out, refused by the gateway) and leaves retrying to the schedule.
    """
    gateway, handler = _gateway(url)
    push_to_gateway(
        gateway, job, registry(run), grouping_key={"target": run.target}, timeout=timeout, handler=handler
    )


def delete(url: str, *, target: str, timeout: float, job: str = JOB) -> None:
    """Delete the group {job, target} (a retired target, or a test cleaning up after itself)."""
    gateway, handler = _gateway(url)
    delete_from_gateway(gateway, job, grouping_key={"target": target}, timeout=timeout, handler=handler)
