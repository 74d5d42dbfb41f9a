"""Root causes: which failed check blocks which, from the catalog's ``requires`` and the inventory.

A failure of check C on an inventory part is *blocked* when a check that C requires (directly or through
its own prerequisites) failed in the same run, on the same target and the same endpoint (host:port) or
the same inventory entry. The blocker named is that failure's own root: the failure nothing blocks.
Pure data in, data out (no pytest): fixtures/rootcause.py feeds it the run's results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infragate.catalog import Catalog
from infragate.facts import url_endpoint

__all__ = [
    "USED_THROUGH",
    "Blockers",
    "Result",
    "closure",
    "closure_any",
    "depth",
    "endpoint_key",
    "find_blockers",
    "root_order",
]

# One machine spelled three ways is one endpoint (fixtures/facts.py keys its dead endpoints the same way).
_LOOPBACK = ("localhost", "::1", "[::1]")


@dataclass(frozen=True)
class Result:
    """One check test's outcome, as far as root causes care."""

    key: str  # the test's node id
    check_id: str
    target: str
    entry: str  # "component/name", or "" when the test has no inventory entry
    endpoint: str  # "host:port", or "" for host-side entries (files, processes)
    failed: bool
    # Entries this one depends on, by the inventory's references ("auth/<name>": an endpoint that presents
    # that [[auth]] entry's token): their proving check failing blocks this one (USED_THROUGH).
    uses: tuple[str, ...] = ()
    # The test that first found this one's endpoint or host dead, when this one failed fast for it: its
    # failure blocks this one when no prerequisite does (the dead address is one cause, not one per check).
    after: str = ""
    # The TCP address ("host:port") this one found dead or failed fast at. The failures left as roots at one
    # dead address are one cause: the most fundamental check there names it (``Blockers``).
    dead: str = ""


def _normal(host: str, port: int) -> str:
    return f"{'127.0.0.1' if host in _LOOPBACK else host}:{port}"


# What proves a referenced entry usable, by its component: an [[auth]] entry is usable when its login works.
USED_THROUGH: Mapping[str, str] = {"auth": "AUTH-LOGIN"}


def uses_of(entry: Any, auth_names: Sequence[str] = ()) -> tuple[str, ...]:
    """The entries an inventory entry references: ``auth = "name"`` (or ``auth = true``: the target's first
    [[auth]] entry, ``auth_names[0]``), on itself or its declared requests."""
    found: dict[str, None] = {}
    for holder in (entry, getattr(entry, "call", None), getattr(entry, "detailed_call", None)):
        name = getattr(holder, "auth", None)
        if name is True and auth_names:
            name = auth_names[0]
        if isinstance(name, str) and name:
            found[f"auth/{name}"] = None
    return tuple(found)


def endpoint_key(entry: Any, databases: Mapping[str, Any] | None = None) -> str:
    """``host:port`` an entry's probes connect to ("" when none): url, base_url, login_url, host+port,
    else the endpoint of the ``[[postgres]]`` entry its ``database`` names (migrations, tenants)."""
    for attr in ("url", "base_url", "login_url"):
        url = getattr(entry, attr, None)
        if isinstance(url, str) and "://" in url:
            url_host, url_port = url_endpoint(url)
            return _normal(url_host, url_port) if url_host else ""
    host, port = getattr(entry, "host", None), getattr(entry, "port", None)
    if isinstance(host, str) and isinstance(port, int):
        return _normal(host, port)
    database = getattr(entry, "database", None)
    if isinstance(database, str) and databases and database in databases:
        return endpoint_key(databases[database])
    return ""


@dataclass(frozen=True)
class _Tables:
    """Per catalog, computed once: each check's layer, catalog position and prerequisite sets (the
    root-cause judgement runs after every failed test of a run: it must not walk the graph each time)."""

    depth: Mapping[str, int]  # layers of ``requires`` only: the order roots are READ in (root_order)
    judged: Mapping[str, int]  # layers of ``requires`` and ``requires_any``: the order they are JUDGED in
    order: Mapping[str, int]
    closure: Mapping[str, tuple[str, ...]]
    closure_any: Mapping[str, frozenset[str]]
    critical: frozenset[str]


