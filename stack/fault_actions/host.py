"""Faults of the host area: processes, files, disks, logs, deployed code, configuration, migrations, SQLite.

Each one breaks the deployed application's copy under ``<run>/app`` (stack/hostfiles.py) or a stack
process for real, and heals by restoring the healthy state; ``up`` rewrites that state anyway. Data
(expect_fail, messages): stack/faults.d/host.toml.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg

from stack import config, hostfiles, proc, secretstore
from stack.faults import Action
from stack.hostfiles import AppFiles
from stack.layout import LOOPBACK
from stack.parts import BASE_ENV, PG_DATABASE, PG_ROLE, Context, NginxPart, RedisPart, SshdPart

__all__ = ["ACTIONS"]

Probe = Callable[[Context], bool]
UNKNOWN_REVISION = "ffffdeadbeef"
BRANCH_FILE = "c3d4e5f6a7b8_branch_without_merge.py"
BRANCH_SCRIPT = '''"""add a column on a branch (never merged)

Revision ID: c3d4e5f6a7b8
Revises: a1b2c3d4e5f6
"""

import sqlalchemy as sa
from alembic import op

revision = "c3d4e5f6a7b8"
down_revision = "a1b2c3d4e5f6"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("nickname", sa.String(50)))


def downgrade():
    op.drop_column("users", "nickname")
'''
BROKEN_NGINX_SNIPPET = "# dropped by the nginx-config-invalid fault\nproxy_buffering_typo off;\n"
DISK_SIZE = "1m"


def _app(ctx: Context) -> AppFiles:
    return AppFiles(ctx.lay)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


# ---------------------------------------------------------------- sshd killed (SIGKILL: stale pid file)


def _kill_sshd(ctx: Context) -> None:
    rec = SshdPart(ctx).running()
    if rec is not None:
        os.kill(rec.pid, signal.SIGKILL)
        proc.wait_until(lambda: not proc.is_alive(rec.pid, rec.starttime), 10)


def _start_sshd(ctx: Context) -> None:
    part = SshdPart(ctx)
    if part.running() is None:
        proc.forget(ctx.lay.pids, part.name)
        part.start()


def _sshd_down(ctx: Context) -> bool:
    return not proc.port_open(ctx.ports.sshd)


# ---------------------------------------------------------------- file permissions


def _key(ctx: Context) -> Path:
    return ctx.tls.root / "server.key"


def _key_mode(mode: int) -> Callable[[Context], None]:
    return lambda ctx: _key(ctx).chmod(mode)


def _key_world_readable(ctx: Context) -> bool:
    return bool(_key(ctx).stat().st_mode & 0o004)


# ---------------------------------------------------------------- disk full (a 1 MiB tmpfs over uploads/)


def _mounted(path: Path) -> bool:
    return os.path.ismount(path)


def _fill_disk(ctx: Context) -> None:
    uploads = _app(ctx).uploads
    uploads.mkdir(parents=True, exist_ok=True)
    if not _mounted(uploads):
        result = hostfiles.run_quiet(
            ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0755", "tmpfs", str(uploads)]
        )
        if result.returncode != 0:
            raise RuntimeError(f"mount tmpfs on {uploads}: {result.stderr.strip()}")
    usage = shutil.disk_usage(uploads)
    filler = uploads / "big-upload.bin"
    with filler.open("wb") as handle:
        handle.write(b"\0" * int(usage.total * 0.96))


def _free_disk(ctx: Context) -> None:
    uploads = _app(ctx).uploads
    if _mounted(uploads):
        result = hostfiles.run_quiet(["umount", str(uploads)])
        if result.returncode != 0:
            raise RuntimeError(f"umount {uploads}: {result.stderr.strip()}")


def _disk_full(ctx: Context) -> bool:
    uploads = _app(ctx).uploads
    usage = shutil.disk_usage(uploads)
    return _mounted(uploads) and usage.used / usage.total > 0.9


# ---------------------------------------------------------------- the app's log


def _healthy_log(ctx: Context) -> None:
    log = _app(ctx).log
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(hostfiles.log_line("INFO", "started") + hostfiles.log_line("INFO", "ready"))


def _append_errors(ctx: Context) -> None:
    with _app(ctx).log.open("a") as handle:
        for _ in range(3):
            handle.write(hostfiles.log_line("ERROR", "database connection lost: connection refused"))


def _log_has_errors(ctx: Context) -> bool:
    return " ERROR " in _read(_app(ctx).log)


def _grow_log(ctx: Context) -> None:
    line = hostfiles.log_line("INFO", "GET /api/items 200 " + "x" * 100)
    with _app(ctx).log.open("a") as handle:
        handle.write(line * (3 * 2**20 // len(line)))


def _log_big(ctx: Context) -> bool:
    return _app(ctx).log.stat().st_size > 2 * 2**20


def _log_small(ctx: Context) -> bool:
    log = _app(ctx).log
    return log.exists() and log.stat().st_size < 2**20 and not _log_has_errors(ctx)


# ---------------------------------------------------------------- deployed code and requirements


def _break_source(ctx: Context) -> None:
    with (_app(ctx).sources / "app.py").open("a") as handle:
        handle.write("\n\ndef broken(:\n    pass\n")


def _restore_sources(ctx: Context) -> None:
    hostfiles.write_sources(_app(ctx))


def _source_broken(ctx: Context) -> bool:
    return "def broken(:" in _read(_app(ctx).sources / "app.py")


MISSING_REQUIREMENT = "infragate-absent-package>=1.0\n"


def _add_requirement(ctx: Context) -> None:
    path = _app(ctx).requirements
    if MISSING_REQUIREMENT not in _read(path):
        with path.open("a") as handle:
            handle.write(MISSING_REQUIREMENT)


def _restore_requirements(ctx: Context) -> None:
    config.write_if_changed(_app(ctx).requirements, hostfiles.REQUIREMENTS, 0o644)


def _requirement_added(ctx: Context) -> bool:
    return MISSING_REQUIREMENT in _read(_app(ctx).requirements)


def _saved_library(ctx: Context) -> Path:
    return ctx.lay.fault_state / "libinfragate_demo.so"


def _move_library(ctx: Context) -> None:
    if _app(ctx).library.exists():
        os.replace(_app(ctx).library, _saved_library(ctx))


def _restore_library(ctx: Context) -> None:
    if _saved_library(ctx).exists():
        os.replace(_saved_library(ctx), _app(ctx).library)


def _library_present(ctx: Context) -> bool:
    return _app(ctx).library.exists()


# ---------------------------------------------------------------- .env and settings


def _empty_secret_key(ctx: Context) -> None:
    path = _app(ctx).env
    lines = [("SECRET_KEY=" if line.startswith("SECRET_KEY=") else line) for line in _read(path).splitlines()]
    config.write_if_changed(path, "\n".join(lines) + "\n", 0o600)


def _restore_env(ctx: Context) -> None:
    config.write_if_changed(_app(ctx).env, hostfiles.env_text(ctx), 0o600)


def _secret_key_empty(ctx: Context) -> bool:
    return "SECRET_KEY=\n" in _read(_app(ctx).env)


def _settings(text: str) -> Callable[[Context], None]:
    def write(ctx: Context) -> None:
        config.write_if_changed(_app(ctx).settings, text, 0o640)

    return write


def _settings_are(text: str) -> Probe:
    return lambda ctx: _read(_app(ctx).settings) == text


SETTINGS_OUT_OF_RANGE = hostfiles.SETTINGS_TOML.replace("max_iterations = 10", "max_iterations = 0")
SETTINGS_DEBUG = hostfiles.SETTINGS_TOML.replace("debug = false", "debug = true").replace(
    'log_level = "INFO"', 'log_level = "DEBUG"'
)
SETTINGS_SYNTAX_ERROR = hostfiles.SETTINGS_TOML.replace("[database]", "[database")


# ---------------------------------------------------------------- nginx configuration


def _snippet(ctx: Context) -> Path:
    return ctx.lay.nginx / "conf.d" / "zz-broken.conf"


def _drop_snippet(ctx: Context) -> None:
    # Written, never reloaded: the running nginx keeps serving, `nginx -t` (and the next reload) fails.
    # A stack started before nginx.conf gained its conf.d include gets it (and a reload) first.
    nginx_part = NginxPart(ctx)
    if nginx_part.write_conf() and nginx_part.running() is not None:
        nginx_part.reload()
    _snippet(ctx).parent.mkdir(parents=True, exist_ok=True)
    _snippet(ctx).write_text(BROKEN_NGINX_SNIPPET)


def _remove_snippet(ctx: Context) -> None:
    _snippet(ctx).unlink(missing_ok=True)


def _nginx_test_fails(ctx: Context) -> bool:
    part = NginxPart(ctx)
    argv = ["nginx", "-p", f"{ctx.lay.nginx}/", "-c", str(part.conf), "-t", "-q"]
    return subprocess.run(argv, capture_output=True, timeout=30, check=False).returncode != 0


# ---------------------------------------------------------------- Alembic


def _downgrade(ctx: Context) -> None:
    hostfiles.alembic(ctx, "downgrade", "-1")


def _upgrade(ctx: Context) -> None:
    _remove_branch(ctx)
    if not proc.port_open(ctx.ports.postgres):
        return  # `up` heals before starting parts; hostfiles.ensure restores and upgrades once PG runs
    _restore_revision(ctx)
    hostfiles.alembic(ctx, "upgrade", "head")


def _pg(ctx: Context) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=LOOPBACK,
        port=ctx.ports.postgres,
        user=PG_ROLE,
        dbname=PG_DATABASE,
        password=ctx.secrets()[secretstore.PG_PASSWORD],
        connect_timeout=5,
        autocommit=True,
    )


def _revision(ctx: Context) -> str | None:
    with _pg(ctx) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def _has_orders(ctx: Context) -> bool:
    with _pg(ctx) as conn:
        row = conn.execute("SELECT to_regclass('public.orders') IS NOT NULL").fetchone()
    return bool(row and row[0])


def _at_head(ctx: Context) -> bool:
    return _revision(ctx) == "b2c3d4e5f6a7" and _has_orders(ctx) and not _branch(ctx).exists()


def _branch(ctx: Context) -> Path:
    return _app(ctx).migrations / "versions" / BRANCH_FILE


def _add_branch(ctx: Context) -> None:
    _branch(ctx).write_text(BRANCH_SCRIPT)


def _remove_branch(ctx: Context) -> None:
    _branch(ctx).unlink(missing_ok=True)


def _saved_revision(ctx: Context) -> Path:
    return ctx.lay.fault_state / "alembic_version.orig"


def _set_unknown_revision(ctx: Context) -> None:
    saved = _saved_revision(ctx)
    if not saved.exists():
        saved.write_text(_revision(ctx) or "")
    with _pg(ctx) as conn:
        conn.execute("UPDATE alembic_version SET version_num = %s", (UNKNOWN_REVISION,))


def _restore_revision(ctx: Context) -> None:
    saved = _saved_revision(ctx)
    if saved.exists():
        with _pg(ctx) as conn:
            conn.execute("UPDATE alembic_version SET version_num = %s", (saved.read_text().strip(),))
        saved.unlink()


PENDING_SQLX = "20240103000000_add_message_edited_at.sql"


def _add_sqlx_file(ctx: Context) -> None:
    (_app(ctx).sqlx / PENDING_SQLX).write_text("ALTER TABLE messages ADD COLUMN edited_at TIMESTAMPTZ;\n")


def _remove_sqlx_file(ctx: Context) -> None:
    (_app(ctx).sqlx / PENDING_SQLX).unlink(missing_ok=True)


def _sqlx_pending(ctx: Context) -> bool:
    return (_app(ctx).sqlx / PENDING_SQLX).exists()


# ---------------------------------------------------------------- SQLite (the run dir's copy)


def _saved_db(ctx: Context) -> Path:
    return ctx.lay.fault_state / "app.db.orig"


def _backup_db(ctx: Context) -> None:
    if not _saved_db(ctx).exists():
        shutil.copy2(_app(ctx).sqlite, _saved_db(ctx))


def _restore_db(ctx: Context) -> None:
    saved = _saved_db(ctx)
    if saved.exists():
        os.replace(saved, _app(ctx).sqlite)


def _corrupt_db(ctx: Context) -> None:
    """Overwrite the middle of the file (b-tree pages of the tables) with garbage; the header stays valid."""
    _backup_db(ctx)
    path = _app(ctx).sqlite
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\xa5" * 4096)


def _drop_table(ctx: Context) -> None:
    _backup_db(ctx)
    with sqlite3.connect(_app(ctx).sqlite) as db:
        db.execute("DROP TABLE IF EXISTS conversations")
    db.close()


def _sqlite_integrity_ok(ctx: Context) -> bool:
    try:
        with sqlite3.connect(f"file:{_app(ctx).sqlite}?mode=ro", uri=True) as db:
            rows = db.execute("PRAGMA integrity_check").fetchall()
        db.close()
    except sqlite3.DatabaseError:
        return False
    return rows == [("ok",)]


def _sqlite_has_conversations(ctx: Context) -> bool:
    with sqlite3.connect(f"file:{_app(ctx).sqlite}?mode=ro", uri=True) as db:
        row = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'conversations'").fetchone()
    db.close()
    return bool(row and row[0])


def _not(probe: Probe) -> Probe:
    return lambda ctx: not probe(ctx)


# ---------------------------------------------------------------- logrotate rule, settings, look-alike


def _rule_text(ctx: Context) -> str:
    return hostfiles.LOGROTATE_RULE.format(app_logs=_app(ctx).log.parent, stack_logs=ctx.lay.logs)


def _remove_rule(ctx: Context) -> None:
    hostfiles.logrotate_rule_file(ctx.lay).unlink(missing_ok=True)


def _write_rule(ctx: Context) -> None:
    path = hostfiles.logrotate_rule_file(ctx.lay)
    path.parent.mkdir(parents=True, exist_ok=True)
    config.write_if_changed(path, _rule_text(ctx), 0o644)


def _rule_missing(ctx: Context) -> bool:
    return not hostfiles.logrotate_rule_file(ctx.lay).exists()


def _rule_healthy(ctx: Context) -> bool:
    return _read(hostfiles.logrotate_rule_file(ctx.lay)) == _rule_text(ctx)


# Without the key the app falls back to its default, debug on (inventory: debug_default = "on").
SETTINGS_NO_DEBUG = hostfiles.SETTINGS_TOML.replace("debug = false\n", "")
HEALTHY_POOL = 'DB_POOL_SIZE="5"\n'
OUT_OF_RANGE_POOL = 'DB_POOL_SIZE="80"\n'


def _env_pool_out_of_range(ctx: Context) -> str:
    return hostfiles.env_text(ctx).replace(HEALTHY_POOL, OUT_OF_RANGE_POOL)


def _set_pool_out_of_range(ctx: Context) -> None:
    config.write_if_changed(_app(ctx).env, _env_pool_out_of_range(ctx), 0o600)


def _pool_out_of_range(ctx: Context) -> bool:
    return OUT_OF_RANGE_POOL in _read(_app(ctx).env)


def _env_healthy(ctx: Context) -> bool:
    return _read(_app(ctx).env) == hostfiles.env_text(ctx)


REDIS_LOOKALIKE = "redis-lookalike"


def _command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _redis_title(ctx: Context) -> str:
    """The live Redis's command line as ps shows it (redis-server rewrites it to "redis-server HOST:PORT")."""
    rec = RedisPart(ctx).running()
    title = _command_line(rec.pid) if rec is not None else ""
    if not title:
        raise RuntimeError("redis-duplicate-process: the stack's Redis is not running")
    return title


