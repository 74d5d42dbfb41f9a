"""Root causes offline: the catalog's prerequisite graph and who blocks whom (infragate/prereqs.py)."""

from __future__ import annotations

from infragate.catalog import load_catalog
from infragate.prereqs import Result, depth, find_blockers, uses_of

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


def test_a_login_failing_anywhere_blocks_the_checks_that_span_every_login() -> None:
    # SEC-DEFAULT-SECRETS re-signs every [[auth]] entry's real token: its own entry (security) shares no
    # endpoint with the login that failed, yet that login is why it could not run (requires_any).
    results = [
        _failed("login", "AUTH-LOGIN", "auth/drf", "127.0.0.1:8001"),
        _failed("secrets", "SEC-DEFAULT-SECRETS", "security/security", "127.0.0.1:443"),
        _failed("creds", "SEC-DEFAULT-CREDENTIALS", "security/security", "127.0.0.1:443"),
        Result("other", "SEC-DEFAULT-SECRETS", "staging", "security/security", "127.0.0.1:443", True),
    ]
    blockers = find_blockers(CATALOG, results)
    assert blockers["secrets"].key == "login" and blockers["creds"].key == "login"
    assert "other" not in blockers  # another target's login says nothing about this one


def test_tokens_accepted_unverified_explain_the_placeholder_key_being_accepted() -> None:
    # jwt-verification-disabled: the service verifies no signature, so the placeholder-signed token is
    # accepted too; "change the secret" (SEC-DEFAULT-SECRETS' remedy) is not the fix.
    unverified = [
        _failed("tampered", "AUTH-REJECT-INVALID", "auth/auth", "127.0.0.1:8000"),
        _failed("secrets", "SEC-DEFAULT-SECRETS", "security/security", "127.0.0.1:443"),
    ]
    assert find_blockers(CATALOG, unverified) == {"secrets": unverified[0]}
    # jwt-default-secret: invalid tokens are refused; the placeholder key is the root, nothing blocks it.
    placeholder = [unverified[1], Result("t", "AUTH-REJECT-INVALID", "local", "auth/auth", "x:1", False)]
    assert find_blockers(CATALOG, placeholder) == {}


def test_an_unknown_revision_is_the_root_of_not_at_head() -> None:
    results = [
        _failed("head", "MIG-ALEMBIC-AT-HEAD", "migrations.alembic/app", "127.0.0.1:5432"),
        _failed("known", "MIG-ALEMBIC-KNOWN-REVISION", "migrations.alembic/app", "127.0.0.1:5432"),
    ]
    assert find_blockers(CATALOG, results)["head"].key == "known"


def test_an_endpoint_presenting_a_login_is_blocked_by_that_login() -> None:
    # The inventory says so: websocket.endpoints/ws declares auth = "app"; its own endpoint differs from
    # the login's, and nothing in the catalog ties WS-CONNECT-DIRECT to AUTH-LOGIN.
    login = _failed("login", "AUTH-LOGIN", "auth/app", "127.0.0.1:8000")
    ws = Result(
        "ws", "WS-CONNECT-DIRECT", "local", "websocket.endpoints/ws", "127.0.0.1:8001", True, ("auth/app",)
    )
    other = Result(
        "other", "WS-CONNECT-DIRECT", "local", "websocket.endpoints/o", "127.0.0.1:8002", True, ("auth/b",)
    )
    blockers = find_blockers(CATALOG, [login, ws, other])
    assert blockers == {"ws": login}


def test_auth_true_uses_the_first_auth_entry() -> None:
    class Ws:
        auth = True

    assert uses_of(Ws(), ["app", "admin"]) == ("auth/app",)
    assert uses_of(Ws(), []) == ()


def test_a_failure_fast_at_a_dead_address_is_blocked_by_the_test_that_found_it() -> None:
    # AUTH-ADMIN-EXISTS reads the users table of a database whose port is closed: no prerequisite of its
    # own failed, but it failed fast for the address HOST-PORT-REACHABLE found dead (one cause, not two).
    port = _failed("port", "HOST-PORT-REACHABLE", "postgres/appdb", "127.0.0.1:5432")
    admin = Result("admin", "AUTH-ADMIN-EXISTS", "local", "auth/auth", "127.0.0.1:5432", True, (), "port")
    alone = Result("alone", "AUTH-ADMIN-EXISTS", "local", "auth/other", "127.0.0.1:5432", True)
    blockers = find_blockers(CATALOG, [admin, port, alone])
    assert blockers == {"admin": port}  # without `after` it stays a root cause of its own
    # A prerequisite that failed still wins (it says more than "the address was dead").
    health = _failed("health", "HTTP-HEALTH", "http.endpoints/h", "127.0.0.1:443")
    tls = _failed("tls", "TLS-CERT-EXPIRY", "tls.endpoints/p", "127.0.0.1:443")
    cors = Result("cors", "CORS-ALLOWED-ORIGIN", "local", "cors/api", "127.0.0.1:443", True, (), "health")
    assert find_blockers(CATALOG, [health, tls, cors])["cors"].key == "tls"
    # The finder passed or is unknown: nothing to be blocked by.
    lost = Result("lost", "PG-CONNECTIONS", "local", "postgres/db", "127.0.0.1:9", True, (), "not-a-test")
    assert find_blockers(CATALOG, [lost]) == {}


def test_a_process_not_running_blocks_its_memory_check() -> None:
    # redis-stopped listed "HOST-PROCESS-MEMORY local/redis: no process running" as a root cause of its own.
    running = _failed("run", "HOST-PROCESS-RUNNING", "host.processes/redis", "")
    memory = _failed("mem", "HOST-PROCESS-MEMORY", "host.processes/redis", "")
    assert find_blockers(CATALOG, [memory, running]) == {"mem": running}


def test_one_dead_address_is_one_root_named_by_the_check_an_sre_reads_first() -> None:
    # postgres-stopped: AUTH-ADMIN-EXISTS met the database's address dead first (its own endpoint is the
    # service's); HOST-PORT-LISTENING failed on that address: it names the cause, the other is blocked.
    admin = Result(
        "admin", "AUTH-ADMIN-EXISTS", "local", "auth/auth", "127.0.0.1:23000", True, dead="127.0.0.1:5432"
    )
    listening = _failed("listen", "HOST-PORT-LISTENING", "host.ports/postgres", "127.0.0.1:5432")
    assert find_blockers(CATALOG, [admin, listening]) == {"admin": listening}
    # recorded-stopped: three servers behind one dead address; the critical one names it, whoever met it
    # first.
    at = "127.0.0.1:9000"
    grafana = Result("g", "GRAFANA-HEALTH", "local", "grafana/g", at, True, dead=at)
    loki = Result("l", "LOKI-READY", "local", "loki/l", at, True, after="g", dead=at)
    llm = Result("m", "LLM-REACHABLE", "local", "llm/m", at, True, after="g", dead=at)
    blockers = find_blockers(CATALOG, [grafana, loki, llm])
    assert {k: r.key for k, r in blockers.items()} == {"g": "m", "l": "m"}
    # Only a failure that met the address dead is moved: one failing for its own reason stays a root.
    slow = Result("s", "LOKI-READY", "local", "loki/l", at, True)
    assert "s" not in find_blockers(CATALOG, [grafana, llm, slow])
