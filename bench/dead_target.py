"""The whole suite against a closed port, a blackhole and a port that accepts and never answers.

Every endpoint of inventory/local.toml, and the machine's own ssh transport, is pointed at one loopback
address. With fast failure (one memory per TCP address, for probes and hosts) and probe deadlines the run
costs about one timeout plus start-up, not one timeout per test; a blackhole's connect timeout runs from
the TCP connect made to every declared address when the run starts, beside start-up and collection
(fixtures/early.py EarlyConnects), a silent server's read timeout from the first test. Prints, for each case,
the number of tests and the wall time as a ratio to the connect timeout (goal: at most 1.5 x), and
refuses to print a ratio for a run in which no test ran (a bench that measured nothing). When the goal
is not met it prints the two parts apart: the suite's own cost (the closed-port run, which waits for
nothing) and what each other case waits on top of it. CPU seconds and the load average are printed
too: on a shared machine wall time also counts waiting for a core. ``--repeat N`` keeps the fastest of
N runs per case. For scale it also times pytest alone: as many trivial tests as the closed-port run ran,
each failing at once with ``pytest.fail(pytrace=False)``, under the same ini options and plugins but none of
ours (its start-up and collection too): the part of the wall time no change of ours can remove. And, per
case, pytest alone whose first test waits that case's timeout counted from its conftest's import (the
earliest a suite's own code can start a connect): the floor of any pytest suite of as many tests here,
printed beside each case, which says when the goal is below it.

- closed port: nothing listens (connection refused at once);
- blackhole: a listener whose accept queue is full, so the kernel drops new SYNs (connect timeout),
  on loopback only;
- accept-and-silent: a server that accepts every connection (TLS ports included) and never sends a byte.

Needs nothing running; the secrets come from `python -m stack env` (generated when missing).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import sys
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

from _common import (  # type: ignore[import-not-found]
    ROOT,
    SuiteRun,
    run_pytest_full,
    run_suite_full,
    stack_secrets,
)

CONNECT_TIMEOUT, READ_TIMEOUT = 2.0, 5.0
GOAL = 1.5


def _inventory(port: int) -> str:
    text = (ROOT / "inventory" / "local.toml").read_text()
    text = re.sub(r"\b184\d\d\b", str(port), text)
    # The machine is dead too: its host checks go over ssh to the same address (not the bench's own
    # machine through local://, which would read live files and time nothing about a dead target).
    text = re.sub(
        r'(?m)^transport = "local://"$',
        f'transport = "ssh://root@127.0.0.1:{port}?ssh_config=/dev/null"',
        text,
    )
    text = re.sub(r"connect_timeout = [\d.]+", f"connect_timeout = {CONNECT_TIMEOUT}", text)
    text = re.sub(r"read_timeout = [\d.]+", f"read_timeout = {READ_TIMEOUT}", text)
    # No CA bundle (the stack need not have run): the system store; handshakes fail or time out anyway.
    text = re.sub(r"(?m)^ca_bundle = .*$", "", text)
    return text.replace('"../.run/', f'"{ROOT}/.run/')


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@contextlib.contextmanager
def _blackhole() -> Iterator[int]:
    """A loopback listener with a full accept queue: SYNs are dropped, connects time out."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    port: int = sock.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        sock.close()


@contextlib.contextmanager
def _accept_silent() -> Iterator[int]:
    """A loopback server that accepts every connection and never answers (a hung TLS/HTTP server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        thread.join(5)
        for conn in held:
            conn.close()


# What each of ours does on a dead target, and nothing else: fail at once with a message of the same shape.
_FLOOR_CONFTEST = "import time\n\nSTART = time.monotonic()\n"
_FLOOR_TEST = """import time

import conftest
import pytest

SEEN = (
    "seen 127.0.0.1:9 unreachable or hung (first seen in tests_infra/test_x.py::test_y[CHECK t/entry]): "
    "[Errno 111] Connection refused; not retried, so this run stays fast"
)


@pytest.mark.parametrize("i", range(TESTS))
def test_fails_at_once(i):
    if i == 0 and WAIT:  # the first test waits out one timeout, as the first to meet a dead address does,
        # counted from the earliest moment a suite's own code runs (its conftest: where a connect can start)
        time.sleep(max(0.0, conftest.START + WAIT - time.monotonic()))
    message = f"[CHECK-{i}] t/entry (127.0.0.1:9): expected the check to pass; {SEEN}"
    pytest.fail(message + "\\nremedy: start the service", pytrace=False)
