"""The deployment part's systemd host: a container whose PID 1 is systemd, as a machine deployed with units.

It runs, on the host network at 127.0.0.1 and the stack's port base: nginx (Debian's nginx.service) in
front of app.service (a tiny HTTP server, stack/templates/systemd_host/app.py, logging to the journal),
and supervisord (Debian's supervisor.service) with one program, ``worker``. The checks reach it through
testinfra's ``docker://infragate-units`` with DOCKER_HOST on our engine (``python -m stack env``).

systemd runs without privileges, as measured here (machine notes "Containers and systemd"): ``--stop-signal
SIGRTMIN+3 --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:ro``. NEVER ``--cap-add
SYS_ADMIN`` with the host cgroup namespace: the container's systemd would remount the host's cgroup tree.
The files the image holds are baked in at build (the image tag is their content key); the ports are not:
they come from ``<run>/units/etc``, bind-mounted read-only at /etc/infragate.
"""

from __future__ import annotations

import base64
import contextlib
import subprocess
from pathlib import Path

from stack import config, docker, probes, proc
from stack.parts import Context, Part

CONTAINER = "infragate-units"
IMAGE_NAME = "systemd-host"
PACKAGES = ("systemd", "systemd-sysv", "dbus", "nginx", "supervisor")
TEMPLATES = Path(__file__).resolve().parent / "templates" / "systemd_host"
# What the inventory names (inventory/local-deploy.toml) and the faults act on.
APP_UNIT = "app.service"
NGINX_UNIT = "nginx.service"
SUPERVISOR_PROGRAM = "worker"
# Its memory limit (docker run --memory): a host with a limit of its own, so HOST-MEMORY reads the
# container's cgroup, not the machine's meminfo, and fault units-memory-pressure can fill it for real.
MEMORY_LIMIT_MB = 512
# Seconds systemd gets to halt on SIGRTMIN+3 before docker KILLs it.
STOP_GRACE_S = 10
# (file in templates/systemd_host, path in the image)
_BAKED = (
    ("app.py", "/opt/infragate/app.py"),
    ("worker.py", "/opt/infragate/worker.py"),
    ("app.service", "/etc/systemd/system/app.service"),
    ("worker.conf", "/etc/supervisor/conf.d/worker.conf"),
)


def _image_lines() -> tuple[str, ...]:
    """Dockerfile lines after the packages: our files, nginx's site from the mount, the units enabled.

    ``docker build -`` has no context to COPY from: each file travels base64-encoded in a RUN line.
    """
    lines = ["RUN mkdir -p /opt/infragate /etc/supervisor/conf.d"]
    for name, target in _BAKED:
        encoded = base64.b64encode((TEMPLATES / name).read_bytes()).decode()
        lines.append(f"RUN echo {encoded} | base64 -d > {target}")
    lines += [
        # Debian's default site listens on :80 of the HOST network: never started here.
        "RUN rm -f /etc/nginx/sites-enabled/default"
        " && ln -s /etc/infragate/nginx-site.conf /etc/nginx/conf.d/infragate.conf"
        f" && systemctl enable {APP_UNIT} {NGINX_UNIT} supervisor.service"
        # No console in a container: gettys and logind would only fail or wait.
        " && systemctl mask getty@.service console-getty.service systemd-logind.service",
        "STOPSIGNAL SIGRTMIN+3",
        'CMD ["/sbin/init"]',
    ]
    return tuple(lines)


class SystemdHostPart(Part):
    """The systemd host container; its recorded process is the container's systemd (PID 1 inside)."""

    name = "units"
    # Set by prepare (built or found by its content key), used by launch.
    image = ""

    def ports(self) -> tuple[int, ...]:
        """nginx first (the main one), then app.service."""
        return (self.ctx.ports.units_nginx, self.ctx.ports.units_app)

    @property
    def etc(self) -> Path:
        """Mounted read-only at /etc/infragate: the ports, as app.env and nginx's site."""
        return self.ctx.lay.root / "units" / "etc"

    def prepare(self) -> None:
        """The mounted configuration; then our engine (parts start in parallel) and the image."""
        ports = self.ctx.ports
        config.write_if_changed(self.etc / "app.env", f"APP_PORT={ports.units_app}\n")
        site = config.render(
            "systemd_host/nginx-site.conf.tmpl",
            {"NGINX_PORT": ports.units_nginx, "APP_PORT": ports.units_app},
        )
        config.write_if_changed(self.etc / "nginx-site.conf", site)
        docker.engine_ready(self.ctx)
        try:
            self.image = docker.build_image(self.ctx.lay, IMAGE_NAME, PACKAGES, _image_lines())
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as err:
            raise self.fail(f"image: {err}") from None

    def launch(self) -> int:
        """``docker run`` systemd as PID 1 (a leftover container of that name is removed first)."""
        docker.cli(self.ctx.lay, "rm", "-f", CONTAINER, check=False)
        done = docker.cli(
            self.ctx.lay,
            "run",
            "-d",
            "--name",
            CONTAINER,
            "--hostname",
            "units",
            "--network",
            "host",
            "--stop-signal",
            "SIGRTMIN+3",
            "--memory",
            f"{MEMORY_LIMIT_MB}m",
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/run/lock",
            "-v",
            "/sys/fs/cgroup:/sys/fs/cgroup:ro",
            "-v",
            f"{self.etc}:/etc/infragate:ro",
            # systemd's container detection: no hardware units, no getty on a console.
            "-e",
            "container=docker",
            self.image,
            check=False,
        )
        log = self.log_path()
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as out:
            out.write(done.stdout + done.stderr)
        if done.returncode != 0:
            raise self.fail(f"docker run: exit {done.returncode}: {done.stderr.strip()[-300:]}")
        pid = docker.container_pid(self.ctx.lay, CONTAINER)
        if pid is None:
            raise self.fail("the systemd host container is not running after docker run")
        return pid

    def probe(self) -> bool:
        """nginx answers, app.service answers through it, and the supervisor program is RUNNING."""
        if not probes.http_ok_json(self.ctx.ports.units_nginx, "/health", "status", "ok"):
            return False
        return program_running(self.ctx)

    def send_stop(self, rec: proc.PidRecord) -> None:
        """``docker stop`` (SIGRTMIN+3: systemd halts its units) then remove the container."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            docker.cli(self.ctx.lay, "stop", "-t", str(STOP_GRACE_S), CONTAINER, check=False, timeout=30.0)
            docker.cli(self.ctx.lay, "rm", "-f", CONTAINER, check=False)


def exec_in(ctx: Context, *argv: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """A command inside the systemd host container (faults and readiness)."""
    return docker.cli(ctx.lay, "exec", CONTAINER, *argv, check=False, timeout=timeout)


def container_running(ctx: Context) -> bool:
    """The container exists and runs (a heal during `up` may come before it is started)."""
    return docker.container_pid(ctx.lay, CONTAINER) is not None


def unit_state(ctx: Context, unit: str) -> tuple[str, str]:
    """(is-active, is-enabled) of a unit in the container, as systemctl prints them."""
    active = exec_in(ctx, "systemctl", "is-active", unit).stdout.strip()
    enabled = exec_in(ctx, "systemctl", "is-enabled", unit).stdout.strip()
    return active, enabled


def program_running(ctx: Context) -> bool:
    """The supervisor program is RUNNING."""
    out = exec_in(ctx, "supervisorctl", "status", SUPERVISOR_PROGRAM).stdout.split()
    return len(out) > 1 and out[1] == "RUNNING"
