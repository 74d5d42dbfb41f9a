"""Many hosts per target: ``[[hosts]]`` and ``[roles.<name>]``, today's ``[host]`` as one host, per-host test
ids and facts, and the ssh options each host's transport gets (issue 11 item 1)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fixtures.params import host_entries
from infragate.facts import transport_options
from infragate.inventory import Host, InventoryError, components, load_target
from infragate.inventory.show import render
from selftest.unit.fleet_runs import assert_one_test_waited_for_the_hung_host, run_checks
from selftest.unit.servers import blackhole, closed_port

ROOT = Path(__file__).resolve().parents[2]

FLEET = """
[target]
description = "three hosts, two roles"

[roles.web]
ports = [{ name = "http", host = "127.0.0.1", port = 8080 }]
disks = [{ name = "root", path = "/", max_used_pct = 90 }]

[roles.db]
disks = [{ name = "data", path = "/var", max_used_pct = 80 }]

[[hosts]]
name = "web-1"
transport = "ssh://root@127.0.0.1:2201"
roles = ["web"]

[[hosts]]
name = "web-2"
transport = "ssh://root@127.0.0.1:2202"
roles = ["web", "db"]
[[hosts.disks]]
name = "root"
path = "/srv"
max_used_pct = 70

[[hosts]]
name = "runner"
"""


def _write(tmp_path: Path, text: str, name: str = "t") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_single_host_table_is_one_host_named_local(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, '[host]\n[[host.disks]]\nname = "root"\npath = "/"\n'))
    assert [h.name for h in target.hosts] == ["local"]
    assert target.host is target.hosts[0] and target.host.transport == "local://"
    assert [d.name for d in components(target, "host.disks")] == ["root"]


def test_roles_apply_to_hosts_that_list_them_and_host_entries_win(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, FLEET))
    web1, web2, runner = target.hosts
    assert (web1.roles, web2.roles, runner.roles) == (("web",), ("web", "db"), ())
    assert [(d.name, str(d.path)) for d in web1.disks] == [("root", "/")]
    # web-2's own "root" replaces the role's; the db role adds "data"; the web role's port stays.
    assert sorted((d.name, str(d.path)) for d in web2.disks) == [("data", "/var"), ("root", "/srv")]
    assert [p.port for p in web2.ports] == [8080]
    assert runner.transport == "local://" and runner.disks == ()
    # Every host has its own entry objects: identity tells them apart (selection, fact cache, messages).
    assert web1.ports[0] is not web2.ports[0] and web1.ports[0] == web2.ports[0]
    assert target.host_of(web2.ports[0]) is web2 and target.host_of(web1) is web1
    assert target.host_of(object()) is None


def test_components_and_host_entries_walk_every_host(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, FLEET))
    assert len(components(target, "host.disks")) == 3
    pairs = [(h.name if h else None, e.name) for h, e in host_entries(target, "host.disks")]
    assert pairs == [("web-1", "root"), ("web-2", "root"), ("web-2", "data")]  # a host's own entry in place
    assert [e.name for _, e in host_entries(target, "host")] == ["web-1", "web-2", "runner"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[host]\n[[hosts]]\nname = "a"\n', "declare one [host] table or [[hosts]] entries, not both"),
        ('[[hosts]]\nname = "a"\nroles = ["nope"]\n', "hosts[0].roles: 'nope' is not a [roles.<name>] table"),
        (
            '[roles.web]\ntransport = "local://"\n[[hosts]]\nname = "a"\nroles = ["web"]\n',
            "roles.web.transport",
        ),
        ("[roles.web]\ndisks = []\n", "roles: declared without any [[hosts]] entry"),
        ('[[hosts]]\nname = "a"\n[[hosts]]\nname = "a"\n', "names must be unique"),
        (
            '[[hosts]]\nname = "a"\n[[hosts]]\ntransport = "local://"\n',
            "hosts[1]: missing required key 'name'",
        ),
        ('[[hosts]]\nname = "a b"\n', "must be letters, digits"),
        ('[[hosts]]\nname = "a"\ntransport = "ssh://"\n', "must name a host"),
        ('[[hosts]]\nname = "a"\nroles = ["w x"]\n[roles."w x"]\n', "roles: 'w x' must be letters"),
        ("roles = 3\n[[hosts]]\n", "expected [roles.<name>] tables"),
    ],
)
def test_bad_hosts_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InventoryError, match=None) as caught:
        load_target(
            _write(tmp_path, text + '\n[[http.endpoints]]\nname = "x"\nurl = "http://127.0.0.1:1/"\n')
        )
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_show_inventory_prints_hosts_with_their_roles_applied(tmp_path: Path) -> None:
    text = render(load_target(_write(tmp_path, FLEET)))
    assert text.count("[[hosts]]") == 3 and "[roles." not in text
    assert 'name = "web-2"' in text and "[[hosts.disks]]" in text and 'path = "/srv"' in text
    # The printed inventory loads again (roles already applied, so a host lists them only as a comment).
    assert '# roles ["web", "db"]: merged into this host' in text
    again = load_target(_write(tmp_path, text, name="again"))
    assert [h.name for h in again.hosts] == ["web-1", "web-2", "runner"]
    assert again.hosts[1].disks == load_target(tmp_path / "t.toml").hosts[1].disks


def test_ssh_transports_get_a_control_path_and_the_connect_timeout(tmp_path: Path) -> None:
    ssh = transport_options(
        Host(name="a", transport="ssh://root@h:22"), connect_timeout=2.5, control_dir=tmp_path
    )
    # Under tmp_path when a unix socket path fits there (about 100 bytes), else a short private directory.
    fits = len(f"{tmp_path}/cm-") + 16 <= 107 - 17  # infragate.facts: the socket path and ssh's suffix
    where = f"{tmp_path}/cm-" if fits else f"{tempfile.gettempdir()}/infragate-ssh-{os.getuid()}/cm-"
    assert ssh["timeout"] == "3" and ssh["controlpath"].startswith(where), (ssh, where)
    other = transport_options(
        Host(name="b", transport="ssh://root@h:23"), connect_timeout=2.5, control_dir=tmp_path
    )
    assert other["controlpath"] != ssh["controlpath"]
    assert len(ssh["controlpath"]) < 100  # unix socket paths hold about 100 bytes
    paramiko = transport_options(
        Host(name="c", transport="paramiko://root@h"), connect_timeout=1, control_dir=tmp_path
    )
    assert paramiko == {"timeout": "1"}
    assert transport_options(Host(), connect_timeout=1, control_dir=tmp_path) == {}


def test_host_checks_run_per_host_with_the_host_in_the_id(tmp_path: Path) -> None:
    """A real run: two local hosts, each with its own disk entries; ids and messages name the host."""
    (tmp_path / "two.toml").write_text(
        """
