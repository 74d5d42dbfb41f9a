"""Faults of the monitoring area: Prometheus targets and rules, Alertmanager routing, the service's metrics.

Each one changes what a real server does (a file Prometheus reads, a config Alertmanager reloads, WebSocket
sessions that the service counts), never what a probe is told. Data: stack/faults.d/monitoring.toml.
"""

from __future__ import annotations

import json
import os
import signal
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

from stack import probes, proc
from stack.faults import Action
from stack.layout import LOOPBACK
from stack.parts import AlertmanagerPart, Context, PrometheusPart, RecordedPart, make_parts, service_python
from stack.recorded import server as recorded

TARGET_DOWN = "prom-target-down"
RULE_ERROR = "prom-rule-error"
RULES_MISSING = "prom-rules-missing"
CRITICAL_FIRING = "alert-critical-firing"
NO_CRITICAL_RECEIVER = "alertmanager-no-critical-receiver"
SERIES_MISSING = "metrics-series-missing"
WS_HELD = "metrics-ws-held"

DOWN_PORT_OFFSET = 98  # nothing of the stack listens on base+98
HIDDEN_SERIES = "http_request_duration_seconds"
HELD_SESSIONS = 60  # the inventory allows at most 50 open WebSocket sessions
FIRING_ALERT = "FaultInjectedCritical"
RECEIVER = "oncall-critical"


# ---------------------------------------------------------------------------- helpers


def _api(port: int, path: str, params: dict[str, str] | None = None) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    status, body = probes.http_get(port, path + query)
    if status != 200:
        return None
    return json.loads(body)


def _hup(ctx: Context, part: str) -> None:
    """SIGHUP a running Prometheus or Alertmanager: both re-read their configuration."""
    rec = (PrometheusPart(ctx) if part == "prometheus" else AlertmanagerPart(ctx)).running()
    if rec is not None:
        os.kill(rec.pid, signal.SIGHUP)


def _prom_file(ctx: Context, sub: str, name: str) -> Path:
    return ctx.lay.prometheus / sub / name


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _down_port(ctx: Context) -> int:
    return ctx.ports.service + DOWN_PORT_OFFSET


def _targets(ctx: Context) -> list[dict[str, Any]]:
    data = _api(ctx.ports.prometheus, "/api/v1/targets", {"state": "active"}) or {}
    return list((data.get("data") or {}).get("activeTargets", []))


def _rules(ctx: Context) -> list[dict[str, Any]]:
    data = _api(ctx.ports.prometheus, "/api/v1/rules") or {}
    return list((data.get("data") or {}).get("groups", []))


# ---------------------------------------------------------------------------- a scrape target down


def _target_file(ctx: Context) -> Path:
    return _prom_file(ctx, "targets.d", "batch-exporter.json")


def _add_down_target(ctx: Context) -> None:
    entry = [{"targets": [f"{LOOPBACK}:{_down_port(ctx)}"], "labels": {"job": "batch-exporter"}}]
    _write(_target_file(ctx), json.dumps(entry))


def _remove_down_target(ctx: Context) -> None:
    _target_file(ctx).unlink(missing_ok=True)


def _target_down(ctx: Context) -> bool:
    return any(
        t.get("labels", {}).get("job") == "batch-exporter" and t.get("health") == "down"
        for t in _targets(ctx)
    )


def _no_target_down(ctx: Context) -> bool:
    return all(t.get("health") == "up" for t in _targets(ctx))


# ---------------------------------------------------------------------------- rules


def _rule_file(ctx: Context, name: str) -> Path:
    return _prom_file(ctx, "rules.d", f"{name}.yml")


def _add_rule_group(name: str, group: dict[str, Any]) -> Any:
    def apply(ctx: Context) -> None:
        _write(_rule_file(ctx, name), yaml.safe_dump({"groups": [group]}, sort_keys=False))
        _hup(ctx, "prometheus")

    return apply


def _remove_rule_group(name: str) -> Any:
    def heal(ctx: Context) -> None:
        _rule_file(ctx, name).unlink(missing_ok=True)
        _hup(ctx, "prometheus")

    return heal


# One side of the match has two `up` series for the same (empty) label set: a runtime error at every
# evaluation ("found duplicate series for the match group"), which is what a wrong `on()` does in real rules.
BROKEN_GROUP: dict[str, Any] = {
    "name": "fault-broken-rules",
    "interval": "1s",
    "rules": [{"record": "job:up:broken", "expr": "up * on() group_left() up"}],
}
FIRING_GROUP: dict[str, Any] = {
    "name": "fault-firing",
    "interval": "1s",
    "rules": [
        {
            "alert": FIRING_ALERT,
            "expr": "vector(1)",
            "labels": {"severity": "critical"},
            "annotations": {"summary": "a critical alert injected by the stack's fault"},
        }
    ],
}


def _rule_in_error(ctx: Context) -> bool:
    return any(
        r.get("health") == "err"
        for g in _rules(ctx)
        if g.get("name") == BROKEN_GROUP["name"]
        for r in g["rules"]
    )


