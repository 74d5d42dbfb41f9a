"""Profiles and ``extends``: every profile loads alone, a user's file merges over one, the effective
inventory is printed with secrets redacted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from infragate.catalog import load_catalog
from infragate.inventory import InventoryError, components, load_target
from infragate.inventory.show import render

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted((ROOT / "inventory" / "profiles").glob("*.toml"))
SEEDS = {"000", "001", "002", "003", "004"}


def _env_names(path: Path) -> set[str]:
    """Every environment variable a file names (``*_env = "NAME"``), outside comment lines."""
    text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
    return set(re.findall(r"\b\w+_env\s*=\s*\"([A-Za-z_][A-Za-z0-9_]*)\"", text))


def _set_env(monkeypatch: pytest.MonkeyPatch, *paths: Path) -> dict[str, str]:
    values = {name: f"{name.lower()}-dummy" for p in paths for name in sorted(_env_names(p))}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_there_is_one_profile_per_seed_runbook() -> None:
    runbooks = set()
    for profile in PROFILES:
        head = tomllib.loads(profile.read_text()).get("target", {})
        runbooks.add(str(head.get("runbook", ""))[:3])
    assert runbooks == SEEDS, [p.name for p in PROFILES]


@pytest.mark.parametrize("profile", PROFILES, ids=[p.stem for p in PROFILES])
def test_profile_loads_alone(profile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _set_env(monkeypatch, profile)
    catalog = load_catalog()
    target = load_target(profile, catalog)
    assert target.runbook, "a profile names its runbook"
    declared = {c.component for c in catalog if components(target, c.component)}
    assert declared, "a profile declares components"
    # Every remedy is a runbook section for a check the profile can run.
    assert target.remedies
    for key, text in target.remedies.items():
        check = catalog[key.partition("/")[0]]
        assert check.component in declared or any(
            components(target, c.component) for c in catalog if c.id == check.id
        ), f"{key}: remedy for a check whose component {check.component} is not declared"
        assert text.startswith("runbook "), f"{key}: {text!r} does not name its runbook section"


def _profile(tmp_path: Path) -> Path:
    return _write(
        tmp_path,
        "profiles/base.toml",
        """
[target]
description = "a profile"
runbook = "runbook 999"
connect_timeout = 2.0

[thresholds.HTTP-HEALTH]
max_response_ms = 500

[[http.endpoints]]
name = "health"
url = "http://localhost:8000/health"
max_response_ms = 300

[[http.endpoints]]
name = "docs"
url = "http://localhost:8000/docs"
docs = "hidden"

[[postgres]]
name = "db"
host = "localhost"
port = 5432
dbname = "app"
user = "app"
password_env = "BASE_PG_PASSWORD"
""",
    )


def test_user_file_overrides_a_host_a_url_and_a_secret_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _profile(tmp_path)
    user = _write(
        tmp_path,
        "prod.toml",
        """
[target]
extends = "profiles/base"
description = "production"

[[http.endpoints]]
name = "health"
url = "https://api.example.com/health"

[[http.endpoints]]
name = "extra"
url = "https://api.example.com/extra"

