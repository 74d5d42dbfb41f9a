"""Services under a manager, read on the machine: systemd units (``systemctl show``), supervisor programs
(``supervisorctl status``) and a unit's journal (``journalctl -u UNIT --since -o json``).

Read through a testinfra-like backend (``infragate.probes.host.Runner``: ``local://``, ``ssh://``,
``docker://``), parsed here, never asserted. Every command runs under coreutils ``timeout`` on the machine,
so a hung systemd, supervisord or journal answers "timed out" instead of blocking the run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infragate.probes.host import Runner, ServiceState
from infragate.probes.logs import LogErrors, LogScan

__all__ = [
    "ENABLED_STATES",
    "ProgramState",
    "UnitState",
    "journal_errors",
    "parse_journal",
    "parse_supervisor_status",
    "parse_systemctl_show",
    "supervisor_program",
    "supervisor_service",
    "systemd_service",
    "systemd_unit",
]

# Seconds a manager command may take on the machine before ``timeout`` ends it (then KILL 2 s later).
COMMAND_TIMEOUT_S = 10.0
# UnitFileState values for which ``systemctl is-enabled`` exits 0 (systemctl(1)): the unit starts at boot
# or is pulled in by one that does. "static" units have no [Install] section and cannot be disabled.
ENABLED_STATES = frozenset(
    {"enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "transient"}
)
_SHOW_PROPERTIES = "LoadState,ActiveState,SubState,UnitFileState,MainPID,NRestarts,Result"
# journalctl's notice (on stderr, exit 0) when the user reads only its own journal: the unit's lines are
# not in what it printed.
_PARTIAL_JOURNAL = "not seeing messages from other users and the system"
_PARTIAL_WHY = (
    "this user sees only its own journal, not the system's (add it to the systemd-journal or adm group)"
)
# A runaway unit may log thousands of lines a minute: the newest lines of the window are enough to judge.
JOURNAL_MAX_LINES = 20000


def _bounded(command: str, timeout: float) -> str:
    # `timeout` exits 124 when it had to stop the command; -k KILLs what ignores TERM.
    return f"timeout -k 2 {timeout:g} {command}"


def _why(out: Any, timeout: float) -> str:
    if out.rc == 124:
        return f"timed out after {timeout:g} s"
    text = " ".join(f"{out.stderr} {out.stdout}".split())
    return text[-300:] or f"exit {out.rc}"


# ---------------------------------------------------------------- systemd


@dataclass(frozen=True)
class UnitState:
    """A systemd unit as ``systemctl show`` reports it, or why it could not be read."""

    unit: str
    load: str = ""
    active: str = ""
    sub: str = ""
    unit_file: str = ""
    main_pid: int = 0
    restarts: int | None = None
    result: str = ""
    error: str | None = None

    @property
    def running(self) -> bool:
        """ActiveState is ``active`` (``systemctl is-active`` exits 0)."""
        return self.error is None and self.active == "active"

    @property
    def enabled(self) -> bool:
        """The unit file state is one ``systemctl is-enabled`` accepts (enabled, static, ...)."""
        return self.error is None and self.unit_file in ENABLED_STATES

    @property
    def ok(self) -> bool:
        """Active and enabled: it runs now and comes back after a reboot."""
        return self.running and self.enabled

    @property
    def detail(self) -> str:
        """What was seen, in systemctl's words: ``active (running), enabled, pid 12``."""
        if self.error is not None:
            return f"unit {self.unit}: {self.error}"
        if self.load and self.load != "loaded":
            return f"unit {self.unit} {self.load} (LoadState)"
        parts = [f"{self.active or '?'} ({self.sub or '?'})", self.unit_file or "no unit file state"]
        if self.main_pid:
            parts.append(f"pid {self.main_pid}")
        if self.result and self.result != "success":
            parts.append(f"last result {self.result}")
        if self.restarts:
            parts.append(f"{self.restarts} restarts")
        return f"unit {self.unit} " + ", ".join(parts)