def _redis_title_count(ctx: Context) -> int:
    title = _redis_title(ctx)
    pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    return sum(1 for pid in pids if proc.is_alive(pid) and _command_line(pid) == title)


def _start_lookalike(ctx: Context) -> None:
    if proc.recorded(ctx.lay.fault_state, REDIS_LOOKALIKE) is not None:
        return  # already applied
    # perl rewrites its own argv ($0): ps then shows exactly Redis's command line, as a second instance
    # started by hand (or a stale one left by a botched restart) would. It listens on nothing.
    title = _redis_title(ctx)
    argv = ["perl", "-e", "$0 = $ARGV[0]; sleep 3600", title]
    log = ctx.lay.logs / f"fault-{REDIS_LOOKALIKE}.log"
    pid = proc.spawn(argv, log=log, env=BASE_ENV, cwd=ctx.lay.root)
    if proc.record(ctx.lay.fault_state, REDIS_LOOKALIKE, pid) is None:
        raise RuntimeError(f"{REDIS_LOOKALIKE}: perl exited at once (see {log})")
    proc.wait_until(lambda: _command_line(pid) == title, 10)


def _stop_lookalike(ctx: Context) -> None:
    rec = proc.recorded(ctx.lay.fault_state, REDIS_LOOKALIKE)
    if rec is not None:
        proc.stop(rec, ports=(), timeout=5.0)
    proc.forget(ctx.lay.fault_state, REDIS_LOOKALIKE)