def _group_loaded(name: str) -> Any:
    return lambda ctx: any(g.get("name") == name for g in _rules(ctx))


def _group_absent(name: str) -> Any:
    return lambda ctx: not _group_loaded(name)(ctx)


def _empty_main_rules(ctx: Context) -> None:
    # The deploy that shipped an empty rule file: Prometheus loads it fine and has nothing to alert on.
    _write(ctx.lay.prometheus / "alert-rules.yml", "groups: []\n")
    _hup(ctx, "prometheus")


def _restore_main_rules(ctx: Context) -> None:
    PrometheusPart(ctx).prepare()
    _hup(ctx, "prometheus")


# ---------------------------------------------------------------------------- alerts


def _alerts(ctx: Context) -> list[dict[str, Any]]:
    found = _api(ctx.ports.alertmanager, "/api/v2/alerts", {"active": "true"})
    return list(found or [])


def _firing(ctx: Context) -> bool:
    return any(a.get("labels", {}).get("alertname") == FIRING_ALERT for a in _alerts(ctx))


def _not_firing(ctx: Context) -> bool:
    return not _firing(ctx) and not _group_loaded(FIRING_GROUP["name"])(ctx)


# ---------------------------------------------------------------------------- Alertmanager routing


def _am_config(ctx: Context) -> Path:
    return ctx.lay.alertmanager / "alertmanager.yml"


def _strip_receiver(ctx: Context) -> None:
    # The receiver stays (amtool check-config passes) but has no integration: critical alerts go nowhere.
    doc = yaml.safe_load(_am_config(ctx).read_text())
    doc["receivers"] = [r if r.get("name") != RECEIVER else {"name": RECEIVER} for r in doc["receivers"]]
    _write(_am_config(ctx), yaml.safe_dump(doc, sort_keys=False))
    _hup(ctx, "alertmanager")


def _restore_receiver(ctx: Context) -> None:
    AlertmanagerPart(ctx).prepare()
    _hup(ctx, "alertmanager")


def _receiver_integrations(ctx: Context) -> int:
    status = _api(ctx.ports.alertmanager, "/api/v2/status") or {}
    doc = yaml.safe_load((status.get("config") or {}).get("original", "")) or {}
    for receiver in doc.get("receivers") or []:
        if receiver.get("name") == RECEIVER:
            return sum(1 for k, v in receiver.items() if k.endswith("_configs") and v)
    return 0


# ---------------------------------------------------------------------------- the service's metrics


def _hidden_file(ctx: Context) -> Path:
    return ctx.lay.faults / "metrics_hidden"


def _hide_series(ctx: Context) -> None:
    _write(_hidden_file(ctx), f"{HIDDEN_SERIES}\n")


def _show_series(ctx: Context) -> None:
    _hidden_file(ctx).unlink(missing_ok=True)


def _exposes(ctx: Context) -> bool:
    status, body = probes.http_get(ctx.ports.service, "/metrics")
    return status == 200 and f"# TYPE {HIDDEN_SERIES} ".encode() in body


def _ws_gauge(ctx: Context) -> float:
    _, body = probes.http_get(ctx.ports.service, "/metrics")
    for line in body.decode().splitlines():
        if line.startswith("ws_connections_active "):
            return float(line.split()[1])
    return -1.0


def _prom_ws(ctx: Context) -> float:
    data = _api(
        ctx.ports.prometheus, "/api/v1/query", {"query": 'sum(ws_connections_active{job="sample-service"})'}
    )
    result = ((data or {}).get("data") or {}).get("result") or []
    return float(result[0]["value"][1]) if result else -1.0


HOLDER = "ws-holder"


def _hold_sessions(ctx: Context) -> None:
    if proc.recorded(ctx.lay.pids, HOLDER) is not None:
        return
    argv = [
        service_python(),
        "-m",
        "stack.fault_actions.ws_holder",
        f"ws://{LOOPBACK}:{ctx.ports.service}/ws",
        str(HELD_SESSIONS),
    ]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    pid = proc.spawn(argv, log=ctx.lay.logs / f"{HOLDER}.log", env=env, cwd=ctx.lay.root)
    proc.record(ctx.lay.pids, HOLDER, pid)


def _release_sessions(ctx: Context) -> None:
    rec = proc.recorded(ctx.lay.pids, HOLDER)
    if rec is not None:
        proc.stop(rec, ports=())
    proc.forget(ctx.lay.pids, HOLDER)


def _ws_held(ctx: Context) -> bool:
    return _ws_gauge(ctx) >= HELD_SESSIONS and _prom_ws(ctx) >= HELD_SESSIONS


def _ws_released(ctx: Context) -> bool:
    return 0 <= _ws_gauge(ctx) < HELD_SESSIONS and 0 <= _prom_ws(ctx) < HELD_SESSIONS


def _not(probe: Any) -> Any:
    return lambda ctx: not probe(ctx)


def _stopped(part: str) -> Action:
    """Stop a part (heal starts it again); live once its port is closed."""
    return Action(
        needs=(part,),
        broken=lambda ctx: not any(proc.port_open(p) for p in make_parts(ctx)[part].ports()),
        healthy=lambda ctx: make_parts(ctx)[part].probe(),
        stops=part,
    )