[roles.box]
disks = [{ name = "root", path = "/", max_used_pct = 100 }]

[[hosts]]
name = "box-1"
roles = ["box"]

[[hosts]]
name = "box-2"
roles = ["box"]
[[hosts.disks]]
name = "gone"
path = "/nonexistent/infragate"
"""
    )
    junit = tmp_path / "junit.xml"
    cmd = [
        sys.executable, "-m", "pytest", "tests_infra/test_host_resources.py", "--host=two",
        f"--inventory={tmp_path}", f"--junitxml={junit}", "-p", "no:cacheprovider", "-q",
        "-k", "HOST-DISK-FREE",
    ]  # fmt: skip
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    cases = {c.get("name", ""): c for c in ET.parse(junit).iter("testcase")}
    assert set(cases) == {
        "test_disk_below_usage_limit[HOST-DISK-FREE two/box-1/root]",
        "test_disk_below_usage_limit[HOST-DISK-FREE two/box-2/root]",
        "test_disk_below_usage_limit[HOST-DISK-FREE two/box-2/gone]",
    }, result.stdout[-2000:]
    failed = {n: c for n, c in cases.items() if c.find("failure") is not None}
    # Only box-2's missing path fails, and its message names the host that declares it.
    assert list(failed) == ["test_disk_below_usage_limit[HOST-DISK-FREE two/box-2/gone]"]
    message = failed["test_disk_below_usage_limit[HOST-DISK-FREE two/box-2/gone]"].find("failure")
    assert message is not None and "[HOST-DISK-FREE] two/box-2/gone (/nonexistent/infragate)" in (
        message.get("message", "") + (message.text or "")
    )


# -- a dead host fails fast (one connect timeout per host per run, like a dead endpoint) -------------------


def test_transport_failures_are_told_from_command_failures(tmp_path: Path) -> None:
    """ssh's own exit 255 and docker exec's engine errors are the transport's; any other exit is a fact."""
    import testinfra

    from infragate.facts import HostUnreachable, transport_endpoint, transport_failure, watch

    secret = Host(name="x", transport="ssh://deploy:hunter2@10.0.0.1:2222?ssh_config=/etc/ssh/c")
    assert transport_endpoint(secret) == "ssh://deploy@10.0.0.1:2222"  # never the password
    assert transport_endpoint(Host(name="c", transport="docker://web-1")) == "docker://web-1"

    class Out:
        def __init__(self, rc: int, stderr: str) -> None:
            self.rc, self.stderr = rc, stderr

    gone = Out(1, "Error response from daemon: Container 3fa9 is not running\n")
    assert (
        transport_failure("docker", result=gone)
        == "Error response from daemon: Container 3fa9 is not running"
    )
    assert transport_failure("docker", result=Out(1, "cat: /x: No such file or directory")) is None
    # `docker inspect` run on a local host saying the same is a fact about that container, not the host.
    assert transport_failure("local", result=Out(1, "Error: No such container: app")) is None
    assert (
        transport_failure("ssh", error=RuntimeError(Out(255, "ssh: Could not resolve hostname"))) is not None
    )
    assert transport_failure("ssh", error=RuntimeError(Out(2, "ls: cannot access"))) is None
    assert transport_failure("ssh", error=ValueError("a probe's own bug")) is None

    # A real ssh client against a closed port: the first command fails with ssh's error and is remembered;
    # the next one raises at once naming who saw it first, without running ssh again.
    port = closed_port()
    host = Host(name="gone", transport=f"ssh://root@127.0.0.1:{port}?ssh_config=/dev/null")
    options = transport_options(host, connect_timeout=1, control_dir=tmp_path)
    memory: dict[str, tuple[str, str]] = {}
    machine = watch(testinfra.get_host(host.transport, **options), host, memory, lambda: "test-a")
    with pytest.raises(HostUnreachable) as first:
        machine.run("true")
    assert first.value.first_seen is None and "refused" in first.value.error
    # The host, and its TCP address for every probe (refused: the address itself is dead).
    assert memory == {
        f"ssh://root@127.0.0.1:{port}": ("test-a", first.value.error),
        f"127.0.0.1:{port}": ("test-a", first.value.error),
    }
    with pytest.raises(HostUnreachable) as later:
        assert machine.file("/etc/passwd").exists  # testinfra modules run through the watched host too
    assert later.value.first_seen == "test-a" and "not retried" in str(later.value)
    local = Host(name="here")
    plain = testinfra.get_host("local://")
    assert watch(plain, local, memory, lambda: "?") is plain  # local:// has no transport to lose


