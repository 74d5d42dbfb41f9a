"""Data store faults (PostgreSQL, Redis): real sessions, locks, deadlocks, tables, settings and files.

A fault that needs a live session runs this module as a detached helper process
(``python -m stack.fault_actions.datastores MODE PORT``), whose PID is recorded under
``ctx.lay.fault_state`` and killed by that PID on heal. Tables a fault creates belong to the application
role (so pg_dump as that role still works) and are dropped on heal; statements a fault runs carry the
``/* infragate-fault */`` comment and their pg_stat_statements entries are reset on heal.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import redis

from stack import probes, proc, secretstore
from stack.faults import Action, FaultError
from stack.layout import LOOPBACK, REPO_ROOT
from stack.parts import BASE_ENV, PG_BIN, PG_DATABASE, PG_ROLE, Context, service_python

MARK = "/* infragate-fault */"
APP_NAME = "infragate-fault"
LIVE_TIMEOUT = 30.0
# inventory/local.toml declares 3 s for long queries and idle transactions and 2 s for lock waits: a fault
# is live once its session is a little older than that.
SESSION_AGE_S = 3.5
LOCK_WAIT_S = 2.5
HELD_CONNECTIONS = 82  # of max_connections 100: above the 80 % threshold, below superuser_reserved
HELD_REDIS_CLIENTS = 250  # local threshold: 2 % of maxclients 10000 = 200
BLOCKED_REDIS_CLIENTS = 3
FILL_KEY = "infragate:fault:fill:"
FILL_VALUE_BYTES = 100 * 1024
FILL_TARGET = 0.93  # of maxmemory; the check fails above 90 %
QUEUE_KEY = "infragate:fault:queue"
DRIFT_SETTING, DRIFT_VALUE = "work_mem", "64MB"
STALE_BACKUP = "appdb-old.dump"
STALE_AGE_S = 3 * 24 * 3600
# PG-RESTORE-DRILL: the newest backup cut in half (a disk that filled up during the dump).
CORRUPT_BACKUP = "appdb-corrupt.dump"
# REDIS-WS-REGISTRY / REDIS-RATE-LIMIT-KEYS: the sample service's keys (stack/service/app.py).
WS_REGISTRY_KEY = "ws:connections"
REGISTRY_HOLDER = "ws-registry-holder"
REGISTRY_SESSIONS = 5  # open sessions the registry loses: more than the check's max_drift of 2
IMMORTAL_KEY = "ratelimit:login:203.0.113.7"

# ---------------------------------------------------------------------------- connections


def _pg(ctx: Context, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A session as the application role over TCP (what the checks see)."""
    return psycopg.connect(
        host=LOOPBACK,
        port=ctx.ports.postgres,
        user=PG_ROLE,
        dbname=PG_DATABASE,
        password=ctx.secrets()[secretstore.PG_PASSWORD],
        connect_timeout=3,
        application_name=APP_NAME,
        autocommit=autocommit,
    )


def _psql(ctx: Context, sql: str) -> str:
    """SQL as the postgres superuser over the socket (ALTER SYSTEM, pg_stat_statements_reset)."""
    argv = ["runuser", "-u", "postgres", "--", str(PG_BIN / "psql"), "-X", "-q", "-A", "-t"]
    argv += ["-v", "ON_ERROR_STOP=1", "-h", str(ctx.lay.pg / "sock"), "-p", str(ctx.ports.postgres)]
    done = subprocess.run(
        [*argv, "-d", PG_DATABASE, "-c", sql],
        capture_output=True,
        text=True,
        timeout=30,
        env=BASE_ENV,
        cwd=ctx.lay.pg,
        check=False,
    )
    if done.returncode != 0:
        raise FaultError(f"psql failed: {done.stderr.strip()[-300:]}")
    return done.stdout.strip()


def _pg_value(ctx: Context, sql: str) -> Any:
    with _pg(ctx) as conn:
        row = conn.execute(sql).fetchone()
    return row[0] if row else None


