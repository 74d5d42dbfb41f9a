"""Service managers as data ([[host.services]] manager = ...) and the container probes (docker, compose)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import testinfra

from infragate.inventory import HostService, InventoryError, load_target
from infragate.probes import containers
from infragate.probes.containers import PROJECT_LABEL, SERVICE_LABEL


def _services(tmp_path: Path, body: str) -> tuple[HostService, ...]:
    path = tmp_path / "t.toml"
    path.write_text('[host]\ntransport = "local://"\n' + body)
    host = load_target(path).host
    assert host is not None
    return host.services


def test_services_without_manager_keep_working(tmp_path: Path) -> None:
    services = _services(
        tmp_path,
        '[[host.services]]\nname = "a"\npidfile = "/run/a.pid"\n'
        "[[host.services]]\nname = \"b\"\npattern = 'b --serve'\n",
    )
    assert [s.kind for s in services] == ["pidfile", "pattern"]


@pytest.mark.parametrize(
    ("body", "kind", "target_name"),
    [
        ('manager = "systemd"\nunit = "ollama.service"\nmax_restarts = 3', "systemd", "ollama.service"),
        ('manager = "systemd"\nenabled = false', "systemd", "svc"),
        (
            'manager = "supervisor"\nprogram = "worker"\nsupervisor_conf = "/etc/s.conf"',
            "supervisor",
            "worker",
        ),
        (
            'manager = "docker"\ncontainer = "app-1"\nimage = "app:1"\nmax_restarts = 2\nmax_memory_pct = 90',
            "docker",
            "app-1",
        ),
        ('manager = "docker"\nrequire_healthy = false\ndocker = ["sudo", "docker"]', "docker", "svc"),
        (
            'manager = "compose"\nproject = "shop"\ncompose_file = "/srv/shop/compose.yml"\n'
            'compose_services = ["app", "db"]\nmax_log_errors = 0\nlog_window_minutes = 10',
            "compose",
            "shop",
        ),
    ],
)
def test_each_manager_with_its_keys(tmp_path: Path, body: str, kind: str, target_name: str) -> None:
    (service,) = _services(tmp_path, f'[[host.services]]\nname = "svc"\n{body}\n')
    assert service.kind == kind
    assert service.target_name == target_name


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "services[0].manager: declare manager"),
        ('manager = "podman"', "services[0].manager: expected one of pidfile, pattern, systemd"),
        ('manager = "docker"\nunit = "x.service"', 'services[0].unit: only for manager = "systemd"'),
        ('manager = "systemd"\ncontainer = "x"', 'services[0].container: only for manager = "docker"'),
        ('manager = "docker"\nenabled = false', 'services[0].enabled: only for manager = "systemd"'),
        ('pidfile = "/a.pid"\nimage = "x"', 'services[0].image: only for manager = "docker", not "pidfile"'),
        ('manager = "pidfile"', 'services[0].pidfile: manager = "pidfile" needs the pid file path'),
        ('manager = "pattern"', 'services[0].pattern: manager = "pattern" needs a command-line'),
        ('manager = "docker"\ncontainer = "a b"', "services[0].container: must be a name of letters"),
        ('manager = "docker"\ncontainer = "$(reboot)"', "services[0].container: must be a name"),
        ('manager = "docker"\ndocker = []', "services[0].docker: must name a program"),
        ('manager = "docker"\nmax_memory_pct = 120', "services[0].max_memory_pct: must be a percentage"),
        ('manager = "docker"\nlog_window_minutes = 5', "services[0].log_window_minutes: needs max_log"),
        ('manager = "supervisor"\nmax_log_errors = 0', "services[0].max_log_errors: only for manager"),
        ('manager = "docker"\nmax_restarts = -1', "services[0].max_restarts: must be zero or more"),
    ],
)
def test_service_keys_are_validated(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(InventoryError, match=None) as caught:
        _services(tmp_path, f'[[host.services]]\nname = "svc"\n{body}\n')
    assert message in str(caught.value), str(caught.value)


def test_how_names_the_manager_and_its_name(tmp_path: Path) -> None:
    a, b, c = _services(
        tmp_path,
        '[[host.services]]\nname = "a"\npidfile = "/run/a.pid"\n'
        '[[host.services]]\nname = "b"\nmanager = "compose"\n'
        '[[host.services]]\nname = "c"\nmanager = "systemd"\nunit = "c.service"\n',
    )
    assert a.how == "pid file /run/a.pid"
    assert b.how == "compose project b"
    assert c.how == "systemd unit c.service"


# ---------------------------------------------------------------------------- probes, on a fake docker CLI
# A script standing in for the docker CLI (run for real through testinfra's local backend, under the
# probe's `timeout`): it answers `inspect`, `ps`, `stats` and `logs` from files, as docker would.


def _container(name: str, **state: Any) -> dict[str, Any]:
    """A `docker inspect` element with the fields the probe reads."""
    health = state.pop("health", "healthy")
    return {
        "Name": f"/{name}",
        "RestartCount": state.pop("restarts", 0),
        "State": {
            "Status": state.pop("status", "running"),
            "ExitCode": state.pop("exit_code", 0),
            "OOMKilled": False,
            **({"Health": {"Status": health, "Log": [{"Output": "ok\n"}]}} if health else {}),
        },
        "Config": {
            "Image": state.pop("image", "shop:1"),
            "Labels": {PROJECT_LABEL: "shop", SERVICE_LABEL: state.pop("service", name)},
        },
        "HostConfig": {"Memory": state.pop("memory", 0)},
    }


@pytest.fixture
def fake_docker(tmp_path: Path) -> tuple[Path, Any]:
    """(the fake CLI, a function writing what it answers: containers, stats rows, log lines)."""
    script = tmp_path / "docker"
    script.write_text(
        f"""#!/usr/bin/python3 -S
