"""A target's own remedies and runbook override the catalog's generic hint in failure messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.messages import failure_message
from infragate.catalog import load_catalog
from infragate.inventory import InventoryError, load_target

BASE = "[[redis]]\nname = 'cache'\nhost = '127.0.0.1'\nport = 6379\n"


def _target(tmp_path: Path, extra: str) -> object:
    path = tmp_path / "t.toml"
    path.write_text(extra + BASE)
    return load_target(path)


def test_entry_remedy_beats_check_remedy_beats_catalog(tmp_path: Path) -> None:
    target = _target(
        tmp_path,
        '[target]\nrunbook = "https://wiki.example/ops/redis"\n'
        '[remedies]\n"REDIS-PING" = "restart redis-cache.service"\n'
        '"REDIS-PING/cache" = "failover: promote the replica"\n',
    )
    catalog = load_catalog()
    (entry,) = target.redis  # type: ignore[attr-defined]
    text = failure_message(catalog["REDIS-PING"], target, entry, expected="PONG", seen="refused")  # type: ignore[arg-type]
    assert "remedy: failover: promote the replica\nrunbook: https://wiki.example/ops/redis" in text
    other = failure_message(catalog["REDIS-MEMORY"], target, entry, expected="x", seen="y")  # type: ignore[arg-type]
    assert f"remedy: {catalog['REDIS-MEMORY'].hint}" in other


def test_unknown_check_id_in_remedies_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match=r"remedies\.NOPE-CHECK: 'NOPE-CHECK' is not a catalog check id"):
        _target(tmp_path, '[remedies]\n"NOPE-CHECK" = "x"\n')


def test_failure_message_never_quotes_an_inventory_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A log line or config line quoted as evidence may carry a secret the inventory knows: the message
    # keeps the evidence and drops the value.
    monkeypatch.setenv("T_REDIS_PW", "s3cret-redis-pw")
    path = tmp_path / "t.toml"
    path.write_text(BASE + "password_env = 'T_REDIS_PW'\n")
    target = load_target(path)
    (entry,) = target.redis  # type: ignore[attr-defined]
    seen = "2 error lines: 'ERROR auth failed for password=s3cret-redis-pw on cache'"
    text = failure_message(load_catalog()["REDIS-PING"], target, entry, expected="PONG", seen=seen)  # type: ignore[arg-type]
    assert "s3cret-redis-pw" not in text and "ERROR auth failed for password=*** on cache" in text
