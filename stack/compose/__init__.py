"""The deployment part's compose project, shaped like the runbooks': app, worker, PostgreSQL and Redis.

docker-compose.yml here is the project; every container runs the one base image (stack/docker.py) on the
host network, listening on 127.0.0.1 at the stack's port base (stack/layout.py deploy_*). The app and the
worker are app.py (a tiny HTTP server, a Redis-heartbeat loop); their fault hooks are files in
<run>/compose/faults (bind-mounted), so a fault changes behaviour without rebuilding anything.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

from stack import docker, proc
from stack.parts import Context, Part

PROJECT_DIR = Path(__file__).resolve().parent
PROJECT = "shop"
COMPOSE_TIMEOUT = 120.0
# The containers the inventory names (container_name in docker-compose.yml).
CONTAINERS = ("shop-app", "shop-worker", "shop-db", "shop-cache")


def faults_dir(ctx: Context) -> Path:
    """Fault hook files read by app.py inside the containers."""
    return ctx.lay.root / "compose" / "faults"


def compose_env(ctx: Context) -> dict[str, str]:
    """docker-compose's environment: our engine, the image and the ports (docker-compose.yml reads them)."""
    return {
        **docker.cli_env(ctx.lay),
        "COMPOSE_PROJECT_NAME": PROJECT,
        "SHOP_IMAGE": docker.base_tag(),
        "SHOP_APP_PORT": str(ctx.ports.deploy_app),
        "SHOP_PG_PORT": str(ctx.ports.deploy_postgres),
        "SHOP_REDIS_PORT": str(ctx.ports.deploy_redis),
        "SHOP_CODE": str(PROJECT_DIR),
        "SHOP_FAULTS": str(faults_dir(ctx)),
    }


def compose(ctx: Context, *args: str, timeout: float = COMPOSE_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run docker-compose (Debian's 1.29) on the project against our engine."""
    return subprocess.run(
        ["docker-compose", "-f", str(PROJECT_DIR / "docker-compose.yml"), "-p", PROJECT, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=compose_env(ctx),
        cwd=PROJECT_DIR,
        check=False,
    )


def health(ctx: Context, name: str) -> str:
    """A container's state for readiness: its health status, else its run state ("missing" if absent)."""
    info = docker.inspect(ctx.lay, name)
    if info is None:
        return "missing"
    state = info.get("State")
    if not isinstance(state, dict):
        return "unknown"
    checked = state.get("Health")
    if isinstance(checked, dict):
        return str(checked.get("Status"))
    return str(state.get("Status"))


class ComposePart(Part):
    """The compose project `shop` in our engine; its recorded process is the app container's first one."""

    name = "compose"

    def ports(self) -> tuple[int, ...]:
        """The app first, then PostgreSQL and Redis."""
        p = self.ctx.ports
        return (p.deploy_app, p.deploy_postgres, p.deploy_redis)

    def running(self) -> proc.PidRecord | None:
        """The recorded app process; a heal that recreated the app container leaves a new one to record."""
        rec = proc.recorded(self.ctx.lay.pids, self.name)
        if rec is not None or not docker.ping(self.ctx.lay):
            return rec
        pid = docker.container_pid(self.ctx.lay, "shop-app")
        return proc.record(self.ctx.lay.pids, self.name, pid) if pid is not None else None

    def prepare(self) -> None:
        """Wait for our engine (parts start in parallel), then the base image (built once, cached)."""
        faults_dir(self.ctx).mkdir(parents=True, exist_ok=True)
        docker.engine_ready(self.ctx)
        try:
            docker.ensure_base(self.ctx.lay)
        except (RuntimeError, subprocess.TimeoutExpired) as err:
            raise self.fail(f"base image: {err}") from None

    def launch(self) -> int:
        """`docker-compose up -d` (it waits for PostgreSQL and Redis to be healthy before the app)."""
        done = compose(self.ctx, "up", "-d", "--remove-orphans")
        log = self.log_path()
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as out:
            out.write(done.stdout + done.stderr)
        if done.returncode != 0:
            raise self.fail(f"docker-compose up: exit {done.returncode}")
        pid = docker.container_pid(self.ctx.lay, "shop-app")
        if pid is None:
            raise self.fail("the app container is not running after docker-compose up")
        return pid

    def probe(self) -> bool:
        """Every container of the project is healthy (each one has a healthcheck)."""
        return all(health(self.ctx, name) == "healthy" for name in CONTAINERS)

    def send_stop(self, rec: proc.PidRecord) -> None:
        """`docker-compose down`: containers stopped and removed (the engine may be stopping too)."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            compose(self.ctx, "down", "--remove-orphans", "-t", "3", timeout=60.0)


def project_state(ctx: Context) -> dict[str, str]:
    """Each container's health or state, for messages."""
    return {name: health(ctx, name) for name in CONTAINERS}


def dump(ctx: Context) -> str:
    """The project's state as JSON (debugging a failed start)."""
    return json.dumps(project_state(ctx))
