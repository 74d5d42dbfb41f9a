"""The deployed application's files on the stack host, for the host, configuration and migration checks.

Written at every ``up`` (after the parts are ready) under ``<run>/app``: a settings file and a .env with
its .env.example, a requirements file and a deployed copy of the service's sources, the app's own log,
an uploads directory (the disk check's path), a SQLite database, and the Alembic scripts applied to the
stack's PostgreSQL (two revisions); and ``<run>/logrotate.d/infragate-stack``, the logrotate rule
covering the logs. Faults (stack/fault_actions/host.py) break these copies, never the repository's files;
``up`` rewrites the healthy state.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

from stack import config, hostview, pg_backup, secretstore, tenants
from stack.layout import LOOPBACK, PACKAGE_DIR, Layout
from stack.parts import PG_BIN, PG_DATABASE, PG_ROLE, Context, service_python

MIGRATIONS_SOURCE = PACKAGE_DIR / "migrations"
SERVICE_SOURCE = PACKAGE_DIR / "service"
SQLX_SOURCE = PACKAGE_DIR / "sqlx_migrations"
# The application's upload limit (MAX_FILE_SIZE): the service's default and the deployed .env agree.
UPLOAD_MAX_BYTES = 1048576

SETTINGS_TOML = """\
# Sample service settings (runbook 004's settings/production.toml).
[app]
debug = false
log_level = "INFO"

[limits]
max_iterations = 10
access_token_expire_minutes = 30
max_file_size_mb = 10

[database]
max_connections = 20
"""

ENV_EXAMPLE = """\
# Copy to .env and fill in (runbook 000: cp .env.example .env).
DATABASE_URL=
SECRET_KEY=
OLLAMA_URL=
DB_POOL_SIZE=
MAX_FILE_SIZE=
"""

REQUIREMENTS = """\
fastapi>=0.110
uvicorn>=0.29
psycopg>=3.2
redis>=5
PyJWT>=2.8
"""

SQLITE_SCHEMA = """\
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, created_at TEXT);
CREATE TABLE conversations (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title TEXT);
CREATE INDEX conversations_user ON conversations(user_id);
"""


class AppFiles:
    """Paths of the deployed application under the run dir."""

    def __init__(self, lay: Layout) -> None:
        self.root = lay.root / "app"

    @property
    def settings(self) -> Path:
        """settings.toml."""
        return self.root / "settings.toml"

    @property
    def env(self) -> Path:
        """.env (mode 600: it holds secrets)."""
        return self.root / ".env"

    @property
    def env_example(self) -> Path:
        """.env.example."""
        return self.root / ".env.example"

    @property
    def requirements(self) -> Path:
        """requirements.txt."""
        return self.root / "requirements.txt"

    @property
    def sources(self) -> Path:
        """The deployed sources (a copy of stack/service)."""
        return self.root / "src"

    @property
    def log(self) -> Path:
        """The app's log file."""
        return self.root / "logs" / "app.log"

    @property
    def uploads(self) -> Path:
        """Uploads directory: the path of the disk-space check."""
        return self.root / "uploads"

    @property
    def sqlite(self) -> Path:
        """SQLite database."""
        return self.root / "data" / "app.db"

    @property
    def binary(self) -> Path:
        """A deployed executable with its own shared library."""
        return self.root / "bin" / "infragate-demo"

    @property
    def library(self) -> Path:
        """The executable's library (bin/lib, found through RPATH)."""
        return self.root / "bin" / "lib" / "libinfragate_demo.so"

    @property
    def sqlx(self) -> Path:
        """The deployed sqlx migrations (chat server, runbook 002)."""
        return self.root / "sqlx-migrations"

    @property
    def migrations(self) -> Path:
        """The deployed Alembic scripts."""
        return self.root / "migrations"


