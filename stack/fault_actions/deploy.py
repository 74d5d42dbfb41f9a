"""Faults of the deployment part's containers (stack/compose/): stopped, unhealthy, restart loop, memory.

Real faults of real containers in the stack's own engine: a container is stopped with ``docker stop``; the
others touch a hook file app.py reads inside its container (<run>/compose/faults, mounted read-only). A
heal removes the hook and recreates the container it touched (``docker-compose up -d --force-recreate``):
a fresh container has no restart count and no error lines in its log, so the next run's HOST-LOG-ERRORS
does not read the fault's leftovers. Data (expect_fail, messages): stack/faults.d/deploy.toml.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from stack import docker
from stack.compose import compose, faults_dir, health
from stack.faults import Action
from stack.parts import Context, PartError

__all__ = ["ACTIONS"]

WORKER = "shop-worker"
APP = "shop-app"
# inventory/local-deploy.toml: host.services/shop-worker max_restarts and max_memory_pct.
MAX_RESTARTS = 2
MAX_MEMORY_PCT = 70.0


def _hook(name: str) -> Callable[[Context], None]:
    def touch(ctx: Context) -> None:
        faults_dir(ctx).mkdir(parents=True, exist_ok=True)
        (faults_dir(ctx) / name).touch()

    return touch


def _unhook_and_recreate(name: str, service: str) -> Callable[[Context], None]:
    def heal(ctx: Context) -> None:
        (faults_dir(ctx) / name).unlink(missing_ok=True)
        # `stack up` heals before it starts the parts: with no engine there is no container to recreate.
        if docker.ping(ctx.lay):
            done = compose(ctx, "up", "-d", "--no-deps", "--force-recreate", service)
            if done.returncode != 0:
                raise PartError("compose", f"recreating {service}: {done.stderr.strip()[-300:]}")

    return heal


def _restarts(ctx: Context) -> int:
    info = docker.inspect(ctx.lay, WORKER)
    return int(str(info.get("RestartCount", 0))) if info is not None else 0


def _memory_pct(ctx: Context) -> float:
    """shop-worker's memory use against its limit, as docker stats shows it."""
    out = docker.cli(ctx.lay, "stats", "--no-stream", "--format", "{{.MemPerc}}", WORKER).stdout
    return float(out.strip().rstrip("%"))


def _status(name: str, wanted: str) -> Callable[[Context], bool]:
    """The container's health is ``wanted`` (a stopped container keeps its last health: see _exited)."""
    return lambda ctx: health(ctx, name) == wanted


def _exited(name: str) -> Callable[[Context], bool]:
    def probe(ctx: Context) -> bool:
        info = docker.inspect(ctx.lay, name)
        state = info.get("State") if info is not None else None
        return isinstance(state, dict) and state.get("Status") == "exited"

    return probe


def _stop_worker(ctx: Context) -> None:
    docker.cli(ctx.lay, "stop", "-t", "3", WORKER)


def _start_worker(ctx: Context) -> None:
    if docker.ping(ctx.lay):
        with contextlib.suppress(RuntimeError):  # gone (removed by `down`): `up` creates it again
            docker.cli(ctx.lay, "start", WORKER)


ACTIONS: dict[str, Action] = {
    "container-stopped": Action(
        needs=("compose",),
        broken=_exited(WORKER),
        healthy=_status(WORKER, "healthy"),
        on_apply=_stop_worker,
        on_heal=_start_worker,
    ),
    "container-unhealthy": Action(
        needs=("compose",),
        broken=_status(APP, "unhealthy"),
        healthy=_status(APP, "healthy"),
        on_apply=_hook("app-unhealthy"),
        on_heal=_unhook_and_recreate("app-unhealthy", "app"),
    ),
    "container-restart-loop": Action(
        needs=("compose",),
        broken=lambda ctx: _restarts(ctx) > MAX_RESTARTS,
        healthy=lambda ctx: _restarts(ctx) == 0 and health(ctx, WORKER) == "healthy",
        on_apply=_hook("worker-crash"),
        on_heal=_unhook_and_recreate("worker-crash", "worker"),
    ),
    "container-memory-over-limit": Action(
        needs=("compose",),
        broken=lambda ctx: _memory_pct(ctx) > MAX_MEMORY_PCT + 5,
        healthy=lambda ctx: _memory_pct(ctx) < MAX_MEMORY_PCT - 20,
        on_apply=_hook("worker-hog"),
        on_heal=_unhook_and_recreate("worker-hog", "worker"),
    ),
}
