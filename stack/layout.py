"""Where the stack keeps its state and which ports it listens on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
TEMPLATES = PACKAGE_DIR / "templates"
DEFAULT_PORT_BASE = 18400
LOOPBACK = "127.0.0.1"

# Offsets from the port base. The inventory hard-codes the defaults (base 18400), so these never change.
PORT_OFFSETS: dict[str, int] = {
    "service": 0,
    # Services of stack/services/ (issue 9), each on its own framework and auth contract.
    "drf": 1,  # Django REST framework + simplejwt
    "form": 2,  # FastAPI, OAuth2 form login, API keys, the application chat endpoint
    "socketio": 3,  # python-socketio ASGI server
    "llm": 4,  # OpenAI-compatible chat backend with recorded answers
    "nginx_http": 80,
    "nginx_https": 43,
    # Traefik 3, the second reverse proxy (stack/traefik.py): HTTP (redirects), HTTPS, API + ping.
    "traefik_http": 81,
    "traefik_https": 44,
    "traefik_api": 82,
    "postgres": 32,
    "redis": 79,
    "prometheus": 90,
    "alertmanager": 93,
    # Prometheus Pushgateway (issue 13): scheduled infragate runs push their results (--pushgateway).
    "pushgateway": 91,
    "sshd": 22,
    "recorded": 95,  # recorded Grafana / Loki / Ollama APIs (stack/recorded/)
    # The deployment part (issue 11, behind the deploy switch): the compose project's app, PostgreSQL and
    # Redis, in containers on the host network (stack/compose/).
    "deploy_app": 60,
    "deploy_postgres": 62,
    "deploy_redis": 63,
    # The deployment part's systemd host container (stack/systemd_host.py): its nginx, its app.service.
    "units_nginx": 66,
    "units_app": 67,
}


@dataclass(frozen=True)
class Ports:
    """The TCP ports of every listener, all on 127.0.0.1."""

    service: int
    drf: int
    form: int
    socketio: int
    llm: int
    nginx_http: int
    nginx_https: int
    traefik_http: int
    traefik_https: int
    traefik_api: int
    postgres: int
    redis: int
    prometheus: int
    alertmanager: int
    pushgateway: int
    sshd: int
    recorded: int
    deploy_app: int
    deploy_postgres: int
    deploy_redis: int
    units_nginx: int
    units_app: int


def port_base() -> int:
    """The port base: INFRAGATE_STACK_PORT_BASE or 18400."""
    raw = os.environ.get("INFRAGATE_STACK_PORT_BASE", "").strip()
    base = int(raw) if raw else DEFAULT_PORT_BASE
    # Listeners inside the kernel's ephemeral range (32768+) collide with client sockets, which a load
    # test opens by the thousand: a server then fails to bind at random. Seen here with base 38400.
    if not 1024 <= base <= 32768 - 100:
        raise ValueError(f"INFRAGATE_STACK_PORT_BASE={base}: use 1024..32668, below the ephemeral port range")
    return base


def ports() -> Ports:
    """All listener ports computed from the port base."""
    base = port_base()
    return Ports(**{name: base + offset for name, offset in PORT_OFFSETS.items()})


# The deployment part (Docker engine, images, containers; issue 11) is on for the e2e self-tests and opt-in
# for `make demo`: INFRAGATE_STACK_DEPLOY=1 (or 0 to force it off), else `python -m stack up --with deploy`
# leaves a marker in the run dir so later fault/heal/status/down commands see the same stack.
DEPLOY_ENV = "INFRAGATE_STACK_DEPLOY"


def deploy_requested(root: Path | None = None) -> bool:
    """Whether the deployment part is on: INFRAGATE_STACK_DEPLOY, else the run dir's marker."""
    raw = os.environ.get(DEPLOY_ENV, "").strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    return Layout(root or run_dir()).deploy_marker.exists()


def run_dir() -> Path:
    """The single directory holding all runtime state (INFRAGATE_RUN_DIR, relative to the repo root)."""
    raw = os.environ.get("INFRAGATE_RUN_DIR", "").strip()
    if not raw:
        return REPO_ROOT / ".run" / "stack"
    path = Path(raw).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


@dataclass(frozen=True)
class Layout:
    """Every path under the run dir, in one place so parts and faults agree on them."""

    root: Path

    @property
    def logs(self) -> Path:
        """Log files of every part except PostgreSQL (whose log must be writable by postgres)."""
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        """Pidfiles and start-time records of the processes we started."""
        return self.root / "pids"

    @property
    def tls(self) -> Path:
        """Certificates and keys."""
        return self.root / "tls"

    @property
    def pg(self) -> Path:
        """PostgreSQL root (owned by postgres): data/, sock/, postgres.log."""
        return self.root / "pg"

    @property
    def redis(self) -> Path:
        """Redis config and dump."""
        return self.root / "redis"

    @property
    def nginx(self) -> Path:
        """nginx prefix: config, pid file, temp paths."""
        return self.root / "nginx"

    @property
    def service(self) -> Path:
        """Sample service configuration (cors.json)."""
        return self.root / "service"

    @property
    def services(self) -> Path:
        """State of the stack/services/ parts: one directory each (env file, SQLite database)."""
        return self.root / "services"

    @property
    def prometheus(self) -> Path:
        """Prometheus config, rules and TSDB."""
        return self.root / "prometheus"

    @property
    def alertmanager(self) -> Path:
        """Alertmanager config and storage."""
        return self.root / "alertmanager"

    @property
    def ssh(self) -> Path:
        """sshd config, host key, client key pair, client ssh_config."""
        return self.root / "ssh"

    @property
    def faults(self) -> Path:
        """Fault hooks read by the service (api_latency_ms) and fault state."""
        return self.root / "faults"

    @property
    def active_faults(self) -> Path:
        """One marker file per applied fault."""
        return self.faults / "active"

    @property
    def fault_state(self) -> Path:
        """What a fault needs to restore the healthy state (e.g. the original server.pem)."""
        return self.faults / "state"

    @property
    def secrets_file(self) -> Path:
        """`export NAME=value` lines, mode 600."""
        return self.root / "secrets.env"

    @property
    def deploy_marker(self) -> Path:
        """Present while the deployment part is on here (`up --with deploy`; `down` removes it)."""
        return self.root / "deploy.on"

    @property
    def lock_file(self) -> Path:
        """Serialises mutating commands (up, down, fault, heal) across processes."""
        return self.root / ".lock"

    def ensure(self) -> None:
        """Create the directories that every part relies on."""
        # 0755 so that nginx workers (nobody) and postgres can traverse to their own subdirectories.
        for path in (
            self.root,
            self.logs,
            self.pids,
            self.tls,
            self.redis,
            self.nginx,
            self.service,
            self.services,
            self.prometheus,
            self.alertmanager,
            self.ssh,
            self.faults,
            self.active_faults,
            self.fault_state,
        ):
            path.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)


def layout() -> Layout:
    """The layout of the current run dir."""
    return Layout(run_dir())
