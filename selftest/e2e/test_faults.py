"""Every fault breaks exactly the checks it should, with a message naming the cause.

The faults are data (stack/faults.toml): each names the check ids that must fail, the ones that may fail
as collateral, and a word the failure message must contain. A check never seen failing is not done.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from stack.api import faults

ROOT = Path(__file__).resolve().parents[2]
INFRA_FAULTS = [f for f in faults() if not all(i.startswith("LOAD-") for i in f.expect_fail)]


def _faulted_run(fault: Any, stack: Any, run_suite: Any, name: str) -> Any:
    stack.fault(fault.name)
    try:
        return run_suite(name=name)
    finally:
        stack.heal(fault.name)


def _off_target(fault: Any, run: Any) -> set[str]:
    failed = run.failed()
    missing = set(fault.expect_fail) - set(failed)
    unrelated = set(failed) - set(fault.expect_fail) - set(fault.may_fail)
    return missing | unrelated


@pytest.mark.parametrize("fault", INFRA_FAULTS, ids=[f.name for f in INFRA_FAULTS])
def test_fault_fails_the_right_checks(fault: Any, stack: Any, run_suite: Any) -> None:
    run = _faulted_run(fault, stack, run_suite, f"fault-{fault.name}")
    if _off_target(fault, run):
        # One more full cycle (fault, run, heal) before judging: on a shared 2-core machine a probe can
        # time out for reasons outside the fault. The first run's outcome is printed, never hidden.
        print(f"{fault.name}: first run off target {sorted(_off_target(fault, run))}; retrying once")
        run = _faulted_run(fault, stack, run_suite, f"fault-{fault.name}-retry")
    failed = run.failed()
    assert run.returncode == 1, run.stdout[-3000:]
    assert run.leaked(stack.secrets()) == []  # error paths print the most: no secret in them either
    missing = set(fault.expect_fail) - set(failed)
    assert not missing, (
        f"{fault.name}: expected failures not seen: {sorted(missing)}; failed: {sorted(failed)}"
    )
    unrelated = set(failed) - set(fault.expect_fail) - set(fault.may_fail)
    assert not unrelated, (
        f"{fault.name}: unrelated checks failed: { {k: failed[k][0][:200] for k in unrelated} }"
    )
    for check_id in fault.expect_fail:
        messages = failed[check_id]
        word = fault.message_for(check_id)
        assert any(word.lower() in m.lower() for m in messages), (
            f"{fault.name}: no {check_id} failure mentions {word!r}: {messages[0][:400]}"
        )
        assert all("remedy:" in m or "unreachable (first seen in" in m for m in messages), messages


def test_every_check_is_seen_failing_under_some_fault() -> None:
    """A check that has never been seen failing is not done: each id in tests_infra is some fault's target."""
    marked = set()
    for path in (ROOT / "tests_infra").rglob("test_*.py"):
        marked.update(re.findall(r"check\(\s*[\"']([A-Z0-9-]+)[\"']", path.read_text()))
    covered = {i for f in INFRA_FAULTS for i in f.expect_fail}
    assert marked and marked <= covered, sorted(marked - covered)
