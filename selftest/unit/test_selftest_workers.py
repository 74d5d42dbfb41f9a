"""Each xdist worker of the self-tests gets a stack of its own (selftest/conftest.py worker_stack_env)."""

from __future__ import annotations

from pathlib import Path

import pytest

from selftest.conftest import worker_stack_env


@pytest.fixture
def session_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The session's stack: port base 20000, run dir under tmp_path, no image cache chosen."""
    monkeypatch.setenv("INFRAGATE_STACK_PORT_BASE", "20000")
    monkeypatch.setenv("INFRAGATE_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.delenv("INFRAGATE_IMAGE_CACHE", raising=False)
    return tmp_path / "run"


def test_first_worker_keeps_the_session_stack_and_shares_its_image_cache(session_stack: Path) -> None:
    assert worker_stack_env("gw0", {}) == {"INFRAGATE_IMAGE_CACHE": str(session_stack / "images")}


def test_other_workers_get_their_own_ports_and_run_dir(session_stack: Path) -> None:
    gw1, gw2 = worker_stack_env("gw1", {}), worker_stack_env("gw2", {})
    assert gw1 == {
        "INFRAGATE_IMAGE_CACHE": str(session_stack / "images"),
        "INFRAGATE_STACK_PORT_BASE": "21000",
        "INFRAGATE_RUN_DIR": f"{session_stack}-gw1",
    }
    assert gw2["INFRAGATE_STACK_PORT_BASE"] == "22000" and gw2["INFRAGATE_RUN_DIR"] == f"{session_stack}-gw2"


def test_a_chosen_image_cache_is_kept(session_stack: Path, tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    assert worker_stack_env("gw1", {"INFRAGATE_IMAGE_CACHE": cache})["INFRAGATE_IMAGE_CACHE"] == cache


def test_near_the_ephemeral_range_the_worker_goes_below(
    session_stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFRAGATE_STACK_PORT_BASE", "32000")
    assert worker_stack_env("gw1", {})["INFRAGATE_STACK_PORT_BASE"] == "31000"


def test_no_base_left_is_a_usage_error(session_stack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFRAGATE_STACK_PORT_BASE", "32000")
    with pytest.raises(pytest.UsageError, match="no port base"):
        worker_stack_env("gw40", {})