def test_a_hung_ssh_host_costs_one_test_its_timeout_and_every_other_fails_at_once(tmp_path: Path) -> None:
    """A two-host target whose ssh host never answers (a blackhole: connects, no banner): only the first of
    its tests waits ssh's connect timeout; every later host-side fact on it fails at once naming that test,
    and the live host's tests pass. Behaviour, not a stopwatch (durations: bench/fleet.py)."""
    with blackhole() as port:
        (tmp_path / "two.toml").write_text(
            f"""
[target]
connect_timeout = 1.0

[roles.box]
disks = [{{ name = "root", path = "/", max_used_pct = 100 }}]
files = [{{ name = "passwd", path = "/etc/passwd", owner = "root" }}]
processes = [{{ name = "any", pattern = ".*", max = 100000 }}]

[[hosts]]
name = "live"
roles = ["box"]

[[hosts]]
name = "hung"
transport = "ssh://root@127.0.0.1:{port}?ssh_config=/dev/null"
roles = ["box"]
services = [{{ name = "init", pidfile = "/run/infragate-none.pid" }}]
"""
        )
        result, cases = run_checks(
            tmp_path,
            "two",
            "-k",
            "HOST-DISK-FREE or HOST-FILE-PERMISSIONS or HOST-PROCESS-RUNNING or HOST-SERVICE-ACTIVE",
        )
    assert_one_test_waited_for_the_hung_host(
        result, cases, live="two/live/", hung="two/hung/", counts=(3, 4), port=port
    )


def test_a_dead_address_is_one_timeout_for_probes_and_the_ssh_host_behind_it(tmp_path: Path) -> None:
    """The machine itself is dead: an HTTP endpoint and the ssh transport of [host] on one blackholed
    address. The first to try waits; the other kind fails at once (one TCP address, one memory)."""
    with blackhole() as port:
        (tmp_path / "dead.toml").write_text(
            f"""
[target]
connect_timeout = 1.0
read_timeout = 1.0

[host]
transport = "ssh://root@127.0.0.1:{port}?ssh_config=/dev/null"
[[host.disks]]
name = "root"
path = "/"

[[http.endpoints]]
name = "health"
url = "http://127.0.0.1:{port}/health"
"""
        )
        result, cases = run_checks(tmp_path, "dead", "--no-diagnostics")
    messages = [f.get("message", "") for c in cases.values() if (f := c.find("failure")) is not None]
    assert any("HOST-DISK-FREE" in n for n in cases) and any("HTTP-HEALTH" in n for n in cases)
    assert len(messages) >= 3, result.stdout[-3000:]
    waited = [m for m in messages if "first seen in" not in m and "blocked by" not in m]
    assert len(waited) == 1, messages