[[postgres]]
name = "db"
host = "db.example.com"
password_env = "PROD_PG_PASSWORD"
""",
    )
    monkeypatch.setenv("PROD_PG_PASSWORD", "prod-secret")
    monkeypatch.delenv("BASE_PG_PASSWORD", raising=False)
    target = load_target(user)
    assert target.name == "prod" and target.description == "production"
    assert target.runbook == "runbook 999" and target.connect_timeout == 2.0
    assert target.thresholds["HTTP-HEALTH"]["max_response_ms"] == 500
    assert target.http is not None
    by_name = {e.name: e for e in target.http.endpoints}
    assert list(by_name) == ["health", "docs", "extra"]  # profile order, new names appended
    assert by_name["health"].url == "https://api.example.com/health"
    assert by_name["health"].max_response_ms == 300  # the profile's key survives the override
    (db,) = target.postgres
    assert (db.host, db.port, db.dbname) == ("db.example.com", 5432, "app")
    assert db.password_env is not None and db.password_env.env == "PROD_PG_PASSWORD"
    assert db.password_env.value == "prod-secret"


def test_plain_arrays_are_replaced_and_profiles_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASE_PG_PASSWORD", "x")
    _profile(tmp_path)
    _write(
        tmp_path,
        "profiles/mid.toml",
        '[target]\nextends = "base.toml"\n[[prometheus]]\nname = "p"\nurl = "http://localhost:9090"\n'
        'jobs = ["a", "b"]\n',
    )
    user = _write(
        tmp_path,
        "u.toml",
        f'[target]\nextends = "{tmp_path}/profiles/mid"\n[[prometheus]]\nname = "p"\njobs = ["c"]\n',
    )
    target = load_target(user)
    assert target.prometheus[0].jobs == ("c",)
    assert target.prometheus[0].url == "http://localhost:9090"
    assert target.description == "a profile"


def test_extends_cycle_is_one_line(tmp_path: Path) -> None:
    _write(tmp_path, "a.toml", '[target]\nextends = "b"\n')
    _write(tmp_path, "b.toml", '[target]\nextends = "a.toml"\n')
    with pytest.raises(InventoryError, match="cycle") as info:
        load_target(tmp_path / "a.toml")
    assert "\n" not in str(info.value)


def test_missing_profile_is_named(tmp_path: Path) -> None:
    user = _write(tmp_path, "u.toml", '[target]\nextends = "profiles/nope"\n')
    with pytest.raises(InventoryError, match=r"target\.extends: no profile 'profiles/nope'"):
        load_target(user)


def test_error_in_a_profile_key_names_the_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASE_PG_PASSWORD", raising=False)
    profile = _profile(tmp_path)
    user = _write(tmp_path, "u.toml", '[target]\nextends = "profiles/base"\n')
    with pytest.raises(InventoryError) as info:
        load_target(user)
    message = str(info.value)
    assert message.startswith(f"{profile} (extended by {user}): postgres[0].password_env"), message
    assert "BASE_PG_PASSWORD is not set" in message


def test_error_in_the_users_key_names_the_users_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASE_PG_PASSWORD", "x")
    _profile(tmp_path)
    user = _write(
        tmp_path, "u.toml", '[target]\nextends = "profiles/base"\n[[postgres]]\nname = "db"\nport = 99999\n'
    )
    with pytest.raises(InventoryError, match=rf"^{re.escape(str(user))}: postgres\[0\]\.port"):
        load_target(user)


def test_show_inventory_never_prints_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _profile(tmp_path)
    user = _write(tmp_path, "u.toml", '[target]\nextends = "profiles/base"\n')
    monkeypatch.setenv("BASE_PG_PASSWORD", "hunter2-very-secret")
    text = render(load_target(user))
    assert "hunter2-very-secret" not in text
    assert 'password_env = "<from $BASE_PG_PASSWORD>"' in text
    parsed = tomllib.loads(text)  # TOML-like, and in fact TOML
    assert parsed["http"]["endpoints"][0]["url"] == "http://localhost:8000/health"


@pytest.mark.parametrize("name", ["example.toml", *(f"profiles/{p.name}" for p in PROFILES)])
def test_show_inventory_of_every_shipped_file_hides_every_secret(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ROOT / "inventory" / name
    values = _set_env(monkeypatch, path)
    text = render(load_target(path))
    for env, value in values.items():
        assert value not in text
        assert f"<from ${env}>" in text
    tomllib.loads(text)


def test_show_inventory_option_prints_and_runs_nothing(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "t.toml",
        '[[postgres]]\nname = "db"\nhost = "localhost"\nport = 5432\ndbname = "a"\nuser = "a"\n'
        'password_env = "H15_SHOW_PW"\n',
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAGATE_")}
    env["H15_SHOW_PW"] = "s3cr3t-value"
    cmd = [sys.executable, "-m", "pytest", "tests_infra", "--show-inventory", "--host=t"]
    cmd += [f"--inventory={tmp_path}", "-p", "no:cacheprovider", f"--junitxml={tmp_path / 'j.xml'}"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "s3cr3t-value" not in result.stdout + result.stderr
    assert 'password_env = "<from $H15_SHOW_PW>"' in result.stdout
    assert "passed" not in result.stdout and "failed" not in result.stdout  # nothing collected or run
    assert not (tmp_path / "j.xml").exists()


def test_user_file_extends_a_shipped_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = ROOT / "inventory" / "profiles" / "stoflow.toml"
    values = _set_env(monkeypatch, profile)
    monkeypatch.delenv("STOFLOW_PG_PASSWORD")  # overridden below: the profile's name is no longer read
    monkeypatch.setenv("PROD_STOFLOW_DB_PASSWORD", "prod-db-secret")
    user = _write(
        tmp_path,
        "stoflow-prod.toml",
        f"""
[target]
extends = "{profile.with_suffix("")}"
sensitive = true

[[http.endpoints]]
name = "backend-docs"
url = "https://stoflow.example.com/docs"

[[postgres]]
name = "main"
host = "db.stoflow.example.com"
password_env = "PROD_STOFLOW_DB_PASSWORD"
""",
    )
    target = load_target(user)
    assert target.name == "stoflow-prod" and target.sensitive
    assert target.runbook.startswith("003") and "HOST-PORT-LISTENING" in target.remedies
    assert target.http is not None
    assert [e.url for e in target.http.endpoints] == ["https://stoflow.example.com/docs"]
    (db,) = target.postgres
    assert (db.host, db.user, db.dbname) == ("db.stoflow.example.com", "stoflow_user", "stoflow")
    assert db.password_env is not None and db.password_env.env == "PROD_STOFLOW_DB_PASSWORD"
    assert db.tenants is not None  # the profile's contract survives the override
    text = render(target)
    assert "prod-db-secret" not in text and all(v not in text for v in values.values())