_TABLES: dict[int, tuple[Catalog, _Tables]] = {}


def _tables(catalog: Catalog) -> _Tables:
    cached = _TABLES.get(id(catalog))
    if cached is not None and cached[0] is catalog:
        return cached[1]
    checks = catalog.checks
    closures: dict[str, tuple[str, ...]] = {}
    for check_id in checks:
        seen: dict[str, None] = {}
        todo = list(checks[check_id].requires)
        while todo:
            one = todo.pop(0)
            if one not in seen:
                seen[one] = None
                todo.extend(checks[one].requires)
        closures[check_id] = tuple(seen)
    anywhere = {
        check_id: frozenset(found for one in checks[check_id].requires_any for found in (one, *closures[one]))
        for check_id in checks
    }

    def layers(with_any: bool) -> dict[str, int]:
        found: dict[str, int] = {}

        def layer(check_id: str) -> int:
            if check_id not in found:
                required = (*checks[check_id].requires, *(checks[check_id].requires_any if with_any else ()))
                found[check_id] = 1 + max(layer(r) for r in required) if required else 0
            return found[check_id]

        for check_id in checks:
            layer(check_id)
        return found

    # A requires_any prerequisite is judged first (its failure must be known), but does not push its
    # dependant down the list of roots: SEC-DEFAULT-SECRETS failing on its own is still read early.
    critical = frozenset(c for c in checks if checks[c].severity == "critical")
    order = {c: i for i, c in enumerate(checks)}
    tables = _Tables(layers(False), layers(True), order, closures, anywhere, critical)
    _TABLES[id(catalog)] = (catalog, tables)
    return tables


def closure(catalog: Catalog, check_id: str) -> tuple[str, ...]:
    """Every check ``check_id`` requires, directly or through its prerequisites (nearest first)."""
    return _tables(catalog).closure.get(check_id, ())


def closure_any(catalog: Catalog, check_id: str) -> tuple[str, ...]:
    """The ``requires_any`` checks of ``check_id`` and everything they require: any of these failed on the
    same target blocks it, whatever the entry."""
    return tuple(sorted(_tables(catalog).closure_any.get(check_id, frozenset())))


def depth(catalog: Catalog, check_id: str) -> int:
    """How many prerequisite layers lie under a check (0: requires nothing); runs lower layers first."""
    return _tables(catalog).depth.get(check_id, 0)


def _rank(tables: _Tables, result: Result) -> tuple[int, int, str]:
    judged = tables.judged.get(result.check_id, 0)
    order = tables.order.get(result.check_id, len(tables.order))
    if not result.uses:  # most results: no login to sit above
        return judged, order, result.key
    # An entry that uses another's login sits above that login's layer (judged after it).
    used = [USED_THROUGH.get(u.partition("/")[0]) for u in result.uses]
    above = [tables.judged.get(proof, 0) + 1 for proof in used if proof is not None]
    return max([judged, *above]), order, result.key


# Where a failure counts as a prerequisite: ("e", target, endpoint, check), ("n", target, entry, check),
# ("t", target, "", check) for the whole target (requires_any).
_Place = tuple[str, str, str, str]