"""


def _pytest_floor(tests: int, out: Path) -> tuple[SuiteRun, SuiteRun, SuiteRun, SuiteRun]:
    """pytest alone, timed like the suite: ``tests`` trivial tests that fail at once as ours do on a dead
    target (one ``pytest.fail(..., pytrace=False)`` with a message of the same shape), with this project's
    ini options (addopts, junit_family, timeout) and the installed plugins, and no conftest of ours.
    Returns (the full run, its --collect-only start-up, the full run whose first test waits until one
    connect timeout after its conftest was imported, and the same with one read timeout): the least any
    pytest suite of as many tests can take here on a closed port, a blackhole and a silent server (a
    suite's own code runs from its conftest on; a timeout cannot start earlier)."""
    floor = out / "pytest-floor"
    floor.mkdir(exist_ok=True)
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    kept = {k: v for k, v in options.items() if k not in ("testpaths", "pythonpath")}
    lines = ["[pytest]"]
    for key, value in kept.items():
        if isinstance(value, list):
            lines.append(f"{key} =" + "".join(f"\n    {v}" for v in value))
        else:
            lines.append(f"{key} = {str(value).lower() if isinstance(value, bool) else value}")
    (floor / "pytest.ini").write_text("\n".join(lines) + "\n")
    (floor / "conftest.py").write_text(_FLOOR_CONFTEST)
    waits = []
    for wait in (0.0, CONNECT_TIMEOUT, READ_TIMEOUT):
        (floor / "test_floor.py").write_text(
            _FLOOR_TEST.replace("TESTS", str(tests)).replace("WAIT", repr(wait))
        )
        waits.append(run_pytest_full("test_floor.py", env={}, out=out, cwd=floor))
        if not wait:
            startup = run_pytest_full("test_floor.py", "--collect-only", env={}, out=out, cwd=floor)
    return waits[0], startup, waits[1], waits[2]


def _redact(text: str, secrets: dict[str, str]) -> str:
    for value in secrets.values():
        if value:
            text = text.replace(value, "***")
    return text


def _fastest(runs: list[SuiteRun]) -> SuiteRun:
    """The run with the least wall time among those that ran tests (repeats filter a busy machine's noise)."""
    ran = [r for r in runs if r.tests] or runs
    return min(ran, key=lambda r: r.seconds)


def _run(label: str, port: int, out: Path, env: dict[str, str]) -> SuiteRun:
    (out / f"{label}.toml").write_text(_inventory(port))
    return run_suite_full(f"--host={label}", f"--inventory={out}", env=env, out=out)


def _x(seconds: float) -> str:
    return f"{seconds / CONNECT_TIMEOUT:.2f} x connect timeout"


def _separate(runs: dict[str, SuiteRun]) -> None:
    """Goal not met: the suite's own cost (the closed-port run, which waits for nothing) apart from the time
    each other case spends waiting on top of it, so that neither hides the other."""
    base = runs["closed port"]
    print(
        f"goal not met; the two parts: the suite's own cost on a dead target (closed port, nothing to wait "
        f"for: start-up, {base.tests} tests failing fast, diagnostics, root causes, reports) is "
        f"{base.seconds:.2f} s = {_x(base.seconds)} ({base.cpu:.2f} s CPU); the waiting on top of it is"
    )
    for label in ("blackhole", "accept-and-silent"):
        run = runs.get(label)
        if run is None or not run.tests:
            continue
        extra = run.seconds - base.seconds
        bound = CONNECT_TIMEOUT if label == "blackhole" else READ_TIMEOUT
        what = "one connect timeout" if label == "blackhole" else "one read timeout"
        why = "a dropped SYN" if label == "blackhole" else "a server that accepted and says nothing"
        # The connect timeout runs from the TCP connect started with the run (fixtures/early.py
        # EarlyConnects): what of it overlaps pytest's start-up and collection does not show here. A silent
        # server's read timeout runs from the first test that sends it something.
        when = (
            "counted from the connect started with the run, less what overlaps start-up"
            if label == "blackhole"
            else "counted from the first test that reaches it"
        )
        print(
            f"  {label:18} {extra:+6.2f} s = {_x(extra)} (floor: {what}, {bound:g} s = {_x(bound)}, {when}: "
            f"{why} is known only once it has run out; a difference of two noisy runs)"
        )


def main() -> int:
    """Time the suite against the three dead targets; exit 1 when a run ran no test."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per case; the fastest is reported (default 1)"
    )
    repeat = max(1, parser.parse_args().repeat)
    env = stack_secrets()
    load_before = os.getloadavg()[0]
    runs: dict[str, SuiteRun] = {}
    tried: dict[str, list[SuiteRun]] = {}
    with tempfile.TemporaryDirectory() as tmp, _blackhole() as dropped, _accept_silent() as silent:
        out = Path(tmp)
        (out / "startup.toml").write_text(_inventory(_closed_port()))
        # Rounds of every case in turn (not each case's repeats in a row): a busy spell of the shared machine
        # then slows one run of each case, not every run of one case.
        for _ in range(repeat):
            tried.setdefault("startup", []).append(
                run_suite_full("--host=startup", f"--inventory={out}", "--collect-only", env=env, out=out)
            )
            tried.setdefault("closed port", []).append(_run("closed", _closed_port(), out, env))
            tried.setdefault("blackhole", []).append(_run("blackhole", dropped, out, env))
            tried.setdefault("accept-and-silent", []).append(_run("silent", silent, out, env))
            tests = max((r.tests for r in tried["closed port"]), default=0) or 245
            full, collect, connect_wait, read_wait = _pytest_floor(tests, out)
            tried.setdefault("floor", []).append(full)
            tried.setdefault("floor start-up", []).append(collect)
            tried.setdefault("floor blackhole", []).append(connect_wait)
            tried.setdefault("floor accept-and-silent", []).append(read_wait)
        for label in ("closed port", "blackhole", "accept-and-silent"):
            runs[label] = _fastest(tried[label])
        startup = _fastest(tried["startup"])
        floor, floor_startup = _fastest(tried["floor"]), _fastest(tried["floor start-up"])
        floors = {
            "closed port": floor,
            "blackhole": _fastest(tried["floor blackhole"]),
            "accept-and-silent": _fastest(tried["floor accept-and-silent"]),
        }
    load_after = os.getloadavg()[0]
    print(f"timeouts: connect {CONNECT_TIMEOUT:g} s, read {READ_TIMEOUT:g} s; goal <= {GOAL:g} x connect")
    # Wall time on a shared machine also counts waiting for a core: the CPU seconds say how much of it was
    # the run's own work, the load average how busy the machine was.
    print(
        f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before and {load_after:.1f} after; "
        f"fastest of {repeat} run(s) per case"
    )
    alone = f"{startup.seconds:.2f} s ({startup.cpu:.2f} s CPU)"
    print(f"start-up and collection alone (--collect-only): {alone}")
    print(
        f"pytest alone, for scale: {floor.tests} trivial tests failing at once, same ini options and "
        f"plugins, none of ours: {floor.seconds:.2f} s = {_x(floor.seconds)} ({floor.cpu:.2f} s CPU; "
        f"its start-up and collection {floor_startup.seconds:.2f} s)"
    )
    measured_nothing = False
    above = False
    for label, run in runs.items():
        if run.tests == 0:
            measured_nothing = True
            print(
                f"{label:18} {run.seconds:6.2f} s  NO TEST RAN (exit {run.code}): no ratio. {run.last_line}"
            )
            continue
        ratio = run.seconds / CONNECT_TIMEOUT
        net = (run.seconds - startup.seconds) / CONNECT_TIMEOUT
        above = above or ratio > GOAL
        least = floors[label]
        # What pytest alone takes for as many tests failing at once, the first one waiting what this case
        # waits from its conftest on: no pytest suite does better here; a goal under it no change meets.
        under = (
            " (the goal is below pytest's own floor for this case)"
            if least.seconds > GOAL * CONNECT_TIMEOUT
            else ""
        )
        print(
            f"{label:18} {run.seconds:6.2f} s  {run.tests} tests, {run.failed} failed (exit {run.code}); "
            f"{ratio:.2f} x connect timeout ({net:.2f} x without start-up), "
            f"{'within' if ratio <= GOAL else 'ABOVE'} the goal; {run.cpu:.2f} s CPU; "
            f"pytest alone: {least.seconds:.2f} s = {_x(least.seconds)}{under}, "
            f"ours {run.seconds / least.seconds:.2f} x that"
        )
    # The closed port waits for nothing (refused at once): its time is the suite's own cost on a dead
    # target (start-up, 245 tests failing, reports). What a blackhole or a silent port adds on top of it is
    # the waiting fail-fast is meant to bound: about one timeout for the run, not one per test.
    base = runs.get("closed port")
    if base is not None and base.tests:
        for label in ("blackhole", "accept-and-silent"):
            other = runs.get(label)
            if other is not None and other.tests:
                extra = other.seconds - base.seconds
                print(
                    f"{label:18} waits {extra:+6.2f} s over the closed port: "
                    f"{extra / CONNECT_TIMEOUT:.2f} x connect timeout, "
                    f"{extra / READ_TIMEOUT:.2f} x read timeout"
                )
        if above:
            _separate(runs)
            ours = base.seconds - floor.seconds
            print(
                f"  of the closed port's {base.seconds:.2f} s, pytest alone takes {floor.seconds:.2f} s "
                f"({_x(floor.seconds)}) for as many failing tests: ours (our imports, inventory, "
                f"parametrization, fixtures, fail-fast, root causes, reports) is {ours:+.2f} s = {_x(ours)}"
            )
    most = max((r.tests for r in runs.values()), default=0)
    print(f"naive bound (one connect timeout per test): {most * CONNECT_TIMEOUT:.0f} s")
    return 1 if measured_nothing else 0


if __name__ == "__main__":
    sys.exit(main())