def _redis(ctx: Context) -> redis.Redis:
    return redis.Redis(
        host=LOOPBACK,
        port=ctx.ports.redis,
        password=ctx.secrets()[secretstore.REDIS_PASSWORD],
        socket_timeout=5,
        socket_connect_timeout=2,
    )


def _redis_info(ctx: Context, section: str) -> dict[str, Any]:
    client = _redis(ctx)
    try:
        return dict(client.info(section))
    finally:
        client.close()


# ---------------------------------------------------------------------------- helper processes


def _helper(name: str, mode: str, part: str) -> Callable[[Context], None]:
    """on_apply: start ``python -m stack.fault_actions.datastores MODE PORT`` detached, PID in fault_state."""

    def start(ctx: Context) -> None:
        if proc.recorded(ctx.lay.fault_state, name) is not None:
            return  # already applied
        port = ctx.ports.postgres if part == "postgres" else ctx.ports.redis
        # Secrets go through the environment, never argv (visible in ps).
        env = {
            **BASE_ENV,
            "PYTHONPATH": str(REPO_ROOT),
            secretstore.PG_PASSWORD: ctx.secrets()[secretstore.PG_PASSWORD],
            secretstore.REDIS_PASSWORD: ctx.secrets()[secretstore.REDIS_PASSWORD],
        }
        argv = [service_python(), "-m", "stack.fault_actions.datastores", mode, str(port)]
        log = ctx.lay.logs / f"fault-{name}.log"
        pid = proc.spawn(argv, log=log, env=env, cwd=REPO_ROOT)
        if proc.record(ctx.lay.fault_state, name, pid) is None:
            raise FaultError(f"{name}: helper exited at once (see {log})")

    return start


def _stop_helper(name: str) -> Callable[[Context], None]:
    def stop(ctx: Context) -> None:
        rec = proc.recorded(ctx.lay.fault_state, name)
        if rec is not None:
            proc.stop(rec, ports=(), timeout=5.0)
        proc.forget(ctx.lay.fault_state, name)

    return stop


def _terminate_fault_sessions(ctx: Context) -> None:
    """A backend inside pg_sleep does not notice its client died: end the faults' sessions explicitly."""
    _psql(
        ctx,
        "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
        f" WHERE application_name = '{APP_NAME}' AND pid <> pg_backend_pid()",
    )


def _reset_marked_statements(ctx: Context) -> None:
    """Forget what the faults' own statements left in pg_stat_statements (they were slow on purpose)."""
    _psql(
        ctx,
        "SELECT count(pg_stat_statements_reset(userid, dbid, queryid)) FROM pg_stat_statements"
        f" WHERE query LIKE '%{MARK}%' OR query LIKE '%infragate_fault_%'",
    )


def _then(*steps: Callable[[Context], None]) -> Callable[[Context], None]:
    def run(ctx: Context) -> None:
        for step in steps:
            step(ctx)

    return run


def _drop_table(table: str) -> Callable[[Context], None]:
    def drop(ctx: Context) -> None:
        _psql(ctx, f"DROP TABLE IF EXISTS {table}")

    return drop


def _redis_do(*command: str) -> Callable[[Context], Any]:
    def run(ctx: Context) -> Any:
        client = _redis(ctx)
        try:
            return client.execute_command(*command)  # type: ignore[no-untyped-call]
        finally:
            client.close()

    return run


def _registry_type(ctx: Context) -> str:
    raw = _redis_do("TYPE", WS_REGISTRY_KEY)(ctx)
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _ws_active(ctx: Context) -> float:
    """The sample service's ws_connections_active gauge (-1 when unreadable)."""
    try:
        _, body = probes.http_get(ctx.ports.service, "/metrics")
    except OSError:
        return -1.0
    for line in body.decode().splitlines():
        if line.startswith("ws_connections_active "):
            return float(line.split()[1])
    return -1.0


def _registry_size(ctx: Context) -> int:
    return int(_redis_do("HLEN", WS_REGISTRY_KEY)(ctx)) if _registry_type(ctx) == "hash" else 0


