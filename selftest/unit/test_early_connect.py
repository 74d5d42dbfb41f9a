"""A TCP connect to every declared address at the start of the run (fixtures/early.py ``EarlyConnects``):
a dropped SYN's timeout runs beside start-up, the first test that needs the address reports it, and only
addresses the checks reach by a plain TCP connect are tried. Behaviour, not a stopwatch (durations:
bench/dead_target.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures import early as early_module
from fixtures.early import STARTUP_CONNECT, EarlyConnects, early_addresses
from infragate.inventory import load_target
from selftest.unit.servers import closed_port, full_backlog
from selftest.unit.test_plugin import dead_address_inventory, junit_cases, run_suite


def test_a_blackholed_address_is_reported_once_from_the_start_up_connect(tmp_path: Path) -> None:
    with full_backlog() as port:
        inv = dead_address_inventory(port, endpoints=3)
        result = run_suite(tmp_path, inv)
    cases = junit_cases(tmp_path)
    failures = {name: case.find("failure") for name, case in cases.items()}
    # The element's text: the message attribute of a long failure is cut (the full report is the text).
    messages = {name: f.text or "" for name, f in failures.items() if f is not None}
    assert len(cases) >= 8 and len(messages) == len(cases), result.stdout[-2000:]
    # The first test to need the address waited for the connect started with the run (no connect of its
    # own: it would have waited a second timeout) and says so; every other names that test.
    told = [name for name, m in messages.items() if STARTUP_CONNECT in m and "first seen in" not in m]
    assert len(told) == 1, result.stdout[-3000:]
    first = messages[told[0]]
    assert f"127.0.0.1:{port} unreachable: " in first and "timed out" in first and "remedy:" in first
    others = [m for name, m in messages.items() if name != told[0]]
    assert all("(first seen in tests_infra/" in m and told[0] in m for m in others), others[:3]


def test_a_refused_address_is_left_to_the_tests_own_connect() -> None:
    # Refused at once: the first test's own connect is as quick and says it in its own words.
    port = closed_port()
    early = EarlyConnects({f"127.0.0.1:{port}": ("127.0.0.1", port)}, timeout=1.0)
    assert early.take_dead(f"127.0.0.1:{port}") is None
    assert early.take_dead("127.0.0.1:1") is None  # never connected to: nothing to say


def test_a_timed_out_connect_is_told_once() -> None:
    with full_backlog() as port:
        early = EarlyConnects({f"127.0.0.1:{port}": ("127.0.0.1", port)}, timeout=0.5)
        found = early.take_dead(f"127.0.0.1:{port}")
        assert found is not None and found.unreachable
        assert early.take_dead(f"127.0.0.1:{port}") is None  # the test told remembers it from now on


def test_a_connect_not_started_yet_is_left_to_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    # One connect at a time: the second address waits behind a blackhole. Its test does not wait for that
    # queue (the connect is dropped and the test connects itself); the running one is waited for.
    monkeypatch.setattr(early_module, "EARLY_THREADS", 1)
    with full_backlog() as first, full_backlog() as second:
        early = EarlyConnects(
            {f"127.0.0.1:{first}": ("127.0.0.1", first), f"127.0.0.1:{second}": ("127.0.0.1", second)},
            timeout=3.0,  # the second cannot start before the first has timed out: 3 s, ample
        )
        assert early.take_dead(f"127.0.0.1:{second}") is None
        found = early.take_dead(f"127.0.0.1:{first}")
        assert found is not None and found.unreachable


def _target(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "t.toml"
    path.write_text(text)
    return load_target(path)


def test_only_addresses_probes_connect_to_directly(tmp_path: Path) -> None:
    target = _target(
        tmp_path,
        """
[[hosts]]
name = "web"
transport = "ssh://root@10.0.0.5:2222"

[[http.endpoints]]
name = "api"
url = "https://api.example.com/health"

[[postgres]]
name = "sock"
host = "/run/postgresql"
dbname = "d"
user = "u"

[[postgres]]
name = "db"
host = "db.example.com"
port = 6432
dbname = "d"
user = "u"

[[redis]]
name = "cache"
host = "localhost"
port = 6380
""",
    )
    direct = early_addresses(target, {})
    # ssh transports are not tried (an sshd logs a connection that never speaks; fail2ban may count it),
    # nor a unix socket directory; localhost is one key with 127.0.0.1 (the fail-fast memory's).
    assert direct == {
        "api.example.com:443": ("api.example.com", 443),
        "db.example.com:6432": ("db.example.com", 6432),
        "127.0.0.1:6380": ("localhost", 6380),
    }
    # Behind a proxy, an HTTP client reaches the URL through it: its address says nothing.
    proxied = early_addresses(target, {"HTTPS_PROXY": "http://proxy:3128"})
    assert "api.example.com:443" not in proxied and "db.example.com:6432" in proxied
