"""inventory/local-deploy.toml's systemd host (a second host of the reference target, reached through
docker://), and how a file extending an inventory with a single ``[host]`` adds hosts: that ``[host]`` is
the ``[[hosts]]`` entry named "local", merged by name like any named entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infragate.inventory import InventoryError, load_target
from stack import systemd_host

ROOT = Path(__file__).resolve().parents[2]


def _deploy_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """local.toml and local-deploy.toml with the stack's run directory in tmp_path, every secret set."""
    run = tmp_path / "run"
    (run / "tls").mkdir(parents=True)
    for name in ("ca.pem", "server.pem"):
        (run / "tls" / name).write_text("-----BEGIN CERTIFICATE-----\n")
    for name in ("local.toml", "local-deploy.toml"):
        text = (ROOT / "inventory" / name).read_text()
        for env in re.findall(r"\b\w+_env\s*=\s*\"([A-Za-z_][A-Za-z0-9_]*)\"", text):
            monkeypatch.setenv(env, f"{env.lower()}-value")
        text = text.replace('"../.run/stack/', f'"{run}/').replace('"../stack/', f'"{ROOT}/stack/')
        (tmp_path / name).write_text(text)
    return tmp_path / "local-deploy.toml"


def test_local_deploy_declares_the_systemd_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = load_target(_deploy_copy(tmp_path, monkeypatch))
    hosts = {h.name: h for h in target.hosts}
    assert list(hosts) == ["local", "units"]
    units = hosts["units"]
    # The names the stack creates are the names the inventory reads.
    assert units.transport == f"docker://{systemd_host.CONTAINER}"
    services = {s.name: s for s in units.services}
    app, nginx, worker = services["units-app"], services["units-nginx"], services["units-worker"]
    assert (app.kind, app.target_name, app.max_log_errors) == ("systemd", systemd_host.APP_UNIT, 0)
    assert (nginx.kind, nginx.target_name) == ("systemd", systemd_host.NGINX_UNIT)
    assert (worker.kind, worker.target_name) == ("supervisor", systemd_host.SUPERVISOR_PROGRAM)
    # local.toml's own services stay on the host named local, the compose project's join them.
    local = {s.name for s in hosts["local"].services}
    assert {"sshd", "shop-app", "shop"} <= local


def test_a_file_extending_a_single_host_adds_hosts_and_merges_local(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text(
        '[host]\ntransport = "local://"\n[[host.disks]]\nname = "root"\npath = "/"\n'
    )
    over = tmp_path / "over.toml"
    over.write_text(
        '[target]\nextends = "base"\n'
        '[[hosts]]\nname = "local"\n[[hosts.disks]]\nname = "tmp"\npath = "/tmp"\n'
        '[[hosts]]\nname = "box"\ntransport = "docker://box"\n'
    )
    target = load_target(over)
    assert [(h.name, h.transport) for h in target.hosts] == [("local", "local://"), ("box", "docker://box")]
    assert [d.name for d in target.hosts[0].disks] == ["root", "tmp"]


def test_one_file_with_host_and_hosts_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "both.toml"
    path.write_text('[host]\ntransport = "local://"\n[[hosts]]\nname = "b"\ntransport = "docker://b"\n')
    with pytest.raises(InventoryError, match="not both"):
        load_target(path)


def test_max_restarts_is_refused_on_a_supervisor_program(tmp_path: Path) -> None:
    # supervisord counts no restarts: the key would be silently ignored, so it is an inventory error.
    path = tmp_path / "sup.toml"
    path.write_text(
        '[[host.services]]\nname = "w"\nmanager = "supervisor"\nprogram = "worker"\nmax_restarts = 2\n'
    )
    with pytest.raises(
        InventoryError, match='max_restarts: only for manager = "docker" or "compose" or "systemd"'
    ):
        load_target(path)
