"""Fault actions keyed by the names in faults.toml: apply and heal, both idempotent, both return when live.

`heal` returns once the stack has settled, not merely once the fault's own effect is gone: when no other
fault remains active it also waits (polling to a deadline) until the service's detailed health is ok,
every Prometheus target is up and no critical alert fires in Prometheus or Alertmanager. Otherwise the
first run after a heal could still see, say, the ServiceDown alert that service-stopped raised.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import shutil
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stack import config, probes, proc, tls
from stack.layout import PACKAGE_DIR
from stack.parts import Context, NginxPart, Part, PartError, ServicePart, make_parts

CATALOG_FILE = PACKAGE_DIR / "faults.toml"
# Later areas of checks add their faults as data in faults.d/<area>.toml and their actions in
# stack/fault_actions/<area>.py (a module-level ACTIONS dict), so no two areas edit one file.
EXTRA_CATALOG_DIR = PACKAGE_DIR / "faults.d"
LIVE_TIMEOUT = 30.0
# A stopped service's ServiceDown alert resolves within one scrape (5 s), one evaluation (5 s) and one
# resend (1 s) of its return; a restarted Prometheus scrapes within 5 s. The deadline leaves room for a
# busy machine, and a heal that misses it says what has not settled.
SETTLE_TIMEOUT = 60.0
# After a fault that restarts a part, how long to wait for Prometheus's next good scrape of every target.
SCRAPE_AFTER_APPLY_S = 20.0
FAULT_KEYS = {"name", "description", "expect_fail", "breaks", "message", "messages", "root"}
CERT_NOT_RELOADED = "cert-not-reloaded"
ALLOWED_ORIGIN = "https://app.example.test"
FOREIGN_ORIGIN = "https://evil.example.test"


class FaultError(RuntimeError):
    """A fault could not be applied or healed (unknown name, stack not up, effect not observable)."""


@dataclass(frozen=True)
class Fault:
    """One entry of faults.toml: what it breaks and which checks must fail, with which words."""

    name: str
    description: str
    expect_fail: tuple[str, ...]
    # Parts of inventory/local.toml it breaks (selectors of fixtures/select.py); the collateral, the
    # checks that may fail besides expect_fail, is derived from them, never listed.
    breaks: tuple[str, ...]
    message: str
    messages: Mapping[str, str] = field(default_factory=dict)
    # The check id the run's summary names first as the root cause (issue 13; selftest/e2e/test_faults.py).
    root: str | None = None

    def message_for(self, check_id: str) -> str:
        """The word a failure of ``check_id`` must contain under this fault."""
        return self.messages.get(check_id, self.message)


def _fault(entry: dict[str, Any], where: str) -> Fault:
    name = entry.get("name", "?")
    unknown = set(entry) - FAULT_KEYS
    if "may_fail" in unknown:
        raise FaultError(f"{where}: fault {name}: may_fail is gone; name the broken parts in breaks")
    if unknown:
        raise FaultError(f"{where}: fault {name}: unknown keys {sorted(unknown)}")
    missing = {"name", "description", "expect_fail", "breaks", "message"} - set(entry)
    if missing:
        raise FaultError(f"{where}: fault {name}: missing keys {sorted(missing)}")
    if not entry["breaks"] or not entry["expect_fail"]:
        raise FaultError(f"{where}: fault {name}: breaks and expect_fail must not be empty")
    return Fault(
        name=entry["name"],
        description=entry["description"],
        expect_fail=tuple(entry["expect_fail"]),
        breaks=tuple(entry["breaks"]),
        message=entry["message"],
        messages=dict(entry.get("messages", {})),
        root=entry.get("root"),
    )


def catalog() -> list[Fault]:
    """Every fault of faults.toml, then of faults.d/*.toml (one file per area of checks), in file order."""
    found: list[Fault] = []
    for path in [CATALOG_FILE, *sorted(EXTRA_CATALOG_DIR.glob("*.toml"))]:
        with path.open("rb") as handle:
            found.extend(_fault(f, path.name) for f in tomllib.load(handle).get("fault", []))
    return found


Probe = Callable[[Context], bool]


@dataclass(frozen=True)
class Action:
    """How a fault breaks the stack and how to see it: `broken` is true while the fault is observable."""

    needs: tuple[str, ...]
    broken: Probe
    healthy: Probe
    stops: str | None = None
    # Extra work beyond stopping a part or re-rendering configs: e.g. start a process that holds a lock
    # (recording its PID under ctx.lay.fault_state) and kill it by that PID on heal. Both idempotent.
    on_apply: Callable[[Context], None] | None = None
    on_heal: Callable[[Context], None] | None = None


def _served_fp(ctx: Context) -> str:
    return tls.der_fingerprint(probes.served_leaf_der(ctx.ports.nginx_https))


def _serves(kind: str) -> Probe:
    def probe(ctx: Context) -> bool:
        return _served_fp(ctx) == tls.leaf_fingerprint(ctx.tls.fault_chain(kind).read_bytes())

    return probe


def _serves_disk_cert(ctx: Context) -> bool:
    return _served_fp(ctx) == tls.leaf_fingerprint(ctx.tls.server_chain.read_bytes())


def _not(probe: Probe) -> Probe:
    return lambda ctx: not probe(ctx)


def _port_closed(part: str) -> Probe:
    def probe(ctx: Context) -> bool:
        return not any(proc.port_open(p) for p in make_parts(ctx)[part].ports())

    return probe


def _part_ready(part: str) -> Probe:
    return lambda ctx: make_parts(ctx)[part].probe()


def _tls10(ctx: Context) -> bool:
    return probes.tls10_accepted(ctx.ports.nginx_https)


def _ws_proxy_ok(ctx: Context) -> bool:
    return probes.ws_echo(f"wss://localhost:{ctx.ports.nginx_https}/ws", ctx.tls.ca)


def _wildcard(ctx: Context) -> bool:
    return probes.preflight_allow_origin(ctx.ports.service, FOREIGN_ORIGIN) == "*"


def _allowed_origin_echoed(ctx: Context) -> bool:
    return probes.preflight_allow_origin(ctx.ports.service, ALLOWED_ORIGIN) == ALLOWED_ORIGIN


def _api_slow(ctx: Context) -> bool:
    # 1.4 s, not 1.5 s: timer granularity; a healthy /api/items answers in milliseconds.
    return probes.api_latency_s(ctx.ports.service) >= (config.API_SLOW_MS - 100) / 1000


def _api_fast(ctx: Context) -> bool:
    return probes.api_latency_s(ctx.ports.service) < 0.5


def _stop_action(part: str) -> Action:
    return Action(needs=(part,), broken=_port_closed(part), healthy=_part_ready(part), stops=part)


def _cert_action(kind: str) -> Action:
    return Action(needs=("nginx",), broken=_serves(kind), healthy=_serves_disk_cert)


ACTIONS: dict[str, Action] = {
    "service-stopped": _stop_action("service"),
    "cert-expired": _cert_action("expired"),
    "cert-untrusted": _cert_action("untrusted"),
    "cert-wrong-host": _cert_action("wrong-host"),
    CERT_NOT_RELOADED: Action(needs=("nginx",), broken=_not(_serves_disk_cert), healthy=_serves_disk_cert),
    config.TLS10_FAULT: Action(needs=("nginx",), broken=_tls10, healthy=_not(_tls10)),
    config.CORS_WILDCARD_FAULT: Action(needs=("service",), broken=_wildcard, healthy=_allowed_origin_echoed),
    config.CORS_ORIGIN_FAULT: Action(
        needs=("service",), broken=_not(_allowed_origin_echoed), healthy=_allowed_origin_echoed
    ),
    config.WS_HEADERS_FAULT: Action(
        needs=("nginx", "service"), broken=_not(_ws_proxy_ok), healthy=_ws_proxy_ok
    ),
    "postgres-stopped": _stop_action("postgres"),
    "redis-stopped": _stop_action("redis"),
    "port-closed": _stop_action("sshd"),
    config.API_SLOW_FAULT: Action(needs=("service",), broken=_api_slow, healthy=_api_fast),
}


def all_actions() -> dict[str, Action]:
    """ACTIONS above plus every stack/fault_actions/<area>.py module's ACTIONS."""
    merged = dict(ACTIONS)
    package = PACKAGE_DIR / "fault_actions"
    for info in pkgutil.iter_modules([str(package)]):
        module = importlib.import_module(f"stack.fault_actions.{info.name}")
        merged.update(getattr(module, "ACTIONS", {}))
    return merged


def _check_name(name: str) -> Action:
    known = {f.name for f in catalog()}
    actions = all_actions()
    if name not in known or name not in actions:
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
    return actions[name]


def active(ctx: Context) -> list[str]:
    """Active faults (marker present), in catalog order."""
    present = ctx.active_faults()
    return [f.name for f in catalog() if f.name in present]


def converge(ctx: Context) -> None:
    """Render the fault-dependent files for the active markers; reload/restart running parts they changed."""
    nginx, service = NginxPart(ctx), ServicePart(ctx)
    if nginx.write_conf() and nginx.running() is not None:
        nginx.reload()
    if service.write_fault_files() and service.running() is not None:
        # The service reads cors.json at startup only.
        service.restart()


def _swap_certificate(ctx: Context) -> None:
    backup = ctx.lay.fault_state / "server.pem.orig"
    # Keep the first original: applying twice must not back up the replacement.
    if not backup.exists():
        shutil.copy2(ctx.tls.server_chain, backup)
        tls.write_server_chain(ctx.tls, tls.reissue_server_chain(ctx.tls))


def _restore_certificate(ctx: Context) -> None:
    backup = ctx.lay.fault_state / "server.pem.orig"
    if backup.exists():
        tls.write_server_chain(ctx.tls, backup.read_bytes())
        backup.unlink()
    nginx = NginxPart(ctx)
    # nginx normally still serves the original; if it was reloaded meanwhile it serves the replacement.
    if nginx.running() is not None and not _safe(_serves_disk_cert, ctx):
        nginx.reload()


def _safe(probe: Probe, ctx: Context) -> bool:
    try:
        return probe(ctx)
    except Exception:
        return False


def _wait(probe: Probe, ctx: Context, what: str) -> float:
    start = time.monotonic()
    if not proc.wait_until(lambda: probe(ctx), LIVE_TIMEOUT, interval=0.1):
        raise FaultError(f"{what} not observable after {LIVE_TIMEOUT:.0f} s")
    return time.monotonic() - start


def _not_running(parts: dict[str, Part], names: tuple[str, ...]) -> list[str]:
    # A part absent from make_parts (the deploy part with its switch off) is not running, not a KeyError.
    return [n for n in names if n not in parts or parts[n].running() is None]


def _get_json(port: int, path: str) -> Any:
    status, body = probes.http_get(port, path)
    if status != 200:
        raise FaultError(f"GET :{port}{path} answered HTTP {status}")
    return json.loads(body)


# The static scrape jobs of stack/templates/prometheus.yml.tmpl that the inventory's PROM-TARGETS-UP expects.
SCRAPED_JOBS = ("sample-service", "prometheus")


def _critical(labels: Mapping[str, str]) -> bool:
    return labels.get("severity") == "critical"


def unsettled(ctx: Context) -> list[str]:
    """What still differs from a settled healthy stack (empty when settled); only running parts count.

    The service's detailed health (its database and cache), every Prometheus target up, and no critical
    alert firing in Prometheus or active in Alertmanager: what ALERTS-NONE-FIRING, PROM-TARGETS-UP and
    HTTP-HEALTH-DETAILED read. Pending alerts do not count: with their target back they never fire.
    """
    parts = make_parts(ctx)
    waiting: list[str] = []
    if "service" in parts and parts["service"].running() is not None:
        status, _ = probes.http_get(ctx.ports.service, "/health?detailed=true")
        if status != 200:
            waiting.append(f"service /health?detailed=true answers HTTP {status}")
    if "prometheus" in parts and parts["prometheus"].running() is not None:
        targets = _get_json(ctx.ports.prometheus, "/api/v1/targets?state=active")["data"]["activeTargets"]
        down = [t["labels"].get("job", "?") for t in targets if t.get("health") != "up"]
        if down:
            waiting.append(f"Prometheus targets not up: {', '.join(sorted(down))}")
        # Just restarted or reloaded, Prometheus lists no target at all for a moment: "none down" is not
        # settled (CI's prom-rule-error run after a Prometheus restart saw PROM-TARGETS-UP find no job).
        missing = sorted(set(SCRAPED_JOBS) - {t["labels"].get("job") for t in targets})
        if missing:
            waiting.append(f"Prometheus has no active target yet for {', '.join(missing)}")
        alerts = _get_json(ctx.ports.prometheus, "/api/v1/alerts")["data"]["alerts"]
        firing = [
            a["labels"].get("alertname", "?")
            for a in alerts
            if a.get("state") == "firing" and _critical(a["labels"])
        ]
        if firing:
            waiting.append(f"Prometheus fires {', '.join(sorted(firing))}")
    if "alertmanager" in parts and parts["alertmanager"].running() is not None:
        active = _get_json(ctx.ports.alertmanager, "/api/v2/alerts?active=true")
        names = [a["labels"].get("alertname", "?") for a in active if _critical(a["labels"])]
        if names:
            waiting.append(f"Alertmanager has active {', '.join(sorted(names))}")
    return waiting


def _scraped(ctx: Context) -> bool:
    """Every Prometheus target's last scrape succeeded (true when Prometheus is not running)."""
    if "prometheus" not in make_parts(ctx) or make_parts(ctx)["prometheus"].running() is None:
        return True
    try:
        targets = _get_json(ctx.ports.prometheus, "/api/v1/targets?state=active")["data"]["activeTargets"]
    except Exception:  # Prometheus restarting: not scraped yet
        return False
    return all(t.get("health") == "up" for t in targets)


def _unsettled_or_error(ctx: Context) -> list[str]:
    try:
        return unsettled(ctx)
    except Exception as err:  # a part restarting refuses or answers 503: not settled yet
        return [f"{type(err).__name__}: {err}"]


def settle(ctx: Context, why: str) -> float:
    """Poll until the stack has settled (``unsettled`` is empty) or SETTLE_TIMEOUT; returns seconds taken."""
    start = time.monotonic()
    last: list[str] = []

    def done() -> bool:
        nonlocal last
        last = _unsettled_or_error(ctx)
        return not last

    if not proc.wait_until(done, SETTLE_TIMEOUT, interval=0.25):
        raise FaultError(f"{why}: stack not settled after {SETTLE_TIMEOUT:.0f} s: {'; '.join(last)}")
    return time.monotonic() - start


def apply(ctx: Context, name: str) -> float:
    """Apply fault NAME and wait until its effect is observable; returns the seconds it took."""
    action = _check_name(name)
    parts = make_parts(ctx)
    missing = _not_running(parts, action.needs)
    if missing and name not in ctx.active_faults():
        raise FaultError(f"cannot apply {name}: {', '.join(missing)} not running (python -m stack up)")
    start = time.monotonic()
    # Marker first: if anything below fails, heal/heal-all/up still know what to undo.
    ctx.lay.active_faults.mkdir(parents=True, exist_ok=True)
    (ctx.lay.active_faults / name).write_text(f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
    if action.stops is not None:
        parts[action.stops].stop()
    if name == CERT_NOT_RELOADED:
        _swap_certificate(ctx)
    try:
        if action.on_apply is not None:
            action.on_apply(ctx)
        converge(ctx)
    except PartError as err:
        raise FaultError(f"{name}: {err}") from err
    _wait(action.broken, ctx, f"fault {name}")
    if action.stops is None:
        # A fault read at start (a restarted part) leaves Prometheus a scrape gap in which that part's
        # series read empty: wait for the next good scrape, so a run sees the fault's effect and not the
        # restart's (seen: PROM-QUERY-THRESHOLDS "no series matched" right after login-error-500). A
        # fault whose effect is a target down only waits out the bound.
        proc.wait_until(lambda: _scraped(ctx), SCRAPE_AFTER_APPLY_S, interval=0.25)
    return time.monotonic() - start


def heal(ctx: Context, name: str, *, start_parts: bool = True) -> float:
    """Undo fault NAME (whether or not it is marked) and wait until healthy again; returns seconds taken.

    With start_parts=False (used by `up`, which starts every part itself) a stopped part is not started and
    nothing is awaited for parts that do not run.
    """
    action = _check_name(name)
    start = time.monotonic()
    (ctx.lay.active_faults / name).unlink(missing_ok=True)
    try:
        if name == CERT_NOT_RELOADED:
            _restore_certificate(ctx)
        if action.on_heal is not None:
            action.on_heal(ctx)
        converge(ctx)
        parts = make_parts(ctx)
        if action.stops is not None and start_parts and parts[action.stops].running() is None:
            parts[action.stops].start()
    except PartError as err:
        raise FaultError(f"{name}: {err}") from err
    if not _not_running(parts, action.needs):
        _wait(action.healthy, ctx, f"heal of {name}")
    # Settled means healthy as a whole: only meaningful once no other fault keeps something broken, and
    # not during `up`, which starts the parts itself.
    if start_parts and not ctx.active_faults():
        settle(ctx, f"heal of {name}")
    return time.monotonic() - start


def heal_all(ctx: Context, *, start_parts: bool = True) -> list[tuple[str, float]]:
    """Heal every active fault (and a leftover certificate backup); returns (name, seconds) per heal."""
    names = active(ctx)
    if (ctx.lay.fault_state / "server.pem.orig").exists() and CERT_NOT_RELOADED not in names:
        names.append(CERT_NOT_RELOADED)
    return [(name, heal(ctx, name, start_parts=start_parts)) for name in names]