import json, sys
from pathlib import Path
root = Path({str(tmp_path)!r})
args = sys.argv[1:]
if args[0] == "sleep":
    import time; time.sleep(30)
containers = json.loads((root / "containers.json").read_text())
if args[0] == "inspect":
    names = [a for a in args[1:] if not a.startswith("-") and a != "container"]
    found = [c for c in containers if c["Name"][1:] in names]
    if not found:
        sys.stderr.write("Error: No such container: " + names[0] + "\\n")
        sys.exit(1)
    print(json.dumps(found))
elif args[0] == "ps":
    print("\\n".join(c["Name"][1:] for c in containers))
elif args[0] == "stats":
    rows = json.loads((root / "stats.json").read_text())
    print("\\n".join(json.dumps(r) for r in rows if r["Name"] in args))
elif args[0] == "logs":
    sys.stdout.write((root / "logs.txt").read_text())
"""
    )
    script.chmod(0o755)

    def answer(
        containers: list[dict[str, Any]],
        stats: tuple[dict[str, str], ...] | list[dict[str, str]] = (),
        logs: str = "",
    ) -> None:
        (tmp_path / "containers.json").write_text(json.dumps(containers))
        (tmp_path / "stats.json").write_text(json.dumps(list(stats)))
        (tmp_path / "logs.txt").write_text(logs)

    return script, answer


LOCAL = testinfra.get_host("local://")


def test_docker_service_healthy_and_each_problem_named(fake_docker: tuple[Path, Any]) -> None:
    cli, answer = fake_docker
    answer([_container("app", restarts=1)])
    ok = containers.docker_service_state(
        LOCAL, (str(cli),), "app", require_healthy=True, max_restarts=1, image="shop:1"
    )
    assert ok.running, ok.detail
    answer(
        [_container("app", status="exited", exit_code=137, health="unhealthy", restarts=5, image="shop:0")]
    )
    bad = containers.docker_service_state(
        LOCAL, (str(cli),), "app", require_healthy=True, max_restarts=2, image="shop:1"
    )
    assert not bad.running
    for word in ("exited (exit code 137", "health unhealthy", "restarted 5 times (at most 2)", "not shop:1"):
        assert word in bad.detail, bad.detail
    answer([_container("app", health=None)])
    bare = containers.docker_service_state(
        LOCAL, (str(cli),), "app", require_healthy=True, max_restarts=None, image=None
    )
    assert not bare.running and "no healthcheck" in bare.detail
    missing = containers.docker_service_state(
        LOCAL, (str(cli),), "nope", require_healthy=True, max_restarts=None, image=None
    )
    assert not missing.running and "no container named nope" in missing.detail


def test_compose_project_every_expected_service(fake_docker: tuple[Path, Any]) -> None:
    cli, answer = fake_docker
    answer([_container("shop-app", service="app"), _container("shop-db", service="db", health=None)])
    up = containers.compose_service_state(LOCAL, (str(cli),), "shop", expected=(), max_restarts=None)
    assert up.running and "2 services up (app, db)" in up.detail, up.detail
    lacking = containers.compose_service_state(
        LOCAL, (str(cli),), "shop", expected=("app", "db", "cache"), max_restarts=None
    )
    assert not lacking.running and "cache: no container" in lacking.detail
    answer([_container("shop-app", service="app", health="starting")])
    starting = containers.compose_service_state(
        LOCAL, (str(cli),), "shop", expected=("app",), max_restarts=None
    )
    assert not starting.running and "app (shop-app): health starting" in starting.detail


def test_compose_file_services() -> None:
    text = "version: '2.4'\nservices:\n  worker: {image: x}\n  app:\n    image: x\n"
    assert containers.compose_file_services(text) == ("app", "worker")
    assert containers.compose_file_services("just text") == ()


def test_container_memory_against_its_limit(fake_docker: tuple[Path, Any]) -> None:
    cli, answer = fake_docker
    answer(
        [_container("w", memory=128 * 2**20), _container("free")],
        stats=[
            {"Name": "w", "MemUsage": "104.5MiB / 128MiB"},
            {"Name": "free", "MemUsage": "20MiB / 7.6GiB"},
        ],
    )
    w, free, gone = containers.container_memory(LOCAL, (str(cli),), ["w", "free", "gone"])
    assert w.used_pct is not None and 81 < w.used_pct < 82 and "of 128.0 MiB" in w.described
    assert free.limit_bytes is None and "no memory limit" in free.described
    assert gone.error is not None


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("12.5MiB / 128MiB", (int(12.5 * 2**20), 128 * 2**20)),
        ("1.2GB / 2GB", (1_200_000_000, 2 * 10**9)),
        ("--", None),
    ],
)
def test_parse_mem_usage(text: str, parsed: tuple[int, int] | None) -> None:
    assert containers.parse_mem_usage(text) == parsed


def test_container_log_errors_counts_and_strips_stamps(fake_docker: tuple[Path, Any]) -> None:
    cli, answer = fake_docker
    answer(
        [_container("app")],
        logs="2026-12-01T10:00:00.123456789Z INFO started\n"
        "2026-12-01T10:00:01.000000000Z 2026-12-01 10:00:01 ERROR db unreachable\n",
    )
    found = containers.container_log_errors(LOCAL, (str(cli),), "app", r"\bERROR\b", window_minutes=10)
    assert (found.matches, found.lines, found.error) == (1, 2, None)
    assert found.examples == ("2026-12-01 10:00:01 ERROR db unreachable",)


def test_a_hung_cli_is_cut_at_the_deadline(fake_docker: tuple[Path, Any]) -> None:
    cli, _ = fake_docker
    with pytest.raises(containers.DockerError, match="no answer within 1 s"):
        containers.docker(LOCAL, (str(cli),), "sleep", deadline_s=1.0)


def test_local_deploy_names_the_image_the_stack_builds() -> None:
    """inventory/local-deploy.toml's shop-app image is the base image's content tag (stack/docker.py)."""
    import tomllib

    from stack.docker import base_tag

    root = Path(__file__).resolve().parents[2]
    data = tomllib.loads((root / "inventory" / "local-deploy.toml").read_text())
    hosts = data.get("hosts") or [data["host"]]
    images = {s["name"]: s.get("image") for h in hosts for s in h.get("services", [])}
    assert images["shop-app"] == base_tag()


def test_deploy_switch_env_then_marker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """INFRAGATE_STACK_DEPLOY wins both ways; unset, the run dir's marker (up --with deploy) decides."""
    from stack.layout import DEPLOY_ENV, Layout, deploy_requested

    monkeypatch.delenv(DEPLOY_ENV, raising=False)
    assert not deploy_requested(tmp_path)
    Layout(tmp_path).deploy_marker.touch()
    assert deploy_requested(tmp_path)
    monkeypatch.setenv(DEPLOY_ENV, "0")
    assert not deploy_requested(tmp_path)
    Layout(tmp_path).deploy_marker.unlink()
    monkeypatch.setenv(DEPLOY_ENV, "1")
    assert deploy_requested(tmp_path)


def test_deploy_parts_only_behind_the_switch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Off: no engine part (make demo stays fast); a recorded engine is still listed so `down` stops it."""
    from stack.layout import DEPLOY_ENV, Layout, ports
    from stack.parts import Context, make_parts

    monkeypatch.setenv("INFRAGATE_STACK_PORT_BASE", "25000")
    ctx = Context(Layout(tmp_path), ports())
    monkeypatch.setenv(DEPLOY_ENV, "0")
    assert "dockerd" not in make_parts(ctx)
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / "dockerd.json").write_text('{"pid": 1, "starttime": 0}')
    assert {"dockerd", "compose"} <= set(make_parts(ctx))
    monkeypatch.setenv(DEPLOY_ENV, "1")
    (tmp_path / "pids" / "dockerd.json").unlink()
    assert {"dockerd", "compose"} <= set(make_parts(ctx))
