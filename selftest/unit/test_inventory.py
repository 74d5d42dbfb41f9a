"""Inventory loading: typed objects, one-line errors, secrets by env-var name, threshold resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from infragate.catalog import load_catalog
from infragate.inventory import (
    InventoryError,
    Secret,
    components,
    find_inventory,
    load_target,
    resolve_threshold,
)

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str, name: str = "t") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_local_inventory_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFRAGATE_LOCAL_PG_PASSWORD", "pg-secret")
    monkeypatch.setenv("INFRAGATE_LOCAL_REDIS_PASSWORD", "redis-secret")
    monkeypatch.setenv("INFRAGATE_LOCAL_APP_PASSWORD", "app-secret")  # [load] scenarios log in
    monkeypatch.setenv("INFRAGATE_LOCAL_JWT_SECRET", "jwt-secret")  # [auth] signing_secret_env
    target = load_target(ROOT / "inventory" / "local.toml")
    assert target.name == "local" and not target.sensitive
    assert [e.name for e in components(target, "tls.endpoints")] == ["proxy"]
    assert (
        target.postgres[0].password_env is not None and target.postgres[0].password_env.value == "pg-secret"
    )


def test_example_inventory_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PROD_PG_PASSWORD", "PROD_REDIS_PASSWORD", "PROD_APP_PASSWORD"):
        monkeypatch.setenv(name, "x")
    target = load_target(ROOT / "inventory" / "example.toml")
    assert target.sensitive


def test_secret_repr_never_shows_value() -> None:
    secret = Secret(env="X_PASSWORD", value="hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[target]\nsensitiv = true\n", "unknown key 'sensitiv'"),
        ("[target]\nconnect_timeout = 'fast'\n", "connect_timeout: expected a number, got 'fast'"),
        ("[[redis]]\nname = 'c'\nhost = 'h'\nport = '6379'\n", "redis[0].port: expected an integer"),
        ("[[redis]]\nhost = 'h'\n", "redis[0]: missing required key 'name'"),
        (
            "[[postgres]]\nname='p'\nhost='h'\ndbname='d'\nuser='u'\npassword_env='NOPE_UNSET_VAR'\n",
            "postgres[0].password_env: environment variable NOPE_UNSET_VAR is not set",
        ),
        (
            "[[redis]]\nname='c'\nhost='h'\npassword_env='s3cr3t pasted here'\n",
            "password_env: expected the NAME of an environment variable",
        ),
        (
            "[thresholds.TLS-CERT-EXPIRY]\nmin_dayz = 3\n",
            "thresholds.TLS-CERT-EXPIRY.min_dayz: unknown threshold",
        ),
        ("[thresholds.NOT-A-CHECK]\nx = 1\n", "thresholds.NOT-A-CHECK: not a catalog check id"),
        ("[target]\nname = 'x'\n", "target.name: set by the file name"),
        ("[[tls.endpoints]]\nname='p'\nhost='h'\nmin_version='TLSv1'\n", "expected one of TLSv1.2, TLSv1.3"),
        ("not toml ===", "not valid TOML"),
    ],
    ids=[
        "unknown-key",
        "wrong-type",
        "string-port",
        "missing-key",
        "unset-secret",
        "pasted-secret",
        "unknown-threshold",
        "unknown-check",
        "name-in-file",
        "literal",
        "bad-toml",
    ],
)
def test_invalid_inventory_is_one_line_naming_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InventoryError) as info:
        load_target(path)
    text_out = str(info.value)
    assert message in text_out and text_out.startswith(str(path)) and "\n" not in text_out
    assert "s3cr3t" not in text_out


def test_unknown_target_lists_known_ones(tmp_path: Path) -> None:
    _write(tmp_path, "", "staging")
    with pytest.raises(InventoryError, match=r"unknown target 'prod'.*known targets: staging"):
        find_inventory("prod", tmp_path)


def test_threshold_entry_beats_target_beats_catalog(tmp_path: Path) -> None:
    catalog = load_catalog()
    text = (
        "[thresholds.TLS-CERT-EXPIRY]\nmin_days = 30\n"
        "[[tls.endpoints]]\nname='a'\nhost='h'\n"
        "[[tls.endpoints]]\nname='b'\nhost='h'\nmin_days = 7\n"
    )
    target = load_target(_write(tmp_path, text))
    a, b = target.tls.endpoints if target.tls else ()
    assert resolve_threshold(catalog, target, "TLS-CERT-EXPIRY", "min_days", b) == 7
    assert resolve_threshold(catalog, target, "TLS-CERT-EXPIRY", "min_days", a) == 30
    bare = load_target(_write(tmp_path, "", "bare"))
    assert resolve_threshold(catalog, bare, "TLS-CERT-EXPIRY", "min_days") == 14


def test_relative_paths_resolve_against_the_inventory_file(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, "[target]\nca_bundle = 'certs/ca.pem'\n"))
    assert target.ca_bundle == tmp_path / "certs" / "ca.pem"


def test_undeclared_component_has_no_entries(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, "[[redis]]\nname='c'\nhost='h'\n"))
    assert components(target, "postgres") == [] and len(components(target, "redis")) == 1
    assert components(target, "http.endpoints") == []
