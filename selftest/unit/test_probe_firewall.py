"""The firewall walker: recorded ``nft -j list ruleset`` documents, and real rulesets in a new netns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from infragate.probes.firewall import judge_port, parse_ruleset


def _doc(chains: list[dict[str, Any]], rules: list[tuple[str, list[Any]]], sets: Any = ()) -> str:
    items: list[dict[str, Any]] = [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}]
    items += [{"chain": {"family": "inet", "table": "filter", **c}} for c in chains]
    items += [{"set": {"family": "inet", "table": "filter", **s}} for s in sets]
    for handle, (chain, expr) in enumerate(rules, start=2):
        items.append(
            {"rule": {"family": "inet", "table": "filter", "chain": chain, "handle": handle, "expr": expr}}
        )
    return json.dumps({"nftables": items})


def _m(left: Any, right: Any, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": left, "right": right}}


DPORT = {"payload": {"protocol": "tcp", "field": "dport"}}
INPUT = {"name": "input", "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}
# Recorded from nft 1.0.6 (Debian 12): policy drop, loopback, established, a port set, icmp.
BASE = [
    ("input", [_m({"meta": {"key": "iif"}}, "lo"), {"accept": None}]),
    ("input", [_m({"ct": {"key": "state"}}, ["established", "related"], "in"), {"accept": None}]),
    ("input", [_m(DPORT, {"set": [22, 443, {"range": [8000, 8010]}]}), {"accept": None}]),
]


def test_ports_in_the_accept_set_pass_and_the_rest_meet_the_policy() -> None:
    ruleset = parse_ruleset(_doc([INPUT], BASE))
    assert ruleset.active and ruleset.error is None
    assert judge_port(ruleset, 443).allowed and judge_port(ruleset, 8005).allowed
    blocked = judge_port(ruleset, 3003)
    assert not blocked.allowed and blocked.decided_by == "drop by policy drop of inet filter input"


def test_a_drop_rule_before_the_accept_wins() -> None:
    rules = [BASE[0], ("input", [_m(DPORT, 443), {"counter": {"packets": 0}}, {"drop": None}]), *BASE[1:]]
    verdict = judge_port(parse_ruleset(_doc([INPUT], rules)), 443)
    assert not verdict.allowed and verdict.decided_by == "drop by rule 3 of inet filter input"


def test_rules_for_loopback_or_one_source_do_not_open_a_port_to_the_world() -> None:
    rules = [
        ("input", [_m({"meta": {"key": "iifname"}}, "lo"), _m(DPORT, 5432), {"accept": None}]),
        ("input", [_m({"payload": {"protocol": "ip", "field": "saddr"}}, "10.0.0.0/8"), {"accept": None}]),
        ("input", [_m(DPORT, 5432, "!="), {"reject": None}]),
    ]
    verdict = judge_port(parse_ruleset(_doc([INPUT], rules)), 5432)
    assert not verdict.allowed and "policy drop" in verdict.decided_by


def test_jumps_named_sets_and_verdict_maps_are_followed() -> None:
    chains: list[dict[str, Any]] = [INPUT, {"name": "public"}]
    rules = [
        ("input", [{"jump": {"target": "public"}}]),
        ("public", [_m(DPORT, "@web"), {"accept": None}]),
        (
            "public",
            [{"vmap": {"key": DPORT, "data": {"set": [[2222, {"accept": None}], [25, {"drop": None}]]}}}],
        ),
    ]
    sets = [{"name": "web", "type": "inet_service", "elem": [80, 443]}]
    ruleset = parse_ruleset(_doc(chains, rules, sets))
    assert judge_port(ruleset, 443).allowed and judge_port(ruleset, 2222).allowed
    assert judge_port(ruleset, 25).decided_by == "drop by rule 4 of inet filter public (verdict map)"


def test_every_input_chain_must_accept() -> None:
    late = {**INPUT, "name": "late", "prio": 10, "policy": "accept"}
    rules = [*BASE, ("late", [_m(DPORT, 22), {"drop": None}])]
    verdict = judge_port(parse_ruleset(_doc([INPUT, late], rules)), 22)
    assert not verdict.allowed and "inet filter late" in verdict.decided_by


def test_no_input_chain_is_no_firewall_and_garbage_is_an_error() -> None:
    assert not parse_ruleset(_doc([], [])).active
    assert "not nft -j output" in (parse_ruleset("Error: Could not process rule").error or "")


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("unshare"),
    reason="needs root, nft and unshare (a throwaway network namespace)",
)
def test_a_real_ruleset_in_a_new_network_namespace() -> None:
    conf = (
        "table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n"
        '  iif "lo" accept\n  tcp dport 443 drop\n  tcp dport { 22, 443 } accept\n }\n}\n'
    )
    script = "nft -f - && nft -j list ruleset"
    out = subprocess.run(
        ["unshare", "--net", "sh", "-c", script], input=conf, capture_output=True, text=True, timeout=20
    )
    if out.returncode != 0:
        pytest.skip(f"nftables cannot run here: {out.stderr.strip()[:200]}")
    ruleset = parse_ruleset(out.stdout)
    assert judge_port(ruleset, 22).allowed
    assert judge_port(ruleset, 443).decided_by.startswith("drop by rule")
    assert judge_port(ruleset, 80).decided_by == "drop by policy drop of inet filter input"
