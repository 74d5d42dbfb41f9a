"""The host firewall: is each declared public TCP port allowed in (runbook 000/004: ``ufw status``, ``nft``)?

Reads ``nft -j list ruleset`` (nftables' JSON; iptables-nft and ufw rules land in it too) through the host
transport and walks it as the kernel would for a NEW TCP connection to the port from an arbitrary
address over IPv4: every base chain on the ``input`` hook of the ``ip`` and ``inet`` tables, by priority,
must accept it (a rule's verdict, else the chain's policy). A rule applies when each of its matches
holds for such a packet; matches that narrow the source (``iif lo``, ``ip saddr ...``, established
connections only) or that this walker does not know make the rule not apply to "the world", so it is
skipped. ``jump``/``goto``, anonymous and named sets, ranges and verdict maps (``tcp dport vmap``) are
followed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from infragate.facts import Context, fact, host_side
from infragate.probes.host_resources import resolve_command

if TYPE_CHECKING:
    from infragate.inventory import HostFirewall

__all__ = ["PortVerdict", "Ruleset", "judge_port", "parse_ruleset", "read_ruleset"]

FAMILIES = ("ip", "inet")
_TERMINAL = ("accept", "drop", "reject")
_MAX_DEPTH = 16


class Runner(Protocol):
    """A testinfra host, or anything with the same ``run(command, *args)`` (each arg quoted)."""

    def run(self, command: str, *args: str) -> Any: ...


@dataclass(frozen=True)
class Chain:
    """One chain: its table, hook and policy (base chains), and its rules' expressions in order."""

    family: str
    table: str
    name: str
    hook: str | None = None
    prio: int = 0
    policy: str = "accept"
    rules: tuple[tuple[int, tuple[dict[str, Any], ...]], ...] = ()  # (handle, expr)

    @property
    def label(self) -> str:
        """``inet filter input``, as ``nft list`` names it."""
        return f"{self.family} {self.table} {self.name}"


@dataclass(frozen=True)
class Ruleset:
    """The parsed ruleset: chains by (family, table, name) and named sets' elements."""

    chains: dict[tuple[str, str, str], Chain] = field(default_factory=dict)
    sets: dict[tuple[str, str, str], tuple[Any, ...]] = field(default_factory=dict)
    error: str | None = None

    @property
    def input_chains(self) -> list[Chain]:
        """Base chains on the input hook for IPv4 traffic, in the order the kernel runs them."""
        found = [c for c in self.chains.values() if c.hook == "input" and c.family in FAMILIES]
        return sorted(found, key=lambda c: c.prio)

    @property
    def active(self) -> bool:
        """A firewall filters incoming IPv4 traffic: some base chain hooks input."""
        return bool(self.input_chains)


def parse_ruleset(text: str) -> Ruleset:
    """``nft -j list ruleset`` output -> Ruleset (an error instead when it is not nftables JSON)."""
    try:
        items = json.loads(text)["nftables"]
    except (ValueError, KeyError, TypeError) as err:
        return Ruleset(error=f"not nft -j output ({type(err).__name__}): {text.strip()[:120]!r}")
    heads: dict[tuple[str, str, str], dict[str, Any]] = {}
    rules: dict[tuple[str, str, str], list[tuple[int, tuple[dict[str, Any], ...]]]] = {}
    sets: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for item in items:
        if "chain" in item:
            c = item["chain"]
            heads[(c["family"], c["table"], c["name"])] = c
        elif "rule" in item:
            r = item["rule"]
            key = (r["family"], r["table"], r["chain"])
            rules.setdefault(key, []).append((int(r.get("handle", 0)), tuple(r.get("expr", ()))))
        elif "set" in item:
            s = item["set"]
            elem = s.get("elem", ())
            sets[(s["family"], s["table"], s["name"])] = tuple(elem if isinstance(elem, list) else [elem])
    chains = {
        key: Chain(
            *key,
            hook=head.get("hook"),
            prio=int(head.get("prio", 0)) if str(head.get("prio", 0)).lstrip("-").isdigit() else 0,
            policy=head.get("policy", "accept"),
            rules=tuple(rules.get(key, ())),
        )
        for key, head in heads.items()
    }
    return Ruleset(chains, sets)


def read_ruleset(machine: Runner, command: tuple[str, ...]) -> Ruleset:
    """Run the ruleset command (``nft -j list ruleset`` by default) on the host and parse its output."""
    out = machine.run(" ".join("%s" for _ in command), *command)
    if out.rc != 0:
        why = str(out.stderr).strip() or str(out.stdout).strip() or f"exit {out.rc}"
        return Ruleset(error=f"{' '.join(command)} failed: {why[:300]}")
    return parse_ruleset(str(out.stdout))


@dataclass(frozen=True)
class PortVerdict:
    """Whether a new TCP connection to ``port`` from anywhere passes every input chain, and what decided."""

    port: int
    allowed: bool
    decided_by: str


