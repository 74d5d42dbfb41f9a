"""Inventory loading: typed objects, one-line errors, secrets by env-var name, threshold resolution."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

import infragate.inventory
from infragate.catalog import load_catalog
from infragate.inventory import (
    InventoryError,
    Secret,
    components,
    find_inventory,
    load_target,
    resolve_threshold,
)
from infragate.inventory.host import TRANSPORTS

ROOT = Path(__file__).resolve().parents[2]


def _secrets_named_in(name: str) -> dict[str, str]:
    """A made-up value for every environment variable inventory/<name> names (``*_env`` keys)."""
    text = (ROOT / "inventory" / name).read_text()
    names = set(re.findall(r"\b\w+_env\s*=\s*\"([A-Za-z_][A-Za-z0-9_]*)\"", text))
    return {env: f"{env.lower()}-value" for env in sorted(names)}


LOCAL_SECRETS = _secrets_named_in("local.toml")


def _local_copy(tmp_path: Path) -> Path:
    """inventory/local.toml with the stack's run directory moved into tmp_path (its CA must exist)."""
    run = tmp_path / "run"
    (run / "tls").mkdir(parents=True)
    for name in ("ca.pem", "server.pem"):
        (run / "tls" / name).write_text("-----BEGIN CERTIFICATE-----\n")
    text = (ROOT / "inventory" / "local.toml").read_text().replace('"../.run/stack/', f'"{run}/')
    path = tmp_path / "local.toml"
    path.write_text(text)
    return path


def _write(tmp_path: Path, text: str, name: str = "t") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_local_inventory_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in LOCAL_SECRETS.items():
        monkeypatch.setenv(name, value)
    target = load_target(_local_copy(tmp_path))
    assert target.name == "local" and not target.sensitive
    assert [e.name for e in components(target, "tls.endpoints")] == ["proxy"]
    assert (
        target.postgres[0].password_env is not None
        and target.postgres[0].password_env.value == LOCAL_SECRETS["INFRAGATE_LOCAL_PG_PASSWORD"]
    )


def test_example_inventory_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _secrets_named_in("example.toml").items():
        monkeypatch.setenv(name, value)
    target = load_target(ROOT / "inventory" / "example.toml")
    assert target.sensitive


def test_secret_repr_never_shows_value() -> None:
    secret = Secret(env="X_PASSWORD", value="hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret) and "hunter2" not in f"{secret}"
    assert secret.value == "hunter2" and secret == Secret(env="X_PASSWORD", value="other")


def _strings(obj: Any, where: str = "target") -> list[tuple[str, str]]:
    """Every plain string reachable from a loaded object (fields, tuples, tables), with where it is."""
    if isinstance(obj, Secret):
        return []  # the one place a secret may live: Secret.value
    if isinstance(obj, str):
        return [(where, obj)]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [
            s for f in dataclasses.fields(obj) for s in _strings(getattr(obj, f.name), f"{where}.{f.name}")
        ]
    if isinstance(obj, (tuple, list)):
        return [s for i, v in enumerate(obj) for s in _strings(v, f"{where}[{i}]")]
    if hasattr(obj, "items"):
        return [s for k, v in obj.items() for s in _strings(v, f"{where}.{k}")]
    return []


def test_secrets_live_only_in_secret_value(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in LOCAL_SECRETS.items():
        monkeypatch.setenv(name, value)
    target = load_target(_local_copy(tmp_path))
    secrets = [e.password_env for e in (*target.postgres, *target.redis) if e.password_env is not None]
    assert {s.value for s in secrets} == {LOCAL_SECRETS[s.env] for s in secrets} and secrets
    leaks = [where for where, text in _strings(target) for v in LOCAL_SECRETS.values() if v in text]
    assert leaks == []
    assert not any(v in repr(target) or v in str(target) for v in LOCAL_SECRETS.values())


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
    bare = load_target(_write(tmp_path, "[[redis]]\nname='c'\nhost='h'\n", "bare"))
    assert resolve_threshold(catalog, bare, "TLS-CERT-EXPIRY", "min_days") == 14


def test_relative_paths_resolve_against_the_inventory_file(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    target = load_target(
        _write(tmp_path, "[target]\nca_bundle = 'certs/ca.pem'\n[[redis]]\nname='c'\nhost='h'\n")
    )
    assert target.ca_bundle == tmp_path / "certs" / "ca.pem"


def test_undeclared_component_has_no_entries(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, "[[redis]]\nname='c'\nhost='h'\n"))
    assert components(target, "postgres") == [] and len(components(target, "redis")) == 1
    assert components(target, "http.endpoints") == []


def test_transports_are_testinfras_backends() -> None:
    from testinfra.backend import BACKENDS

    assert set(TRANSPORTS) == set(BACKENDS)


@pytest.mark.parametrize(
    "transport",
    ["local://", "ssh://deploy@api.example.com", "paramiko://h?timeout=5", "docker://web", "chroot:///srv"],
)
def test_valid_transports_load(tmp_path: Path, transport: str) -> None:
    target = load_target(_write(tmp_path, f"[host]\ntransport = '{transport}'\n"))
    assert target.host is not None and target.host.transport == transport


def test_negative_metric_bounds_are_allowed(tmp_path: Path) -> None:
    text = "[[prometheus]]\nname='p'\nurl='http://h:9090'\nqueries=[{name='q', expr='x', min=-5, max=-1}]\n"
    (prom,) = load_target(_write(tmp_path, text)).prometheus
    assert (prom.queries[0].min, prom.queries[0].max) == (-5.0, -1.0)


def _imported_names() -> set[str]:
    """Every name any module of the repository imports from infragate.inventory."""
    names: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if any(
            part.startswith(".") or part in ("node_modules", "build") for part in path.relative_to(ROOT).parts
        ):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "infragate.inventory":
                names.update(alias.name for alias in node.names)
    return names


def test_package_exports_every_name_the_repository_imports() -> None:
    exported = infragate.inventory.__all__
    assert exported == sorted(exported)
    assert _imported_names() <= set(exported)
    assert all(hasattr(infragate.inventory, name) for name in exported)


def test_inventory_modules_stay_small() -> None:
    package = Path(infragate.inventory.__file__).parent
    sizes = {p.name: len(p.read_text().splitlines()) for p in package.glob("*.py")}
    assert max(sizes.values()) <= 400, sizes