def log_line(level: str, message: str, when: float | None = None) -> str:
    """One line of the app's log: ``2026-11-28 06:41:47,123 INFO app: message``."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))
    return f"{stamp},000 {level} app: {message}\n"


def env_text(ctx: Context) -> str:
    """The healthy .env (every key of .env.example set)."""
    password = ctx.secrets()[secretstore.PG_PASSWORD]
    return (
        f"DATABASE_URL=postgresql://{PG_ROLE}:{password}@{LOOPBACK}:{ctx.ports.postgres}/{PG_DATABASE}\n"
        f"SECRET_KEY={password[::-1]}\n"
        f"OLLAMA_URL=http://{LOOPBACK}:11434\n"
        # Text, as every .env value: CONFIG-REQUIRED-SETTINGS must read it as the number 5 (issue 10).
        'DB_POOL_SIZE="5"\n'
        # Runbook 002's upload limit in bytes; the sample service takes the same (stack/service/app.py).
        f"MAX_FILE_SIZE={UPLOAD_MAX_BYTES}\n"
    )


LOGROTATE_RULE = """\
# The reference stack's logs, rotated by size (HOST-LOG-SIZE asks that a logrotate rule covers each
# declared log). The stack does not run logrotate itself: this is the rule a deployment would install
# in /etc/logrotate.d, kept under the run dir and named by inventory/local.toml's logrotate_configs.
{app_logs}/*.log {stack_logs}/*.log {{
    size 1M
    rotate 5
    missingok
    notifempty
    compress
    copytruncate
}}
"""


def logrotate_rule_file(lay: Layout) -> Path:
    """The stack's logrotate rule (``<run>/logrotate.d/infragate-stack``); a fault may remove it."""
    return lay.root / "logrotate.d" / "infragate-stack"


def write_sources(app: AppFiles) -> None:
    """Copy the service's sources (no caches) to the deployed directory."""
    shutil.rmtree(app.sources, ignore_errors=True)
    shutil.copytree(SERVICE_SOURCE, app.sources, ignore=shutil.ignore_patterns("__pycache__"))


def write_sqlite(app: AppFiles) -> None:
    """A fresh SQLite database with the app's tables and a few rows."""
    app.sqlite.parent.mkdir(parents=True, exist_ok=True)
    tmp = app.sqlite.with_name("app.db.tmp")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(tmp) as db:
        db.executescript(SQLITE_SCHEMA)
        db.executemany(
            "INSERT INTO users (email, created_at) VALUES (?, datetime('now'))",
            [(f"user{i}@example.test",) for i in range(200)],
        )
        db.executemany(
            "INSERT INTO conversations (user_id, title) VALUES (?, ?)",
            [(i % 200 + 1, f"conversation {i} " + "x" * 80) for i in range(2000)],
        )
    db.close()
    tmp.replace(app.sqlite)


def alembic_url(ctx: Context) -> str:
    """SQLAlchemy URL of the stack's database for Alembic (the password never reaches a command line)."""
    from sqlalchemy import URL

    url = URL.create(
        "postgresql+psycopg",
        username=PG_ROLE,
        password=ctx.secrets()[secretstore.PG_PASSWORD],
        host=LOOPBACK,
        port=ctx.ports.postgres,
        database=PG_DATABASE,
    )
    return url.render_as_string(hide_password=False)


def alembic(ctx: Context, command: str, revision: str) -> None:
    """Run ``alembic upgrade|downgrade REVISION`` on the deployed scripts, in-process."""
    from alembic import command as alembic_command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(AppFiles(ctx.lay).migrations))
    cfg.attributes["url"] = alembic_url(ctx)
    getattr(alembic_command, command)(cfg, revision)


DEMO_LIBRARY_C = "int infragate_demo(void) { return 0; }\n"
DEMO_MAIN_C = "int infragate_demo(void);\nint main(void) { return infragate_demo(); }\n"


def write_binary(app: AppFiles) -> None:
    """A small executable linked to its own shared library in bin/lib (found through RPATH $ORIGIN/lib).

    Built once with the C compiler (Debian: gcc); the binary-deps fault moves the library away.
    """
    if app.binary.exists():
        return
    lib_dir = app.binary.parent / "lib"
    lib_dir.mkdir(parents=True, exist_ok=True)
    (lib_dir / "demo.c").write_text(DEMO_LIBRARY_C)
    (app.binary.parent / "main.c").write_text(DEMO_MAIN_C)
    steps = [
        ["gcc", "-shared", "-fPIC", "-o", str(app.library), str(lib_dir / "demo.c")],
        [
            "gcc",
            "-o",
            str(app.binary),
            str(app.binary.parent / "main.c"),
            f"-L{lib_dir}",
            "-linfragate_demo",
            "-Wl,-rpath,$ORIGIN/lib",
        ],
    ]
    for argv in steps:
        result = run_quiet(argv)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])}: {result.stderr.strip()[-500:]}")


# launchbadge/sqlx sideeffects.md: the table `sqlx migrate run` creates on PostgreSQL.
SQLX_TABLE = """CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)"""


def sqlx_migrate(ctx: Context, directory: Path) -> None:
    """Apply pending ``<version>_<description>.sql`` files as ``sqlx migrate run`` does: each in a
    transaction with its row (description with spaces, SHA-384 checksum, execution time in ns)."""
    import hashlib

    import psycopg

    with psycopg.connect(alembic_url(ctx).replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute(SQLX_TABLE)
        conn.commit()
        done = {int(r[0]) for r in conn.execute("SELECT version FROM _sqlx_migrations").fetchall()}
        for path in sorted(directory.glob("*.sql")):
            version, _, rest = path.name.partition("_")
            if int(version) in done:
                continue
            sql = path.read_bytes()
            start = time.perf_counter_ns()
            with conn.transaction():
                conn.execute(sql.decode())
                conn.execute(
                    "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)"
                    " VALUES (%s, %s, TRUE, %s, %s)",
                    (
                        int(version),
                        rest.removesuffix(".sql").replace("_", " "),
                        hashlib.sha384(sql).digest(),
                        time.perf_counter_ns() - start,
                    ),
                )


def write_migrations(app: AppFiles) -> None:
    """Copy the Alembic scripts (no caches) to the deployed directory."""
    shutil.rmtree(app.migrations, ignore_errors=True)
    shutil.copytree(MIGRATIONS_SOURCE, app.migrations, ignore=shutil.ignore_patterns("__pycache__"))


def ensure(ctx: Context) -> None:
    """Write the healthy application files and migrate the database to head (idempotent)."""
    app = AppFiles(ctx.lay)
    for path in (app.root, app.log.parent, app.uploads):
        path.mkdir(parents=True, exist_ok=True)
    config.write_if_changed(app.settings, SETTINGS_TOML, 0o640)
    config.write_if_changed(app.env_example, ENV_EXAMPLE, 0o644)
    config.write_if_changed(app.env, env_text(ctx), 0o600)
    config.write_if_changed(app.requirements, REQUIREMENTS, 0o644)
    rule = LOGROTATE_RULE.format(app_logs=app.log.parent, stack_logs=ctx.lay.logs)
    config.write_if_changed(logrotate_rule_file(ctx.lay), rule, 0o644)
    write_sources(app)
    # The app's virtualenv as deployed: the interpreter the stack runs the service with.
    venv = app.root / "venv"
    if not venv.is_symlink():
        venv.symlink_to(Path(service_python()).parent.parent)
    app.log.write_text(log_line("INFO", "started") + log_line("INFO", "ready"))
    if not app.sqlite.exists():
        write_sqlite(app)
    write_binary(app)
    write_migrations(app)
    _restore_revision(ctx)
    alembic(ctx, "upgrade", "head")
    # The accounts and per-user tenant schemas (AUTH-ADMIN-EXISTS, AUTH-TENANT-SCHEMA).
    tenants.ensure(ctx)
    shutil.rmtree(app.sqlx, ignore_errors=True)
    shutil.copytree(SQLX_SOURCE, app.sqlx)
    sqlx_migrate(ctx, app.sqlx)
    # HOST-MEMORY, HOST-CPU-LOAD, HOST-FIREWALL-OPEN, HOST-GPU-MEMORY: procfs view, firewall, nvidia-smi.
    hostview.ensure(ctx)
    # The nightly backup of the migrated database (PG-BACKUP-DUMP, PG-RESTORE-DRILL restores it).
    pg_backup.write(ctx.lay, PG_BIN, ctx.lay.pg / "sock", ctx.ports.postgres, PG_DATABASE)


def _restore_revision(ctx: Context) -> None:
    """Put back the revision an ``alembic-unknown-revision`` fault replaced, if its heal could not."""
    saved = ctx.lay.fault_state / "alembic_version.orig"
    if not saved.exists():
        return
    import psycopg

    with psycopg.connect(
        alembic_url(ctx).replace("postgresql+psycopg", "postgresql"), autocommit=True
    ) as conn:
        conn.execute("UPDATE alembic_version SET version_num = %s", (saved.read_text().strip(),))
    saved.unlink()


def run_quiet(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """A short command whose failure the caller reports."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