def _in(value: Any, right: Any, sets: dict[tuple[str, str, str], tuple[Any, ...]], where: Chain) -> bool:
    """``value`` is ``right``: a scalar, a range, an anonymous set or a named ``@set``."""
    if isinstance(right, str) and right.startswith("@"):
        return any(_in(value, e, sets, where) for e in sets.get((where.family, where.table, right[1:]), ()))
    if isinstance(right, dict) and "set" in right:
        return any(_in(value, e, sets, where) for e in right["set"])
    if isinstance(right, list):
        return any(_in(value, e, sets, where) for e in right)
    if isinstance(right, dict) and "range" in right:
        low, high = right["range"]
        return isinstance(value, int) and int(low) <= value <= int(high)
    if isinstance(right, dict) and "elem" in right:
        return _in(value, right["elem"].get("val"), sets, where)
    return str(right) == str(value)


def _is_dport(left: Any) -> bool:
    payload = left.get("payload", {}) if isinstance(left, dict) else {}
    return payload.get("field") == "dport" and payload.get("protocol") in ("tcp", "th")


def _match_holds(m: dict[str, Any], port: int, sets: Any, where: Chain) -> bool | None:
    """True/False when the match holds or not for a new TCP packet from the world; None when unknown."""
    left, right, op = m.get("left"), m.get("right"), m.get("op", "==")
    if not isinstance(left, dict):
        return None
    if _is_dport(left):
        hit = _in(port, right, sets, where)
    elif left.get("payload", {}).get("field") == "dport":  # udp/sctp dport: never a TCP packet
        hit = False
    elif left.get("meta", {}).get("key") == "l4proto" or left.get("payload", {}).get("field") == "protocol":
        hit = _in("tcp", right, sets, where) or _in(6, right, sets, where)
    elif left.get("meta", {}).get("key") in ("iif", "iifname"):
        hit = not _in("lo", right, sets, where)  # the world never arrives on loopback
    elif left.get("ct", {}).get("key") == "state":
        hit = _in("new", right, sets, where)
    else:
        return None  # a source address, a mark, an xt match...: does not apply to "anyone"
    return hit if op in ("==", "in") else not hit if op == "!=" else None


def _walk(ruleset: Ruleset, chain: Chain, port: int, depth: int = 0) -> tuple[str, str] | None:
    """The verdict (``accept``/``drop``/``reject``, where) this chain gives, or None to fall through."""
    if depth > _MAX_DEPTH:
        return None
    for handle, exprs in chain.rules:
        applies = True
        for expr in exprs:
            if "match" in expr:
                if not _match_holds(expr["match"], port, ruleset.sets, chain):
                    applies = False
                    break
                continue
            where = f"rule {handle} of {chain.label}"
            for verdict in _TERMINAL:
                if verdict in expr:
                    return verdict, where
            if "return" in expr:
                return None
            if "vmap" in expr:
                vmap = expr["vmap"]
                if not _is_dport(vmap.get("key")):
                    applies = False
                    break
                for pair in vmap.get("data", {}).get("set", ()):
                    if isinstance(pair, list) and len(pair) == 2 and _in(port, pair[0], ruleset.sets, chain):
                        for verdict in _TERMINAL:
                            if verdict in pair[1]:
                                return verdict, f"{where} (verdict map)"
                applies = False
                break
            for jump in ("jump", "goto"):
                if jump in expr:
                    target = ruleset.chains.get((chain.family, chain.table, expr[jump]["target"]))
                    found = _walk(ruleset, target, port, depth + 1) if target is not None else None
                    if found is not None or jump == "goto":
                        return found
        if not applies:
            continue
    return None


def judge_port(ruleset: Ruleset, port: int) -> PortVerdict:
    """The first input chain that drops a new TCP connection to ``port``, else allowed (with why)."""
    reasons = []
    for chain in ruleset.input_chains:
        found = _walk(ruleset, chain, port)
        verdict, where = (
            found if found is not None else (chain.policy, f"policy {chain.policy} of {chain.label}")
        )
        if verdict != "accept":
            return PortVerdict(port, False, f"{verdict} by {where}")
        reasons.append(where)
    return PortVerdict(port, True, "accepted by " + "; ".join(reasons))


@fact(endpoint=host_side)
def firewall_ruleset(ctx: Context, firewall: HostFirewall) -> Ruleset:
    """The host's nftables ruleset, read with ``[host.firewall] command`` (``nft -j list ruleset``)."""
    return read_ruleset(ctx.machine(), resolve_command(firewall.command, ctx.target.path))


@fact(endpoint=host_side)
def firewall_port(ctx: Context, firewall: HostFirewall, port: int) -> PortVerdict:
    """Whether the host firewall lets a new TCP connection to a declared public port in."""
    return judge_port(ctx.get("firewall_ruleset", firewall), port)
