"""Self-test fixtures shared by e2e/ and load/: the reference stack, started here when it is down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from selftest.helpers import StackCli


@pytest.fixture(scope="session")
def stack() -> Iterator[StackCli]:
    """The reference stack, healthy; stopped at the end only when this session started it."""
    cli = StackCli()
    already_up = cli.is_up()
    cli.up()
    yield cli
    cli.heal_all()
    if not already_up:
        cli.down()
