"""Root causes judged incrementally (infragate.prereqs.Blockers): the same answers as judging every result
together, whatever order the failures arrive in; each new failure is judged against the index alone."""

from __future__ import annotations

import random

from infragate.catalog import load_catalog
from infragate.prereqs import Blockers, Result, find_blockers

CATALOG = load_catalog()


def _random_results(rng: random.Random, count: int) -> list[Result]:
    ids = sorted(CATALOG.checks)
    # As on a dead target: a few tests find a host or address dead themselves (the finders); others fail
    # fast after one of them (``after``, possibly arriving before it under xdist), or met a dead address.
    finders = [f"k{i:03d}" for i in range(count) if rng.random() < 0.2]
    out = []
    for i in range(count):
        key = f"k{i:03d}"
        uses = tuple(rng.sample(["auth/a", "auth/b"], rng.randint(0, 2))) if rng.random() < 0.3 else ()
        after = rng.choice(finders) if finders and key not in finders and rng.random() < 0.4 else ""
        out.append(
            Result(
                key,
                rng.choice(ids),
                rng.choice(["t1", "t2"]),
                rng.choice(["", "auth/a", "auth/b", "x/1", "x/2"]),
                rng.choice(["", "h:1", "h:2"]),
                rng.random() < 0.8,
                uses,
                after,
                rng.choice(["", "", "h:1", "h:2"]),
            )
        )
    return out


def _keys(found: dict[str, Result]) -> dict[str, str]:
    return {key: root.key for key, root in found.items()}


def test_a_failure_is_judged_against_those_known_so_far_in_any_order() -> None:
    # What the process running the tests does: ask about each new failure, then add it. The answer must
    # be what judging all results known at that moment together says (find_blockers), even when a lower
    # layer's failure arrives after its dependants (xdist, or a later test of a lower layer).
    rng = random.Random(7)
    for _ in range(300):
        results = _random_results(rng, rng.randint(1, 40))
        index = Blockers(CATALOG)
        for seen, result in enumerate(results):
            together = find_blockers(CATALOG, results[: seen + 1]).get(result.key)
            alone = index.root_of(result)
            assert (alone.key if alone else None) == (together.key if together else None)
            index.add(result)
        final = {r.key: root for r in results if (root := index.root_of(r)) is not None}
        assert _keys(final) == _keys(find_blockers(CATALOG, results))


def test_a_late_lower_failure_becomes_the_root() -> None:
    health = Result("health", "HTTP-HEALTH", "local", "http.endpoints/h", "127.0.0.1:443", True)
    cors = Result("cors", "CORS-ALLOWED-ORIGIN", "local", "cors/api", "127.0.0.1:443", True)
    tls = Result("tls", "TLS-CERT-EXPIRY", "local", "tls.endpoints/proxy", "127.0.0.1:443", True)
    index = Blockers(CATALOG)
    index.add(health)
    assert index.root_of(cors) == health
    index.add(cors)
    index.add(tls)  # judged later, but a lower layer: the root of both now
    assert index.root_of(cors) == tls and index.root_of(health) == tls and index.root_of(tls) is None


def test_only_failures_are_blocked_or_block() -> None:
    passed = Result("ok", "TLS-CERT-EXPIRY", "local", "tls.endpoints/proxy", "127.0.0.1:443", False)
    failed = Result("hs", "TLS-HANDSHAKE", "local", "tls.endpoints/proxy", "127.0.0.1:443", True)
    index = Blockers(CATALOG)
    index.add(passed)
    assert index.root_of(failed) is None
    index.add(failed)
    later = Result("ok2", "HTTP-HEALTH", "local", "http.endpoints/h", "127.0.0.1:443", False)
    assert index.root_of(later) is None