def _hold_and_forget_sessions(ctx: Context) -> None:
    """Hold REGISTRY_SESSIONS WebSocket sessions (registered by the service), then delete the registry."""
    if proc.recorded(ctx.lay.fault_state, REGISTRY_HOLDER) is None:
        argv = [service_python(), "-m", "stack.fault_actions.ws_holder"]
        argv += [f"ws://{LOOPBACK}:{ctx.ports.service}/ws", str(REGISTRY_SESSIONS)]
        log = ctx.lay.logs / f"fault-{REGISTRY_HOLDER}.log"
        pid = proc.spawn(argv, log=log, env={**BASE_ENV, "PYTHONPATH": str(REPO_ROOT)}, cwd=REPO_ROOT)
        if proc.record(ctx.lay.fault_state, REGISTRY_HOLDER, pid) is None:
            raise FaultError(f"{REGISTRY_HOLDER}: helper exited at once (see {log})")
    if not proc.wait_until(lambda: _registry_size(ctx) >= REGISTRY_SESSIONS, LIVE_TIMEOUT):
        raise FaultError(f"the service did not register {REGISTRY_SESSIONS} sessions in {WS_REGISTRY_KEY}")
    _redis_do("DEL", WS_REGISTRY_KEY)(ctx)


def _registry_lost(ctx: Context) -> bool:
    return _ws_active(ctx) >= REGISTRY_SESSIONS and _registry_size(ctx) + REGISTRY_SESSIONS <= _ws_active(ctx)


def _registry_consistent(ctx: Context) -> bool:
    return _registry_type(ctx) in ("hash", "none") and abs(_registry_size(ctx) - _ws_active(ctx)) <= 2


def _drop_wrong_registry(ctx: Context) -> None:
    if _registry_type(ctx) == "string":
        _redis_do("DEL", WS_REGISTRY_KEY)(ctx)


# ---------------------------------------------------------------------------- PostgreSQL probes


def _fault_sessions(ctx: Context, where: str) -> int:
    return int(
        _pg_value(
            ctx,
            f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{APP_NAME}'"
            f" AND pid <> pg_backend_pid() AND {where}",
        )
    )


def _sessions_older(state: str, since: str) -> Callable[[Context], bool]:
    return lambda ctx: _fault_sessions(ctx, f"{state} AND now() - {since} > interval '{SESSION_AGE_S} s'") > 0


def _no_fault_sessions(ctx: Context) -> bool:
    return _fault_sessions(ctx, "true") == 0


def _lock_waiting(ctx: Context) -> bool:
    return (
        int(
            _pg_value(
                ctx,
                "SELECT count(*) FROM pg_locks WHERE NOT granted"
                f" AND now() - waitstart > interval '{LOCK_WAIT_S} s'",
            )
        )
        > 0
    )