def parse_systemctl_show(unit: str, text: str) -> UnitState:
    """``systemctl show -p ...`` output (``Key=Value`` lines) as a UnitState."""
    values = dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line)
    pid = values.get("MainPID", "0").strip()
    restarts = values.get("NRestarts", "").strip()
    return UnitState(
        unit=unit,
        load=values.get("LoadState", "").strip(),
        active=values.get("ActiveState", "").strip(),
        sub=values.get("SubState", "").strip(),
        unit_file=values.get("UnitFileState", "").strip(),
        main_pid=int(pid) if pid.isdigit() else 0,
        restarts=int(restarts) if restarts.isdigit() else None,
        result=values.get("Result", "").strip(),
    )


def systemd_unit(host: Runner, unit: str, *, timeout: float = COMMAND_TIMEOUT_S) -> UnitState:
    """The unit's load, active and unit-file states in one ``systemctl show`` round trip."""
    out = host.run(_bounded("systemctl show --no-pager -p %s -- %s", timeout), _SHOW_PROPERTIES, unit)
    if out.rc != 0:
        return UnitState(unit, error=f"systemctl show failed: {_why(out, timeout)}")
    state = parse_systemctl_show(unit, out.stdout)
    if not state.active:
        return UnitState(unit, error=f"systemctl show printed no ActiveState: {out.stdout.strip()[:200]!r}")
    return state


def systemd_service(
    host: Runner,
    unit: str,
    *,
    require_enabled: bool = True,
    max_restarts: int | None = None,
    timeout: float = COMMAND_TIMEOUT_S,
) -> ServiceState:
    """HOST-SERVICE-ACTIVE for a unit: active, enabled (unless not required), restarts within the bound."""
    state = systemd_unit(host, unit, timeout=timeout)
    ok = state.running and (state.enabled or not require_enabled)
    detail = state.detail
    if ok and max_restarts is not None and (state.restarts or 0) > max_restarts:
        ok, detail = False, f"{detail} (more than max_restarts {max_restarts})"
    elif ok and not state.enabled:
        detail += " (enabled = false: not required)"
    return ServiceState(ok, detail)


# ---------------------------------------------------------------- supervisor

