"""What a run costs per test on a dead target, as counts rather than a stopwatch (durations:
bench/dead_target.py): work per test must not grow with the number of tests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from fixtures.hostwarm import AHEAD, _window


class _Item:
    """Just what fixtures/hostwarm.py reads of a test: its id, host marker, stash, config and session."""

    def __init__(self, nodeid: str, host: str | None, session: Any, counter: list[int]) -> None:
        self.nodeid, self.session, self.config = nodeid, session, SimpleNamespace()
        self.stash = pytest.Stash()
        self._host, self._counter = host, counter

    def get_closest_marker(self, name: str) -> Any:
        self._counter[0] += 1
        return SimpleNamespace(args=(self._host,)) if name == "infragate_host" and self._host else None


def test_the_connect_ahead_window_reads_each_test_s_host_once() -> None:
    # 300 tests, one in ten on a host (of two): every test looks at the hosted tests after it. Reading
    # the markers of every later test from every test made a run quadratic (29,000 lookups for 236 tests).
    lookups = [0]
    session = SimpleNamespace(items=[], stash=pytest.Stash())
    hosts = {i: f"h{i % 20 // 10}" for i in range(0, 300, 10)}
    session.items = [_Item(f"t{i}", hosts.get(i), session, lookups) for i in range(300)]
    windows = [_window(item) for item in session.items]  # type: ignore[arg-type]
    assert lookups[0] <= len(session.items)
    # Same window as before: the other hosts ahead (at most AHEAD) and the hosted tests after each test.
    first_hosts, first_tests = windows[0]
    assert first_hosts == ["h1"] and len(first_hosts) <= AHEAD
    assert [t.nodeid for t in first_tests] == [f"t{i}" for i in range(10, 300, 10)]
    assert windows[295] == ([], [])
