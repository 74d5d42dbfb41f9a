"""Service managers as data ([[host.services]] manager = ...) and the container probes (docker, compose)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infragate.inventory import HostService, InventoryError, load_target


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