# supervisor's process states (supervisor/states.py ProcessStates).
_SUPERVISOR_STATES = ("STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "UNKNOWN")
_STATUS_LINE = re.compile(rf"^(?P<name>\S+)\s+(?P<state>{'|'.join(_SUPERVISOR_STATES)})\b\s*(?P<info>.*)$")


@dataclass(frozen=True)
class ProgramState:
    """A supervisor program as ``supervisorctl status`` reports it, or why it could not be read."""

    program: str
    state: str = ""
    info: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        """The program is RUNNING (STARTING, BACKOFF, EXITED, FATAL or STOPPED are not)."""
        return self.error is None and self.state == "RUNNING"

    @property
    def detail(self) -> str:
        """``program app RUNNING pid 12, uptime 0:01:02`` or the error."""
        if self.error is not None:
            return f"program {self.program}: {self.error}"
        return f"program {self.program} {self.state} {self.info}".rstrip()


def parse_supervisor_status(program: str, text: str) -> ProgramState:
    """The line of ``supervisorctl status`` naming ``program`` (``name`` or ``group:name``)."""
    for line in text.splitlines():
        match = _STATUS_LINE.match(line.strip())
        if match and match.group("name") in (program, f"{program}:{program}"):
            return ProgramState(program, match.group("state"), match.group("info").strip())
    said = " ".join(text.split())[:200]
    return ProgramState(program, error=said or "supervisorctl printed nothing")


def supervisor_program(
    host: Runner,
    program: str,
    *,
    config: str | None = None,
    server_url: str | None = None,
    timeout: float = COMMAND_TIMEOUT_S,
) -> ProgramState:
    """``supervisorctl status PROGRAM``, asked of one program: testinfra's ``get_services()`` lists them all
    and fails as soon as any is stopped (machine notes), and a stopped program is what we look for."""
    args: list[str] = []
    command = "supervisorctl"
    if config is not None:
        command += " -c %s"
        args.append(config)
    if server_url is not None:
        command += " -s %s"
        args.append(server_url)
    out = host.run(_bounded(command + " status %s", timeout), *args, program)
    if out.rc == 124:
        return ProgramState(program, error=f"supervisorctl timed out after {timeout:g} s")
    # supervisorctl 4 exits 3 for a program that is not running and 4 when it cannot reach supervisord:
    # the printed line says which, so it is parsed whatever the exit code.
    state = parse_supervisor_status(program, out.stdout)
    if state.error is not None and out.rc != 0:
        return ProgramState(program, error=f"supervisorctl status failed: {_why(out, timeout)}")
    return state


def supervisor_service(
    host: Runner, program: str, *, config: str | None = None, timeout: float = COMMAND_TIMEOUT_S
) -> ServiceState:
    """HOST-SERVICE-ACTIVE for a supervisor program: RUNNING."""
    state = supervisor_program(host, program, config=config, timeout=timeout)
    return ServiceState(state.ok, state.detail)


# ---------------------------------------------------------------- journal


def _message(entry: dict[str, Any]) -> str:
    # journald stores a non-UTF-8 or binary MESSAGE as a list of byte values in its JSON output.
    raw = entry.get("MESSAGE")
    if isinstance(raw, list):
        return bytes(b for b in raw if isinstance(b, int) and 0 <= b < 256).decode("utf-8", "replace")
    return raw if isinstance(raw, str) else ""


def _stamp(entry: dict[str, Any]) -> str:
    raw = str(entry.get("__REALTIME_TIMESTAMP", ""))
    if not raw.isdigit():
        return ""
    return datetime.fromtimestamp(int(raw) / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%SZ ")


def parse_journal(text: str, pattern: str) -> LogScan:
    """Count entries of ``journalctl -o json`` whose MESSAGE matches ``pattern`` (the window was applied by
    journalctl's ``--since``); multi-line messages count once; the newest three are the examples."""
    regex = re.compile(pattern)
    matches: list[str] = []
    scanned = 0
    for line in text.splitlines():
        if not line.startswith("{"):
            continue  # "-- No entries --" and other notices
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        scanned += 1
        message = _message(entry)
        if regex.search(message):
            matches.append((_stamp(entry) + " ".join(message.split()))[:200])
    return LogScan(len(matches), tuple(matches[-3:]), scanned)


def journal_errors(
    host: Runner,
    unit: str,
    pattern: str,
    *,
    window_minutes: float,
    max_lines: int = JOURNAL_MAX_LINES,
    timeout: float = COMMAND_TIMEOUT_S,
) -> LogErrors:
    """Entries of the unit's journal within the last ``window_minutes`` matching ``pattern``.

    The window is journalctl's own relative ``--since=-Ns``, measured on the machine's clock (the one
    that stamped the entries). With ``--since``, ``-n`` keeps the OLDEST lines of the window (seen with
    systemd 252); ``-r`` makes them the newest ``max_lines`` of a flooded window, put back in order here.
    """
    seconds = max(1, round(window_minutes * 60))
    out = host.run(
        # No -q: it would also silence the hint below, and a user who may not read the system journal
        # then sees an empty window, which reads as "no errors".
        _bounded("journalctl --no-pager -o json -r -u %s --since %s -n %s", timeout),
        unit,
        f"-{seconds}s",
        str(max_lines),
    )
    if out.rc != 0:
        return LogErrors(None, window_minutes, f"journalctl -u {unit} failed: {_why(out, timeout)}")
    if _PARTIAL_JOURNAL in str(out.stderr):
        return LogErrors(None, window_minutes, f"journalctl -u {unit}: {_PARTIAL_WHY}")
    oldest_first = "\n".join(reversed(out.stdout.splitlines()))
    return LogErrors(parse_journal(oldest_first, pattern), window_minutes)