def _deadlocks(ctx: Context) -> int:
    return int(_pg_value(ctx, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"))


def _deadlock_rising(ctx: Context) -> bool:
    before = _deadlocks(ctx)
    return proc.wait_until(lambda: _deadlocks(ctx) > before, 5.0, interval=0.2)


def _many_held(ctx: Context) -> bool:
    return _fault_sessions(ctx, "true") >= HELD_CONNECTIONS


def _table_stat(table: str, column: str) -> Callable[[Context], int]:
    return lambda ctx: int(
        _pg_value(
            ctx, f"SELECT coalesce(sum({column}), 0) FROM pg_stat_user_tables WHERE relname = '{table}'"
        )
        or 0
    )


def _table_exists(table: str) -> Callable[[Context], bool]:
    return lambda ctx: bool(_pg_value(ctx, f"SELECT to_regclass('public.{table}') IS NOT NULL"))


def _slow_statement_recorded(ctx: Context) -> bool:
    return (
        int(
            _pg_value(
                ctx,
                "SELECT count(*) FROM pg_stat_statements"
                f" WHERE query LIKE '%{MARK}%' AND mean_exec_time > 1000 AND calls >= 2",
            )
        )
        > 0
    )


def _setting(ctx: Context) -> str:
    return str(_pg_value(ctx, f"SHOW {DRIFT_SETTING}"))


# ---------------------------------------------------------------------------- PostgreSQL faults


def _create_dead_tuples(ctx: Context) -> None:
    with _pg(ctx) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS infragate_fault_dead (id int, pad text)"
            f" WITH (autovacuum_enabled = false) {MARK}"
        )
        conn.execute("TRUNCATE infragate_fault_dead")
        conn.execute(
            f"INSERT INTO infragate_fault_dead SELECT g, 'x' FROM generate_series(1, 20000) g {MARK}"
        )
        conn.execute(f"DELETE FROM infragate_fault_dead WHERE id % 2 = 0 {MARK}")


def _create_big_cold_table(ctx: Context) -> None:
    """80 MB table (over shared_buffers / 4, so sequential scans read through a small ring buffer: every
    block comes from outside the cache) with an index nothing ever scans."""
    with _pg(ctx) as conn:
        if conn.execute("SELECT to_regclass('public.infragate_fault_big')").fetchone() != (None,):
            return
        conn.execute(f"CREATE TABLE infragate_fault_big (id int, pad text) {MARK}")
        conn.execute(
            "INSERT INTO infragate_fault_big SELECT g, repeat('x', 900)"
            f" FROM generate_series(1, 90000) g {MARK}"
        )
        conn.execute(f"CREATE INDEX infragate_fault_big_id ON infragate_fault_big (id) {MARK}")
        conn.execute("SET max_parallel_workers_per_gather = 0")
        for _ in range(2):
            conn.execute(f"SELECT count(*) FROM infragate_fault_big {MARK}")


def _run_slow_statement(ctx: Context) -> None:
    with _pg(ctx) as conn:
        for _ in range(2):
            conn.execute(f"SELECT {MARK} pg_sleep(1.1)")


def _drift_setting(ctx: Context) -> None:
    _psql(ctx, f"ALTER SYSTEM SET {DRIFT_SETTING} = '{DRIFT_VALUE}'")
    _psql(ctx, "SELECT pg_reload_conf()")


def _reset_setting(ctx: Context) -> None:
    _psql(ctx, f"ALTER SYSTEM RESET {DRIFT_SETTING}")
    _psql(ctx, "SELECT pg_reload_conf()")


def _statements_installed(ctx: Context) -> bool:
    return bool(_pg_value(ctx, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'"))


def _drop_statements(ctx: Context) -> None:
    _psql(ctx, "DROP EXTENSION IF EXISTS pg_stat_statements")


def _create_statements(ctx: Context) -> None:
    _psql(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


def _backups(ctx: Context) -> Path:
    return ctx.lay.root / "backups"


def _stale_backups(ctx: Context) -> None:
    aside = ctx.lay.fault_state / "backups.orig"
    aside.mkdir(parents=True, exist_ok=True)
    folder = _backups(ctx)
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.name != STALE_BACKUP:
            shutil.move(str(path), aside / path.name)
    stale = folder / STALE_BACKUP
    stale.write_bytes(b"PGDMP stale backup left by the pg-backup-stale fault\n")
    past = time.time() - STALE_AGE_S
    os.utime(stale, (past, past))


def _restore_backups(ctx: Context) -> None:
    (_backups(ctx) / STALE_BACKUP).unlink(missing_ok=True)
    aside = ctx.lay.fault_state / "backups.orig"
    if aside.is_dir():
        for path in aside.iterdir():
            shutil.move(str(path), _backups(ctx) / path.name)
        aside.rmdir()


def _newest_backup_age_h(ctx: Context) -> float:
    files = [p for p in _backups(ctx).glob("appdb-*.dump") if p.is_file()]
    if not files:
        return float("inf")
    return (time.time() - max(p.stat().st_mtime for p in files)) / 3600


def _corrupt_backup(ctx: Context) -> None:
    """The newest dump's first half as the newest file: pg_restore meets the end of the file."""
    files = [p for p in _backups(ctx).glob("appdb-*.dump") if p.is_file() and p.name != CORRUPT_BACKUP]
    if not files:
        raise FaultError(f"no backup in {_backups(ctx)} to corrupt")
    newest = max(files, key=lambda p: p.stat().st_mtime).read_bytes()
    (_backups(ctx) / CORRUPT_BACKUP).write_bytes(newest[: len(newest) // 2])


def _newest_backup_name(ctx: Context) -> str | None:
    files = [p for p in _backups(ctx).glob("appdb-*.dump") if p.is_file()]
    return max(files, key=lambda p: p.stat().st_mtime).name if files else None


# ---------------------------------------------------------------------------- Redis faults


def _set_policy(ctx: Context) -> None:
    saved = ctx.lay.fault_state / "redis-maxmemory-policy.orig"
    client = _redis(ctx)
    try:
        if not saved.exists():
            saved.write_text(str(client.config_get("maxmemory-policy")["maxmemory-policy"]))
        client.config_set("maxmemory-policy", "noeviction")
    finally:
        client.close()


def _restore_policy(ctx: Context) -> None:
    saved = ctx.lay.fault_state / "redis-maxmemory-policy.orig"
    client = _redis(ctx)
    try:
        client.config_set("maxmemory-policy", saved.read_text().strip() if saved.exists() else "allkeys-lru")
    finally:
        client.close()
    saved.unlink(missing_ok=True)


def _policy(ctx: Context) -> str:
    return str(_redis_info(ctx, "memory").get("maxmemory_policy"))


def _memory_share(ctx: Context) -> float:
    info = _redis_info(ctx, "memory")
    return float(info["used_memory"]) / float(info["maxmemory"] or 1)


def _fill_memory(ctx: Context) -> None:
    client = _redis(ctx)
    try:
        value = b"x" * FILL_VALUE_BYTES
        cap = int(str(client.config_get("maxmemory")["maxmemory"])) or 64 * 2**20
        for i in range(int(cap * 1.2) // FILL_VALUE_BYTES):  # bounded: never more than 1.2 x maxmemory
            if _memory_share(ctx) >= FILL_TARGET:
                return
            client.set(f"{FILL_KEY}{i}", value)
    finally:
        client.close()


def _drain_memory(ctx: Context) -> None:
    client = _redis(ctx)
    try:
        batch = list(client.scan_iter(match=f"{FILL_KEY}*", count=500))
        if batch:
            client.unlink(*batch)
    finally:
        client.close()


def _rdb_path(ctx: Context) -> Path:
    return ctx.lay.redis / "dump.rdb"


def _bgsave(ctx: Context) -> None:
    client = _redis(ctx)
    try:
        proc.wait_until(lambda: not int(client.info("persistence")["rdb_bgsave_in_progress"]), LIVE_TIMEOUT)
        client.bgsave()
        proc.wait_until(lambda: not int(client.info("persistence")["rdb_bgsave_in_progress"]), LIVE_TIMEOUT)
    finally:
        client.close()


def _break_bgsave(ctx: Context) -> None:
    """A directory where the RDB file goes: the save's final rename fails (EISDIR), even for root."""
    rdb, aside = _rdb_path(ctx), ctx.lay.fault_state / "dump.rdb.orig"
    if rdb.is_file() and not aside.exists():
        shutil.move(str(rdb), aside)
    rdb.mkdir(exist_ok=True)
    (rdb / "not-a-dump").write_text("the redis-bgsave-failed fault put this directory here\n")
    _bgsave(ctx)


def _repair_bgsave(ctx: Context) -> None:
    rdb, aside = _rdb_path(ctx), ctx.lay.fault_state / "dump.rdb.orig"
    if rdb.is_dir():
        shutil.rmtree(rdb)
    if aside.exists():
        shutil.move(str(aside), rdb)
    _bgsave(ctx)


def _bgsave_status(ctx: Context) -> str:
    return str(_redis_info(ctx, "persistence").get("rdb_last_bgsave_status"))


def _clients(ctx: Context) -> tuple[int, int]:
    info = _redis_info(ctx, "clients")
    return int(info["connected_clients"]), int(info["blocked_clients"])


def _ping_ms(ctx: Context, count: int = 30) -> list[float]:
    client = _redis(ctx)
    try:
        out = []
        for _ in range(count):
            start = time.perf_counter()
            client.ping()
            out.append((time.perf_counter() - start) * 1000)
        return sorted(out)
    finally:
        client.close()


# ---------------------------------------------------------------------------- the actions


def _pg_helper_action(name: str, mode: str, broken: Callable[[Context], bool]) -> Action:
    return Action(
        needs=("postgres",),
        broken=broken,
        healthy=_no_fault_sessions,
        on_apply=_helper(name, mode, "postgres"),
        on_heal=_then(_stop_helper(name), _terminate_fault_sessions),
    )


ACTIONS: dict[str, Action] = {
    "pg-connections-exhausted": _pg_helper_action("pg-connections-exhausted", "hold", _many_held),
    "pg-long-query": _pg_helper_action(
        "pg-long-query", "sleep", _sessions_older("state = 'active'", "query_start")
    ),
    "pg-idle-in-transaction": _pg_helper_action(
        "pg-idle-in-transaction", "idle", _sessions_older("state LIKE 'idle in transaction%'", "state_change")
    ),
    "pg-lock-wait": Action(
        needs=("postgres",),
        broken=_lock_waiting,
        healthy=_no_fault_sessions,
        on_apply=_helper("pg-lock-wait", "lock", "postgres"),
        on_heal=_then(
            _stop_helper("pg-lock-wait"),
            _terminate_fault_sessions,
            _drop_table("infragate_fault_lock"),
            # The waiter's UPDATE completes (slowly) once the holder is gone: pg_stat_statements keeps it.
            _reset_marked_statements,
        ),
    ),
    "pg-deadlocks": Action(
        needs=("postgres",),
        broken=_deadlock_rising,
        healthy=_no_fault_sessions,
        on_apply=_helper("pg-deadlocks", "deadlock", "postgres"),
        on_heal=_then(
            _stop_helper("pg-deadlocks"),
            _terminate_fault_sessions,
            _drop_table("infragate_fault_deadlock"),
            _reset_marked_statements,
        ),
    ),
    "pg-slow-statement": Action(
        needs=("postgres",),
        broken=_slow_statement_recorded,
        healthy=lambda ctx: not _slow_statement_recorded(ctx),
        on_apply=_run_slow_statement,
        on_heal=_reset_marked_statements,
    ),
    "pg-dead-tuples": Action(
        needs=("postgres",),
        broken=lambda ctx: _table_stat("infragate_fault_dead", "n_dead_tup")(ctx) >= 5000,
        healthy=lambda ctx: not _table_exists("infragate_fault_dead")(ctx),
        on_apply=_create_dead_tuples,
        on_heal=_then(_drop_table("infragate_fault_dead"), _reset_marked_statements),
    ),
    "pg-big-cold-table": Action(
        needs=("postgres",),
        broken=lambda ctx: _table_stat("infragate_fault_big", "seq_scan")(ctx) >= 2,
        healthy=lambda ctx: not _table_exists("infragate_fault_big")(ctx),
        on_apply=_create_big_cold_table,
        on_heal=_then(_drop_table("infragate_fault_big"), _reset_marked_statements),
    ),
    "pg-stat-statements-dropped": Action(
        needs=("postgres",),
        broken=lambda ctx: not _statements_installed(ctx),
        healthy=_statements_installed,
        on_apply=_drop_statements,
        on_heal=_create_statements,
    ),
    "pg-setting-drift": Action(
        needs=("postgres",),
        broken=lambda ctx: _setting(ctx) == DRIFT_VALUE,
        healthy=lambda ctx: _setting(ctx) != DRIFT_VALUE,
        on_apply=_drift_setting,
        on_heal=_reset_setting,
    ),
    "pg-backup-stale": Action(
        needs=("postgres",),
        broken=lambda ctx: _newest_backup_age_h(ctx) > 26,
        healthy=lambda ctx: _newest_backup_age_h(ctx) < 26,
        on_apply=_stale_backups,
        on_heal=_restore_backups,
    ),
    "pg-backup-corrupt": Action(
        needs=("postgres",),
        broken=lambda ctx: _newest_backup_name(ctx) == CORRUPT_BACKUP,
        healthy=lambda ctx: not (_backups(ctx) / CORRUPT_BACKUP).exists(),
        on_apply=_corrupt_backup,
        on_heal=lambda ctx: (_backups(ctx) / CORRUPT_BACKUP).unlink(missing_ok=True),
    ),
    "redis-ws-registry-lost": Action(
        needs=("redis", "service"),
        broken=_registry_lost,
        healthy=lambda ctx: (
            proc.recorded(ctx.lay.fault_state, REGISTRY_HOLDER) is None
            and _ws_active(ctx) < REGISTRY_SESSIONS
            and _registry_consistent(ctx)
        ),
        on_apply=_hold_and_forget_sessions,
        on_heal=_stop_helper(REGISTRY_HOLDER),
    ),
    "redis-ws-registry-wrong-type": Action(
        needs=("redis",),
        broken=lambda ctx: _registry_type(ctx) == "string",
        healthy=lambda ctx: _registry_type(ctx) in ("hash", "none"),
        # A string where the service keeps its hash: its HSETs now fail (WRONGTYPE), sessions still work.
        on_apply=_then(_redis_do("DEL", WS_REGISTRY_KEY), _redis_do("SET", WS_REGISTRY_KEY, "stale")),
        on_heal=_drop_wrong_registry,
    ),
    "redis-rate-limit-key-immortal": Action(
        needs=("redis",),
        broken=lambda ctx: _redis_do("TTL", IMMORTAL_KEY)(ctx) == -1,
        healthy=lambda ctx: not _redis_do("EXISTS", IMMORTAL_KEY)(ctx),
        # A limiter that INCRs and forgets its EXPIRE: the address stays counted (and blocked) forever.
        on_apply=_redis_do("SET", IMMORTAL_KEY, "7"),
        on_heal=_redis_do("DEL", IMMORTAL_KEY),
    ),
    "redis-eviction-policy-changed": Action(
        needs=("redis",),
        broken=lambda ctx: _policy(ctx) == "noeviction",
        healthy=lambda ctx: _policy(ctx) != "noeviction",
        on_apply=_set_policy,
        on_heal=_restore_policy,
    ),
    "redis-memory-full": Action(
        needs=("redis",),
        broken=lambda ctx: _memory_share(ctx) >= 0.9,
        healthy=lambda ctx: _memory_share(ctx) < 0.5,
        on_apply=_fill_memory,
        on_heal=_drain_memory,
    ),
    "redis-bgsave-failed": Action(
        needs=("redis",),
        broken=lambda ctx: _bgsave_status(ctx) == "err",
        healthy=lambda ctx: _bgsave_status(ctx) == "ok",
        on_apply=_break_bgsave,
        on_heal=_repair_bgsave,
    ),
    "redis-clients-held": Action(
        needs=("redis",),
        broken=lambda ctx: _clients(ctx) >= (HELD_REDIS_CLIENTS, BLOCKED_REDIS_CLIENTS),
        healthy=lambda ctx: _clients(ctx)[0] < 100 and _clients(ctx)[1] == 0,
        on_apply=_helper("redis-clients-held", "clients", "redis"),
        on_heal=_stop_helper("redis-clients-held"),
    ),
    "redis-slow-commands": Action(
        needs=("redis",),
        broken=lambda ctx: _ping_ms(ctx)[-3] > 20,
        healthy=lambda ctx: _ping_ms(ctx)[15] < 5,
        on_apply=_helper("redis-slow-commands", "busy", "redis"),
        on_heal=_stop_helper("redis-slow-commands"),
    ),
}


# ---------------------------------------------------------------------------- helper process bodies


def _connect_pg(port: int, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=LOOPBACK,
        port=port,
        user=PG_ROLE,
        dbname=PG_DATABASE,
        password=os.environ[secretstore.PG_PASSWORD],
        connect_timeout=3,
        application_name=APP_NAME,
        autocommit=autocommit,
    )


def _forever() -> None:
    while True:
        time.sleep(3600)


def _hold(port: int) -> None:
    conns = [_connect_pg(port) for _ in range(HELD_CONNECTIONS)]
    print(f"holding {len(conns)} idle connections", flush=True)
    _forever()


def _sleep(port: int) -> None:
    with _connect_pg(port) as conn:
        conn.execute(f"SELECT {MARK} pg_sleep(86400)")


def _idle(port: int) -> None:
    conn = _connect_pg(port, autocommit=False)
    conn.execute(f"SELECT {MARK} 1")  # opens the transaction; nothing commits it
    _forever()


def _lock(port: int) -> None:
    setup = _connect_pg(port)
    setup.execute(f"CREATE TABLE IF NOT EXISTS infragate_fault_lock (id int PRIMARY KEY, v int) {MARK}")
    setup.execute(f"INSERT INTO infragate_fault_lock VALUES (1, 0) ON CONFLICT DO NOTHING {MARK}")
    holder = _connect_pg(port, autocommit=False)
    holder.execute(f"UPDATE infragate_fault_lock SET v = v + 1 WHERE id = 1 {MARK}")  # row lock, kept
    waiter = _connect_pg(port, autocommit=False)
    print("holder has the row lock; the waiter now blocks on it", flush=True)
    waiter.execute(f"UPDATE infragate_fault_lock SET v = v + 1 WHERE id = 1 {MARK}")
    _forever()


def _deadlock(port: int) -> None:
    setup = _connect_pg(port)
    setup.execute(f"CREATE TABLE IF NOT EXISTS infragate_fault_deadlock (id int PRIMARY KEY, v int) {MARK}")
    setup.execute(f"INSERT INTO infragate_fault_deadlock VALUES (1, 0), (2, 0) ON CONFLICT DO NOTHING {MARK}")
    a, b = _connect_pg(port, autocommit=False), _connect_pg(port, autocommit=False)
    update = f"UPDATE infragate_fault_deadlock SET v = v + 1 WHERE id = %s {MARK}"
    while True:
        a.execute(update, (1,))
        b.execute(update, (2,))

        def cross(conn: psycopg.Connection[Any], row: int) -> None:
            try:
                conn.execute(update, (row,))
            except psycopg.errors.DeadlockDetected:
                print("deadlock detected", flush=True)

        other = threading.Thread(target=cross, args=(a, 2))
        other.start()
        time.sleep(0.1)
        cross(b, 1)
        other.join()
        a.rollback()
        b.rollback()


def _resp(*args: str) -> bytes:
    out = f"*{len(args)}\r\n".encode()
    for arg in args:
        data = arg.encode()
        out += b"$%d\r\n%s\r\n" % (len(data), data)
    return out


def _clients_held(port: int) -> None:
    password = os.environ[secretstore.REDIS_PASSWORD]
    held = []
    for i in range(HELD_REDIS_CLIENTS):
        sock = socket.create_connection((LOOPBACK, port), timeout=5)
        sock.sendall(_resp("AUTH", password))
        if not sock.recv(64).startswith(b"+OK"):
            raise SystemExit("AUTH refused")
        if i < BLOCKED_REDIS_CLIENTS:
            sock.sendall(_resp("BLPOP", QUEUE_KEY, "0"))  # blocks until the fault is healed
        held.append(sock)
    print(f"holding {len(held)} clients, {BLOCKED_REDIS_CLIENTS} blocked", flush=True)
    _forever()


def _busy(port: int) -> None:
    client = redis.Redis(host=LOOPBACK, port=port, password=os.environ[secretstore.REDIS_PASSWORD])
    # A 40 ms Lua script in a loop: Redis is single-threaded, every other command waits behind it.
    script = (
        "local t0 = redis.call('TIME') local t repeat t = redis.call('TIME')"
        " until (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 40000 return 1"
    )
    while True:
        client.eval(script, 0)


HELPERS: dict[str, Callable[[int], None]] = {
    "hold": _hold,
    "sleep": _sleep,
    "idle": _idle,
    "lock": _lock,
    "deadlock": _deadlock,
    "clients": _clients_held,
    "busy": _busy,
}


if __name__ == "__main__":
    HELPERS[sys.argv[1]](int(sys.argv[2]))
