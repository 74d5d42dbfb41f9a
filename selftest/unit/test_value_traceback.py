"""A failure raised with pytrace=False keeps only its last frames before pytest formats it
(fixtures/report.py): pytest shows it as its message alone, and filtering a deep traceback cost 0.7 s of a
dead target's 245-test run."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from fixtures.report import pytest_runtest_makereport


def _deep(levels: int, **fail: Any) -> None:
    if levels:
        _deep(levels - 1, **fail)
    pytest.fail("[HTTP-HEALTH] t/api: expected 200; seen 127.0.0.1:9 unreachable", **fail)


def _call(**fail: Any) -> pytest.CallInfo[None]:
    return pytest.CallInfo.from_call(lambda: _deep(30, **fail), when="setup")


def _wrap(call: pytest.CallInfo[None], fulltrace: bool = False) -> None:
    item = SimpleNamespace(config=SimpleNamespace(getoption=lambda name, default=None: fulltrace))
    hook = pytest_runtest_makereport(item, call)  # type: ignore[arg-type]
    next(hook)
    with pytest.raises(StopIteration):
        hook.send(None)


def test_a_message_only_failure_keeps_its_last_frames() -> None:
    call = _call(pytrace=False)
    before = str(call.excinfo.getrepr(style="value")) if call.excinfo else ""
    _wrap(call)
    assert call.excinfo is not None and len(call.excinfo.traceback) == 3
    assert str(call.excinfo.getrepr(style="value")) == before
    assert "unreachable" in before


def test_a_failure_with_its_traceback_keeps_every_frame() -> None:
    call = _call()
    assert call.excinfo is not None
    frames = len(call.excinfo.traceback)
    _wrap(call)
    assert len(call.excinfo.traceback) == frames > 30


def test_fulltrace_keeps_every_frame() -> None:
    call = _call(pytrace=False)
    assert call.excinfo is not None
    frames = len(call.excinfo.traceback)
    _wrap(call, fulltrace=True)
    assert len(call.excinfo.traceback) == frames > 30