# ------------------------------------------------------------------------ recorded Grafana / Loki / Ollama


def _recorded_answer(path: str) -> Any:
    """The (status, body) the recorded API gives for ``path`` now."""

    def read(ctx: Context) -> tuple[int, bytes]:
        return probes.http_get(ctx.ports.recorded, path)

    return read


def _flag_action(flag: str, path: str, broken_when: Any) -> Action:
    """A fault setting a flag of the recorded server; live once the answer at ``path`` shows the failure."""

    def apply(ctx: Context) -> None:
        _write(RecordedPart(ctx).flags / flag, "1\n")

    def heal(ctx: Context) -> None:
        (RecordedPart(ctx).flags / flag).unlink(missing_ok=True)

    answer = _recorded_answer(path)
    return Action(
        needs=("recorded",),
        broken=lambda ctx: broken_when(*answer(ctx)),
        healthy=lambda ctx: not broken_when(*answer(ctx)),
        on_apply=apply,
        on_heal=heal,
    )


ACTIONS: dict[str, Action] = {
    recorded.GRAFANA_DB_FAILING: _flag_action(
        recorded.GRAFANA_DB_FAILING, "/api/health", lambda status, body: status == 503
    ),
    recorded.GRAFANA_DATASOURCE_DOWN: _flag_action(
        recorded.GRAFANA_DATASOURCE_DOWN, "/api/datasources/uid/prometheus-main/health", lambda s, b: s == 400
    ),
    recorded.GRAFANA_DASHBOARDS_MISSING: _flag_action(
        recorded.GRAFANA_DASHBOARDS_MISSING, "/api/search?type=dash-db", lambda s, b: b.strip() == b"[]"
    ),
    recorded.LOKI_NOT_READY: _flag_action(recorded.LOKI_NOT_READY, "/ready", lambda s, b: s == 503),
    recorded.LOKI_NO_LOGS: _flag_action(
        recorded.LOKI_NO_LOGS,
        "/loki/api/v1/query_range?query=%7Bjob%3D%22coach-api%22%7D",
        lambda s, b: b'"result": []' in b,
    ),
    recorded.LOKI_SHORT_RETENTION: _flag_action(
        recorded.LOKI_SHORT_RETENTION, "/config", lambda s, b: b"retention_period: 24h" in b
    ),
    recorded.LLM_MODEL_MISSING: _flag_action(
        recorded.LLM_MODEL_MISSING, "/api/tags", lambda s, b: s == 200 and b"qwen2.5-coder" not in b
    ),
    # LLM-LATENCY's fault: its data entry waits until the self-test runs intrusive checks (see the report).
    recorded.LLM_SLOW: _flag_action(recorded.LLM_SLOW, "/api/tags", lambda s, b: True),
    "prometheus-stopped": _stopped("prometheus"),
    "alertmanager-stopped": _stopped("alertmanager"),
    "recorded-stopped": Action(
        needs=("recorded",),
        broken=lambda ctx: not proc.port_open(ctx.ports.recorded),
        healthy=lambda ctx: RecordedPart(ctx).probe(),
        stops="recorded",
    ),
    TARGET_DOWN: Action(
        needs=("prometheus",),
        broken=_target_down,
        healthy=_no_target_down,
        on_apply=_add_down_target,
        on_heal=_remove_down_target,
    ),
    RULE_ERROR: Action(
        needs=("prometheus",),
        broken=_rule_in_error,
        healthy=_group_absent(BROKEN_GROUP["name"]),
        on_apply=_add_rule_group("fault-broken-rules", BROKEN_GROUP),
        on_heal=_remove_rule_group("fault-broken-rules"),
    ),
    RULES_MISSING: Action(
        needs=("prometheus",),
        broken=_group_absent("sample-service"),
        healthy=_group_loaded("sample-service"),
        on_apply=_empty_main_rules,
        on_heal=_restore_main_rules,
    ),
    CRITICAL_FIRING: Action(
        needs=("prometheus", "alertmanager"),
        broken=_firing,
        healthy=_not_firing,
        on_apply=_add_rule_group("fault-firing", FIRING_GROUP),
        on_heal=_remove_rule_group("fault-firing"),
    ),
    NO_CRITICAL_RECEIVER: Action(
        needs=("alertmanager",),
        broken=lambda ctx: _receiver_integrations(ctx) == 0,
        healthy=lambda ctx: _receiver_integrations(ctx) > 0,
        on_apply=_strip_receiver,
        on_heal=_restore_receiver,
    ),
    SERIES_MISSING: Action(
        needs=("service",),
        broken=_not(_exposes),
        healthy=_exposes,
        on_apply=_hide_series,
        on_heal=_show_series,
    ),
    WS_HELD: Action(
        needs=("service", "prometheus"),
        broken=_ws_held,
        healthy=_ws_released,
        on_apply=_hold_sessions,
        on_heal=_release_sessions,
    ),
}
