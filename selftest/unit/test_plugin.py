"""The plugin as a user meets it: real `pytest tests_infra` runs against inventories written here.

Offline: targets are closed ports, blackholes and tiny loopback servers, so these run anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from selftest.unit.servers import accept_silent, blackhole, closed_port

ROOT = Path(__file__).resolve().parents[2]


def run_suite(
    tmp_path: Path,
    inventory: str,
    *args: str,
    env: dict[str, str] | None = None,
    name: str = "t",
    quiet: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run the check suite against an inventory file written into tmp_path."""
    (tmp_path / f"{name}.toml").write_text(inventory)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "tests_infra",
        f"--inventory={tmp_path}",
        f"--junitxml={tmp_path / 'junit.xml'}",
        f"--html={tmp_path / 'report.html'}",
        "-p",
        "no:cacheprovider",
        *(["-q"] if quiet else []),
        *args,
    ]
    if not any(a.startswith("--host") for a in args):
        cmd.append(f"--host={name}")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAGATE_")}
    full_env.update(env or {})
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=full_env, timeout=120)


def dead_address_inventory(port: int, *, endpoints: int) -> str:
    """1 s timeouts, ``endpoints`` HTTP endpoints and a Redis, all at 127.0.0.1:``port`` (a dead address)."""
    http = "".join(
        f"[[http.endpoints]]\nname='e{i}'\nurl='http://127.0.0.1:{port}/{i}'\n" for i in range(endpoints)
    )
    return (
        "[target]\nconnect_timeout = 1.0\nread_timeout = 1.0\n"
        + http
        + f"[[redis]]\nname='r'\nhost='127.0.0.1'\nport={port}\n"
    )


def junit_cases(tmp_path: Path) -> dict[str, ET.Element]:
    """JUnit testcases by name."""
    tree = ET.parse(tmp_path / "junit.xml")
    return {case.get("name", ""): case for case in tree.iter("testcase")}


def test_unknown_host_is_one_line_usage_error(tmp_path: Path) -> None:
    result = run_suite(tmp_path, "", "--host=nope")
    assert result.returncode == 4
    assert "unknown target 'nope'" in result.stderr and "known targets: t" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_secret_is_usage_error_naming_key(tmp_path: Path) -> None:
    inv = "[[redis]]\nname='c'\nhost='127.0.0.1'\npassword_env='SELFTEST_UNSET_SECRET'\n"
    result = run_suite(tmp_path, inv)
    assert result.returncode == 4
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert (
        len(lines) == 1
        and "redis[0].password_env: environment variable SELFTEST_UNSET_SECRET is not set" in lines[0]
    )


def test_invalid_inventory_is_usage_error(tmp_path: Path) -> None:
    result = run_suite(tmp_path, "[[redis]]\nname='c'\nhost='127.0.0.1'\nprot=1\n")
    assert result.returncode == 4 and "redis[0]: unknown key 'prot'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_only_declared_components_run_and_summary_says_why(tmp_path: Path) -> None:
    port = closed_port()
    result = run_suite(tmp_path, f"[[redis]]\nname='cache'\nhost='127.0.0.1'\nport={port}\n")
    assert result.returncode == 1
    cases = junit_cases(tmp_path)
    # Only redis checks run (REDIS-PING and the later REDIS-* checks), PING's message is the one checked.
    assert "test_redis_answers_pong[REDIS-PING t/cache]" in cases and all(
        n.startswith("test_redis_") for n in cases
    )
    failure = cases["test_redis_answers_pong[REDIS-PING t/cache]"].find("failure")
    assert failure is not None
    message = failure.get("message", "")
    assert f"[REDIS-PING] t/cache (127.0.0.1:{port}): expected PONG; seen" in message and "refused" in message
    assert "remedy:" in message
    (line,) = [s for s in result.stdout.splitlines() if "component postgres not declared: " in s]
    assert "PG-CONNINFO" in line and "PG-READY" in line


def test_report_header_names_target_and_components(tmp_path: Path) -> None:
    result = run_suite(
        tmp_path,
        f"[target]\nsensitive = true\n[[redis]]\nname='c'\nhost='127.0.0.1'\nport={closed_port()}\n",
        quiet=False,
    )
    assert "infragate target: t (" in result.stdout and "SENSITIVE" in result.stdout
    assert "components: redis(1)" in result.stdout


def test_blackholed_target_costs_one_timeout_not_one_per_test(tmp_path: Path) -> None:
    with blackhole() as port:
        inv = dead_address_inventory(port, endpoints=4)
        result = run_suite(tmp_path, inv)
    cases = junit_cases(tmp_path)
    failures = [c.find("failure") for c in cases.values()]
    assert len(cases) >= 9 and all(f is not None for f in failures)
    messages = [f.get("message", "") for f in failures if f is not None]
    fast = [m for m in messages if "(first seen in" in m]
    # Only e0's tests (they share one probe) may wait for the timeout; every other test fails at once
    # naming the test that first saw it. Behaviour, not a stopwatch (durations: bench/dead_target.py).
    waited = [m for m in messages if m not in fast]
    assert 1 <= len(waited) <= 2 and all("time" in m.lower() for m in waited), result.stdout[-2000:]
    assert len(fast) == len(cases) - len(waited)