class Blockers:
    """The failed results of a run so far, indexed by the places where each counts as a prerequisite;
    ``root_of`` judges one result against them.

    Incremental: a process that runs tests adds each failure as it comes and asks about the next one,
    instead of judging every known result again after each failure (on a dead target all of them fail:
    that made a run quadratic). ``root_of`` answers exactly what ``find_blockers`` over the same results
    answers for that result, whatever order they were added in.
    """

    def __init__(self, catalog: Catalog) -> None:
        self._tables = _tables(catalog)
        self._ranks: dict[str, tuple[int, int, str]] = {}
        # The lowest-ranked failure of each check at each place.
        self._lowest: dict[_Place, Result] = {}
        self._added: dict[str, Result] = {}
        self._roots: dict[str, Result | None] = {}  # memo of added results' roots, until the next add
        # Memos of roots by prerequisites (with a dead host's finder, and without: below a finder), kept
        # across adds until an add can change them: what each memo read is recorded (``_forget``).
        self._prereq_roots: dict[str, Result | None] = {}
        self._cand_roots: dict[str, Result | None] = {}
        self._watchers: dict[_Place, set[str]] = {}  # place -> memos that read its lowest failure
        self._dependents: dict[str, set[str]] = {}  # key -> memos built on its memo (or on its arrival)
        # Failures by (target, address), by their endpoint or the dead address they met; the memo of the
        # failure that names each dead address, and the failures added there since it was judged.
        self._at: dict[tuple[str, str], list[Result]] = {}
        self._named: dict[tuple[str, str], Result | None] = {}
        self._since: dict[tuple[str, str], list[Result]] = {}

    def _rank(self, result: Result) -> tuple[int, int, str]:
        rank = self._ranks.get(result.key)
        if rank is None:
            rank = self._ranks[result.key] = _rank(self._tables, result)
        return rank

    def add(self, result: Result) -> None:
        """Remember a result (only failures can block anything)."""
        if not result.failed or self._added.get(result.key) == result:
            return  # an added result again (a test asked about, then recorded): nothing new
        rank = self._rank(result)
        stale: set[str] = set(self._dependents.get(result.key, ()))  # waited for it, or read it before
        if result.key in self._added:
            stale.add(result.key)
        self._added[result.key] = result
        target = result.target
        places: list[_Place] = [("t", target, "", result.check_id)]
        if result.endpoint:
            places.append(("e", target, result.endpoint, result.check_id))
        if result.entry:
            places.append(("n", target, result.entry, result.check_id))
        for place in places:
            known = self._lowest.get(place)
            if known is None or rank < self._rank(known):
                self._lowest[place] = result
                # Only memos ranked above the new failure counted what was there (a prerequisite is ranked
                # below what it blocks): the others still hold.
                stale.update(k for k in self._watchers.get(place, ()) if self._ranks[k] > rank)
        self._roots.clear()
        self._forget(stale)
        for address in {result.endpoint, result.dead} - {""}:
            self._at.setdefault((target, address), []).append(result)
            self._since.setdefault((target, address), []).append(result)

    def _forget(self, stale: set[str]) -> None:
        """Drop the memos an add made untrue, and everything built on them; forgetting everything at each
        add made a dead target's run quadratic (each add re-judged every failure at the dead address)."""
        todo = list(stale)
        while todo:
            key = todo.pop()
            dropped = self._prereq_roots.pop(key, self) is not self
            dropped = self._cand_roots.pop(key, self) is not self or dropped
            if not dropped:
                continue
            todo.extend(self._dependents.pop(key, ()))
            old = self._added.get(key)
            if old is not None:
                for address in {old.endpoint, old.dead} - {""}:
                    self._named.pop((old.target, address), None)
                    self._since.pop((old.target, address), None)

    def _places(self, result: Result) -> list[_Place]:
        tables, target = self._tables, result.target
        required = tables.closure.get(result.check_id, ())
        anywhere = tables.closure_any.get(result.check_id, frozenset())
        places: list[_Place] = []
        if required and result.endpoint:
            places += [("e", target, result.endpoint, c) for c in required]
        if required and result.entry:
            places += [("n", target, result.entry, c) for c in required]
        places += [("t", target, "", c) for c in anywhere]
        for used in result.uses:
            proof = USED_THROUGH.get(used.partition("/")[0])
            if proof is not None and proof != result.check_id:
                places += [("n", target, used, c) for c in (proof, *tables.closure.get(proof, ()))]
        return places

    def _prereq_root(self, result: Result, after: bool = True) -> Result | None:
        """The root by prerequisites (and, with ``after``, on a dead host the test that found it).

        Acyclic: a prerequisite is always ranked below, and a chain follows at most one finder (ranked
        anywhere: under xdist two workers' finders of one host could otherwise lead back to each other);
        below a finder only prerequisites count (``after`` False)."""
        memos = self._prereq_roots if after else self._cand_roots
        key = result.key
        added = self._added.get(key)
        memo = added is result or added == result
        if memo and key in memos:
            return memos[key]
        places = self._places(result)
        # Only failures judged before this one (lower rank) count: what find_blockers' single pass sees.
        rank = self._rank(result)
        found = (self._lowest.get(place) for place in places)
        candidates = [r for r in found if r is not None and self._rank(r) < rank]
        read: list[str] = []  # the memos and arrivals this answer is built on
        root: Result | None = None
        if candidates:
            first = min(candidates, key=self._rank)
            root = self._prereq_root(first, after) or first
            read.append(first.key)
        elif after and result.after and result.after != key and not result.dead:
            # Failed fast on a host another test found dead: that test's failure (or its own root) blocks
            # it. (At a dead TCP address the failure that names the address decides instead: root_of.) The
            # finder may be ranked anywhere, and added later.
            read.append(result.after)
            seen = self._added.get(result.after)
            if seen is not None and seen.after != key:
                root = self._prereq_root(seen, after=False) or seen
                # The finder's own root may be this one (a prerequisite of it): then this one is the root.
                # (This one requires nothing failed, so a chain through it ends at it.)
                if root.key == key:
                    root = None
        if memo:
            memos[key] = root
            for place in places:
                self._watchers.setdefault(place, set()).add(key)
            for other in read:
                self._dependents.setdefault(other, set()).add(key)
        return root

    def _address_rank(self, result: Result) -> tuple[bool, int, int, str]:
        # root_order's reading order: critical first, the lowest layer, catalog order.
        tables = self._tables
        return (
            result.check_id not in tables.critical,
            tables.depth.get(result.check_id, 0),
            tables.order.get(result.check_id, len(tables.order)),
            result.key,
        )

    def _naming(self, target: str, address: str) -> Result | None:
        """The failure that names dead ``address``: of the failures there that no prerequisite blocks and
        that met no other dead address, the first an SRE reads (critical first, lowest layer)."""
        key = (target, address)
        # Judged again from all failures there only when one of them changed (``_forget``); otherwise the
        # failures added since are weighed against the last answer.
        judged = key in self._named
        since = self._since.pop(key, [])
        fresh = since if judged else self._at.get(key, [])
        eligible = [r for r in fresh if r.dead in ("", address) and self._prereq_root(r) is None]
        named = self._named.get(key)
        if named is not None:
            eligible.append(named)
        self._named[key] = min(eligible, key=self._address_rank) if eligible else None
        return self._named[key]

    def root_of(self, result: Result) -> Result | None:
        """The root failure that blocks ``result`` (None: nothing does, or it did not fail: only a failure is
        blocked; a failure nothing blocks is a root cause).

        By prerequisites first; then, when that root (or the failure itself) met a dead address, the
        failure that names the address: one dead address is one root cause, not one per check."""
        if not result.failed:
            return None
        # A failure asked about before it is added (the one a test has just made) is added first: judged
        # with it known, as judging all results together would (it may name a dead address, or be the
        # prerequisite of the test that found its host dead).
        self.add(result)
        if result.key in self._roots:
            return self._roots[result.key]
        root = self._prereq_root(result)
        base = root or result
        if base.dead:
            named = self._naming(base.target, base.dead)
            if named is not None and named.key != base.key and named.key != result.key:
                root = named
        self._roots[result.key] = root
        return root


def find_blockers(catalog: Catalog, results: Iterable[Result]) -> dict[str, Result]:
    """Failed result's key -> the root failure that blocks it (absent: it is a root cause itself).

    Results are judged lowest layer first, so a prerequisite's own root is known when a dependent asks;
    among several failed prerequisites the lowest layer wins (ties: catalog order, then node id). A
    prerequisite counts on the same target and the same endpoint or entry (``requires``), or anywhere on
    the target (``requires_any``).
    """
    index = Blockers(catalog)
    failed = [r for r in results if r.failed]
    for result in failed:
        index.add(result)
    roots: dict[str, Result] = {}
    for result in failed:
        root = index.root_of(result)
        if root is not None:
            roots[result.key] = root
    return roots


def root_order(catalog: Catalog, severity: str, check_id: str, blocked: int) -> tuple[int, int, int, int]:
    """Sort key of root causes: critical first, then the lowest layer, then the most blocked, then
    catalog order (an SRE reads the port before the certificate, the certificate before CORS)."""
    tables = _tables(catalog)
    order = tables.order.get(check_id, len(tables.order))
    return (0 if severity == "critical" else 1, depth(catalog, check_id), -blocked, order)