ACTIONS: dict[str, Action] = {
    "sshd-killed": Action(
        needs=("sshd",), broken=_sshd_down, healthy=_not(_sshd_down), on_apply=_kill_sshd, on_heal=_start_sshd
    ),
    "tls-key-world-readable": Action(
        needs=(),
        broken=_key_world_readable,
        healthy=_not(_key_world_readable),
        on_apply=_key_mode(0o644),
        on_heal=_key_mode(0o600),
    ),
    "uploads-disk-full": Action(
        needs=(), broken=_disk_full, healthy=_not(_disk_full), on_apply=_fill_disk, on_heal=_free_disk
    ),
    "app-log-errors": Action(
        needs=(), broken=_log_has_errors, healthy=_log_small, on_apply=_append_errors, on_heal=_healthy_log
    ),
    "app-log-oversized": Action(
        needs=(), broken=_log_big, healthy=_log_small, on_apply=_grow_log, on_heal=_healthy_log
    ),
    "source-syntax-error": Action(
        needs=(),
        broken=_source_broken,
        healthy=_not(_source_broken),
        on_apply=_break_source,
        on_heal=_restore_sources,
    ),
    "library-missing": Action(
        needs=(),
        broken=_not(_library_present),
        healthy=_library_present,
        on_apply=_move_library,
        on_heal=_restore_library,
    ),
    "requirement-missing": Action(
        needs=(),
        broken=_requirement_added,
        healthy=_not(_requirement_added),
        on_apply=_add_requirement,
        on_heal=_restore_requirements,
    ),
    "env-key-empty": Action(
        needs=(),
        broken=_secret_key_empty,
        healthy=_not(_secret_key_empty),
        on_apply=_empty_secret_key,
        on_heal=_restore_env,
    ),
    "settings-out-of-range": Action(
        needs=(),
        broken=_settings_are(SETTINGS_OUT_OF_RANGE),
        healthy=_settings_are(hostfiles.SETTINGS_TOML),
        on_apply=_settings(SETTINGS_OUT_OF_RANGE),
        on_heal=_settings(hostfiles.SETTINGS_TOML),
    ),
    "settings-syntax-error": Action(
        needs=(),
        broken=_settings_are(SETTINGS_SYNTAX_ERROR),
        healthy=_settings_are(hostfiles.SETTINGS_TOML),
        on_apply=_settings(SETTINGS_SYNTAX_ERROR),
        on_heal=_settings(hostfiles.SETTINGS_TOML),
    ),
    "debug-enabled": Action(
        needs=(),
        broken=_settings_are(SETTINGS_DEBUG),
        healthy=_settings_are(hostfiles.SETTINGS_TOML),
        on_apply=_settings(SETTINGS_DEBUG),
        on_heal=_settings(hostfiles.SETTINGS_TOML),
    ),
    "nginx-config-invalid": Action(
        needs=("nginx",),
        broken=_nginx_test_fails,
        healthy=_not(_nginx_test_fails),
        on_apply=_drop_snippet,
        on_heal=_remove_snippet,
    ),
    "migration-not-applied": Action(
        needs=("postgres",), broken=_not(_has_orders), healthy=_at_head, on_apply=_downgrade, on_heal=_upgrade
    ),
    "alembic-two-heads": Action(
        needs=(),
        broken=lambda ctx: _branch(ctx).exists(),
        healthy=lambda ctx: not _branch(ctx).exists(),
        on_apply=_add_branch,
        on_heal=_remove_branch,
    ),
    "alembic-unknown-revision": Action(
        needs=("postgres",),
        broken=lambda ctx: _revision(ctx) == UNKNOWN_REVISION,
        healthy=_at_head,
        on_apply=_set_unknown_revision,
        on_heal=_upgrade,
    ),
    "sqlx-migration-pending": Action(
        needs=(),
        broken=_sqlx_pending,
        healthy=_not(_sqlx_pending),
        on_apply=_add_sqlx_file,
        on_heal=_remove_sqlx_file,
    ),
    "sqlite-corrupted": Action(
        needs=(),
        broken=_not(_sqlite_integrity_ok),
        healthy=_sqlite_integrity_ok,
        on_apply=_corrupt_db,
        on_heal=_restore_db,
    ),
    "sqlite-table-missing": Action(
        needs=(),
        broken=_not(_sqlite_has_conversations),
        healthy=_sqlite_has_conversations,
        on_apply=_drop_table,
        on_heal=_restore_db,
    ),
    "logrotate-rule-missing": Action(
        needs=(), broken=_rule_missing, healthy=_rule_healthy, on_apply=_remove_rule, on_heal=_write_rule
    ),
    "debug-key-removed": Action(
        needs=(),
        broken=_settings_are(SETTINGS_NO_DEBUG),
        healthy=_settings_are(hostfiles.SETTINGS_TOML),
        on_apply=_settings(SETTINGS_NO_DEBUG),
        on_heal=_settings(hostfiles.SETTINGS_TOML),
    ),
    "env-pool-out-of-range": Action(
        needs=(),
        broken=_pool_out_of_range,
        healthy=_env_healthy,
        on_apply=_set_pool_out_of_range,
        on_heal=_restore_env,
    ),
    "redis-duplicate-process": Action(
        needs=("redis",),
        broken=lambda ctx: _redis_title_count(ctx) >= 2,
        healthy=lambda ctx: _redis_title_count(ctx) == 1,
        on_apply=_start_lookalike,
        on_heal=_stop_lookalike,
    ),
}
