"""Root causes offline: the catalog's prerequisite graph and who blocks whom (infragate/prereqs.py)."""

from __future__ import annotations

from infragate.catalog import load_catalog
from infragate.prereqs import Result, depth, find_blockers

CATALOG = load_catalog()


def _failed(key: str, check_id: str, entry: str, endpoint: str) -> Result:
    return Result(key, check_id, "local", entry, endpoint, True)


def test_layers_run_from_the_port_up() -> None:
    assert depth(CATALOG, "HOST-PORT-LISTENING") == 0
    order = ["HOST-PORT-REACHABLE", "TLS-CERT-EXPIRY", "TLS-CHAIN", "TLS-HANDSHAKE", "HTTP-HEALTH"]
    assert [depth(CATALOG, i) for i in order] == sorted(depth(CATALOG, i) for i in order)
    assert depth(CATALOG, "CORS-ALLOWED-ORIGIN") > depth(CATALOG, "HTTP-HEALTH")
    assert depth(CATALOG, "PG-CONNECTIONS") > depth(CATALOG, "PG-READY")


def test_expired_certificate_blocks_what_shares_its_endpoint_only() -> None:
    results = [
        _failed("tls", "TLS-CERT-EXPIRY", "tls.endpoints/proxy", "127.0.0.1:443"),
        _failed("hs", "TLS-HANDSHAKE", "tls.endpoints/proxy", "127.0.0.1:443"),
        _failed("cors", "CORS-ALLOWED-ORIGIN", "cors/api", "127.0.0.1:443"),
        _failed("other", "CORS-DENIED-ORIGIN", "cors/other", "127.0.0.1:8443"),
        Result("ok", "HTTP-HEALTH", "local", "http.endpoints/h", "127.0.0.1:443", False),
    ]
    blockers = find_blockers(CATALOG, results)
    # The root is named, not the intermediate failure (the handshake fails because of the date).
    assert blockers["hs"].key == "tls" and blockers["cors"].key == "tls"
    assert "tls" not in blockers and "other" not in blockers


def test_a_check_never_blocks_one_it_does_not_require() -> None:
    results = [
        _failed("cors", "CORS-ALLOWED-ORIGIN", "cors/api", "127.0.0.1:443"),
        _failed("health", "HTTP-HEALTH", "http.endpoints/h", "127.0.0.1:443"),
        _failed("pg", "PG-LONG-QUERIES", "postgres/db", "127.0.0.1:5432"),
    ]
    blockers = find_blockers(CATALOG, results)
    assert blockers == {"cors": results[1]}


def test_same_entry_counts_without_an_endpoint() -> None:
    results = [
        _failed("ready", "PG-READY", "postgres/db", ""),
        _failed("conn", "PG-CONNECTIONS", "postgres/db", ""),
    ]
    assert find_blockers(CATALOG, results)["conn"].key == "ready"