def test_wait_retries_readiness_then_fails_with_the_cause(tmp_path: Path) -> None:
    port = closed_port()
    result = run_suite(
        tmp_path, f"[[host.ports]]\nname='p'\nhost='127.0.0.1'\nport={port}\n", "--wait=2", "-s"
    )
    output = result.stderr + result.stdout
    assert result.returncode == 1
    assert f"waiting up to 2s for 127.0.0.1:{port}" in output
    # It kept retrying until its deadline, then said so (the clock is the plugin's, not this test's).
    assert f"127.0.0.1:{port} still unreachable after 2s" in output


def test_without_wait_nothing_retries(tmp_path: Path) -> None:
    result = run_suite(tmp_path, f"[[host.ports]]\nname='p'\nhost='127.0.0.1'\nport={closed_port()}\n", "-s")
    assert result.returncode == 1 and "waiting" not in result.stderr + result.stdout


def test_junit_records_check_id_and_severity(tmp_path: Path) -> None:
    run_suite(tmp_path, f"[[host.ports]]\nname='p'\nhost='127.0.0.1'\nport={closed_port()}\n")
    case = junit_cases(tmp_path)["test_port_reachable[HOST-PORT-REACHABLE t/p]"]
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    # Root-cause judgement (fixtures/rootcause.py) adds where the check ran and, since nothing listens on
    # the port, which failure blocks this one (its prerequisite HOST-PORT-LISTENING, same entry); the
    # probe marks the address it found dead (fixtures/facts.py).
    assert props == {
        "check": "HOST-PORT-REACHABLE",
        "severity": "critical",
        "target": "t",
        "entry": "host.ports/p",
        "endpoint": props.get("endpoint"),
        "dead_address": props.get("endpoint"),
        "blocked_by": "HOST-PORT-LISTENING t/p",
    }, props


def test_critical_marker_selects_the_deploy_gate(tmp_path: Path) -> None:
    inv = f"[[postgres]]\nname='db'\nhost='127.0.0.1'\nport={closed_port()}\ndbname='d'\nuser='u'\n"
    run_suite(tmp_path, inv, "-m", "critical")
    cases = list(junit_cases(tmp_path))
    # PG-READY and the later critical PG-* checks (connections, long queries, locks); no warning check.
    assert "test_postgres_accepts_connections[PG-READY t/db]" in cases
    assert all(c.startswith("test_postgres_") for c in cases)
    assert not any("conninfo" in c or "session_is_expected" in c for c in cases)


def test_silent_target_costs_one_read_timeout_across_facts_and_exchanges(tmp_path: Path) -> None:
    # Accepted, then not one byte: the first exchange waits its read timeout; every later one (a monitoring
    # API, a second [[auth]] login, the published defaults tried on every [[auth]]) is answered at once
    # from the fail-fast memory, whichever binding sends it (facts and ``ctx.send`` alike).
    with accept_silent() as port:
        auth = "".join(
            f"[[auth]]\nname='a{i}'\nlogin_url='http://127.0.0.1:{port}/login{i}'\nusername='u'\n"
            "password_env='T_PW'\ntokens={access='access_token'}\n"
            for i in range(2)
        )
        inv = (
            "[target]\nconnect_timeout = 1.0\nread_timeout = 1.0\n"
            f"[[alertmanager]]\nname='am'\nurl='http://127.0.0.1:{port}'\n"
            + auth
            + "[security]\ndefault_credentials = ['admin:admin', 'user:password']\n"
        )
        result = run_suite(tmp_path, inv, env={"T_PW": "pw"})
    cases = junit_cases(tmp_path)
    failures = [c.find("failure") for c in cases.values()]
    messages = [f.get("message", "") for f in failures if f is not None]
    # Timed out on its own clock (not answered from the memory); other failures (e.g. SEC-DEFAULT-SECRETS:
    # no protected_url declared) are the inventory's, not the endpoint's.
    waited = [m for m in messages if "timed out" in m and "first seen in" not in m]
    remembered = [m for m in messages if "first seen in" in m]
    assert len(cases) >= 6 and len(messages) == len(cases), result.stdout[-2000:]
    assert len(waited) == 1 and len(remembered) >= 5, result.stdout[-3000:]


def test_a_dead_address_is_one_root_cause_blocking_the_checks_that_failed_fast(tmp_path: Path) -> None:
    # Four HTTP endpoints and a Redis on one closed port: no prerequisite links Redis to HTTP, yet it is
    # one cause (the address is dead). The test that found it is the root; every test that failed fast
    # for it says "blocked by" that test's check and carries first_seen_in in JUnit.
    port = closed_port()
    inv = "".join(f"[[http.endpoints]]\nname='e{i}'\nurl='http://127.0.0.1:{port}/{i}'\n" for i in range(4))
    result = run_suite(tmp_path, inv + f"[[redis]]\nname='r'\nhost='127.0.0.1'\nport={port}\n")
    roots = [line for line in result.stdout.splitlines() if line.startswith("root cause: ")]
    assert len(roots) == 1, result.stdout[-3000:]
    cases = junit_cases(tmp_path)
    props = {name: {p.get("name"): p.get("value") for p in c.iter("property")} for name, c in cases.items()}
    fast = {name: p for name, p in props.items() if "first_seen_in" in p}
    assert fast and all(p.get("blocked_by") for p in fast.values()), props
    # Whichever ran first found it: checks of both kinds (no prerequisite between them) are blocked by it.
    assert any("[REDIS-" in name for name in fast) and any("[HTTP-" in name for name in fast), props
    blocked = roots[0].split()[2] + " t/"
    assert all(p["blocked_by"].startswith(blocked) for p in fast.values()), (roots, props)
