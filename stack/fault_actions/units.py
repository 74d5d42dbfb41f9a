"""Faults of the systemd host container (stack/systemd_host.py): a unit stopped, a unit disabled, a
supervisor program down, errors in a unit's journal. Each acts inside the container with the tools an
operator would use (systemctl, supervisorctl); data (expect_fail, messages): stack/faults.d/units.toml.

A heal with the container not running does nothing: the container starts from its image, healthy.
"""

from __future__ import annotations

from collections.abc import Callable

from stack.faults import Action, FaultError
from stack.parts import Context
from stack.systemd_host import (
    APP_UNIT,
    MEMORY_LIMIT_MB,
    SUPERVISOR_PROGRAM,
    container_running,
    exec_in,
    program_running,
    unit_state,
)

__all__ = ["ACTIONS"]

NEEDS = ("units",)
# What app.py logs on SIGUSR1 (stack/templates/systemd_host/app.py), found in the unit's journal.
JOURNAL_ERROR = "upstream connection refused"


def _run(*argv: str, done_if: Callable[[Context], bool] | None = None) -> Callable[[Context], None]:
    """Run ``argv`` in the container unless ``done_if`` already holds (supervisorctl refuses to start a
    started program with exit 7: apply and heal stay idempotent)."""

    def act(ctx: Context) -> None:
        if not container_running(ctx) or (done_if is not None and done_if(ctx)):
            return
        done = exec_in(ctx, *argv)
        if done.returncode != 0:
            raise FaultError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()[-300:]}")

    return act


def _app_active(ctx: Context) -> bool:
    return unit_state(ctx, APP_UNIT)[0] == "active"


def _app_enabled(ctx: Context) -> bool:
    return unit_state(ctx, APP_UNIT)[1] == "enabled"


def _journal_errors(ctx: Context) -> bool:
    out = exec_in(
        ctx, "journalctl", "--no-pager", "-q", "-u", APP_UNIT, "--since", "-3600s", "-g", JOURNAL_ERROR
    )
    return JOURNAL_ERROR in out.stdout


def _clear_journal(ctx: Context) -> None:
    # Entries cannot be deleted one by one: the active journal files are archived, then every archive goes.
    if container_running(ctx):
        exec_in(ctx, "journalctl", "--rotate")
        exec_in(ctx, "journalctl", "--vacuum-time=1s")


# units-memory-pressure: a file in the container's /run (a tmpfs: its pages are charged to the container's
# memory cgroup and cannot be reclaimed without swap) sized so the container uses 95 % of its limit: past
# HOST-MEMORY's 85 %, short of the OOM killer.
HOG = "/run/infragate-memory-hog"
HOG_TARGET_PCT = 95


def _container_memory_pct(ctx: Context) -> float:
    """The container's memory use as HOST-MEMORY computes it (usage - inactive file) against its limit."""
    from infragate.probes.host_resources import CGROUP_MEMORY_CMD, parse_cgroup_memory

    done = exec_in(ctx, "sh", "-c", CGROUP_MEMORY_CMD)
    mem = parse_cgroup_memory(done.stdout, 1 << 62) if done.returncode == 0 else None
    return mem.used_pct if mem is not None else 0.0


def _fill_memory(ctx: Context) -> None:
    if not container_running(ctx):
        return
    used_mb = _container_memory_pct(ctx) / 100 * MEMORY_LIMIT_MB
    size_mb = int(MEMORY_LIMIT_MB * HOG_TARGET_PCT / 100 - used_mb)
    if size_mb > 0:
        _run("sh", "-c", f"head -c {size_mb}M /dev/zero > {HOG}")(ctx)


def _not(probe: Callable[[Context], bool]) -> Callable[[Context], bool]:
    return lambda ctx: not probe(ctx)


ACTIONS: dict[str, Action] = {
    "unit-stopped": Action(
        needs=NEEDS,
        broken=_not(_app_active),
        healthy=_app_active,
        on_apply=_run("systemctl", "stop", APP_UNIT),
        on_heal=_run("systemctl", "start", APP_UNIT),
    ),
    "unit-disabled": Action(
        needs=NEEDS,
        broken=_not(_app_enabled),
        healthy=_app_enabled,
        on_apply=_run("systemctl", "disable", APP_UNIT),
        on_heal=_run("systemctl", "enable", APP_UNIT),
    ),
    "supervisor-program-down": Action(
        needs=NEEDS,
        broken=_not(program_running),
        healthy=program_running,
        on_apply=_run("supervisorctl", "stop", SUPERVISOR_PROGRAM, done_if=_not(program_running)),
        on_heal=_run("supervisorctl", "start", SUPERVISOR_PROGRAM, done_if=program_running),
    ),
    "units-memory-pressure": Action(
        needs=NEEDS,
        broken=lambda ctx: _container_memory_pct(ctx) > 90,
        healthy=lambda ctx: _container_memory_pct(ctx) < 80,
        on_apply=_fill_memory,
        on_heal=_run("rm", "-f", HOG),
    ),
    "unit-journal-errors": Action(
        needs=NEEDS,
        broken=_journal_errors,
        healthy=_not(_journal_errors),
        on_apply=_run("systemctl", "kill", "-s", "USR1", APP_UNIT),
        on_heal=_clear_journal,
    ),
}
