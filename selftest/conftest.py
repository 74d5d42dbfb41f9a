"""Self-test fixtures shared by e2e/ and load/: the reference stack, started here when it is down.

Under pytest-xdist each worker gets a stack of its own (pytest_configure below): the end-to-end tests
fault and heal the stack, so two workers on one stack would break each other's runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from selftest.helpers import StackCli

# A worker's stack sits this many ports above (or, near the top, below) the session's base: the stack's
# listeners span base..base+99 (stack/layout.py PORT_OFFSETS), so bases 1000 apart never overlap.
WORKER_PORT_STEP = 1000
# The port bases stack/layout.py port_base accepts (below the kernel's ephemeral range, 32768+).
MIN_PORT_BASE, MAX_PORT_BASE = 1024, 32768 - 100


def worker_stack_env(worker: str, environ: dict[str, str]) -> dict[str, str]:
    """The variables that give xdist worker ``worker`` (gwN) its own stack; gw0 keeps the session's.

    Worker N > 0: port base + 1000*N (- 1000*N when that would reach the ephemeral range; the same rule
    as stack/layout.py), run dir ``<run dir>-gwN``. Every worker (gw0 too) shares gw0's image cache, so
    the deployment part's images are built once, by whichever stack gets there first (stack/docker.py).
    """
    from stack import layout

    match = re.fullmatch(r"gw(\d+)", worker)
    index = int(match.group(1)) if match else 0
    base, run_dir = layout.port_base(), layout.run_dir()
    env = {"INFRAGATE_IMAGE_CACHE": environ.get("INFRAGATE_IMAGE_CACHE") or str(run_dir / "images")}
    if index == 0:
        return env
    shifted = base + WORKER_PORT_STEP * index
    if shifted > MAX_PORT_BASE:
        shifted = base - WORKER_PORT_STEP * index
    if not MIN_PORT_BASE <= shifted <= MAX_PORT_BASE:
        raise pytest.UsageError(
            f"xdist worker {worker}: no port base for its stack 1000*{index} away from {base} "
            f"inside {MIN_PORT_BASE}..{MAX_PORT_BASE}; use fewer workers or another base"
        )
    env["INFRAGATE_STACK_PORT_BASE"] = str(shifted)
    env["INFRAGATE_RUN_DIR"] = f"{run_dir}-{worker}"
    return env


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """An xdist worker points the stack variables at its own stack before any fixture reads them."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return
    # Set in the process environment: the stack CLI, the prefork server and every suite run inherit it.
    os.environ.update(worker_stack_env(str(workerinput["workerid"]), dict(os.environ)))


@dataclass
class StackSession:
    """This session's use of the stack: whether it was up before, and why starting it failed."""

    cli: StackCli
    already_up: bool = True
    error: Exception | None = None
    finished: bool = False

    def start(self) -> None:
        """Start (or heal) the stack; a failure is kept for the fixture to raise in each test needing it."""
        try:
            self.already_up = self.cli.is_up()
            self.cli.up()
        except Exception as err:
            self.error = err

    def finish(self) -> None:
        """Heal every fault; stop the stack when this session started it. Once."""
        if self.finished or self.error is not None:
            return
        self.finished = True
        self.cli.heal_all()
        if not self.already_up:
            self.cli.down()


STACK = pytest.StashKey[StackSession]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Start the stack before the first test when any selected test uses it.

    Here, not in the fixture: a first start (minutes while the deployment part builds its images, or a
    second xdist worker's stack waits for them) would count against the first test's pytest-timeout,
    which covers fixture setup (some e2e modules allow 300 s).
    """
    config = session.config
    if config.option.collectonly or (session.testsfailed and not config.option.continue_on_collection_errors):
        return
    if any("stack" in getattr(item, "fixturenames", ()) for item in session.items):
        state = StackSession(StackCli())
        config.stash[STACK] = state
        state.start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop what the session started even when no test used it (an xdist worker given no stack test)."""
    state = session.config.stash.get(STACK, None)
    if state is not None:
        state.finish()


@pytest.fixture(scope="session")
def stack(pytestconfig: pytest.Config) -> Iterator[StackCli]:
    """The reference stack, healthy; stopped at the end only when this session started it."""
    state = pytestconfig.stash.get(STACK, None)
    if state is None:  # not started before the tests (a test requested the fixture dynamically)
        state = pytestconfig.stash[STACK] = StackSession(StackCli())
        state.start()
    if state.error is not None:
        raise state.error
    yield state.cli
    state.finish()
