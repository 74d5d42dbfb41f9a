"""systemd units, supervisor programs and the journal, parsed from outputs recorded from the real tools.

Recorded in the stack's systemd host container (Debian bookworm: systemd 252, supervisor 4.2, through
testinfra's docker:// backend) on 2026-12-01; the commands the probes send are checked too (bounded by
``timeout``, arguments quoted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from infragate.probes import units


@dataclass(frozen=True)
class Result:
    """What testinfra's ``host.run`` returns."""

    rc: int
    stdout: str = ""
    stderr: str = ""


@dataclass
class Recorded:
    """A host whose ``run`` answers with one recorded result and remembers the command."""

    answer: Result
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def run(self, command: str, *args: str) -> Any:
        self.calls.append((command, args))
        return self.answer


SHOW_RUNNING = """\
MainPID=41
Result=success
NRestarts=0
LoadState=loaded
ActiveState=active
SubState=running
UnitFileState=enabled
"""
SHOW_STOPPED = (
    SHOW_RUNNING.replace("MainPID=41", "MainPID=0")
    .replace("=active", "=inactive")
    .replace("=running", "=dead")
)
SHOW_DISABLED = SHOW_RUNNING.replace("UnitFileState=enabled", "UnitFileState=disabled")
SHOW_MISSING = """\
MainPID=0
Result=success
NRestarts=0
LoadState=not-found
ActiveState=inactive
SubState=dead
UnitFileState=
"""
SHOW_FAILED = (
    SHOW_STOPPED.replace("=inactive", "=failed")
    .replace("=dead", "=failed")
    .replace("Result=success", "Result=exit-code")
    .replace("NRestarts=0", "NRestarts=5")
)
NO_SYSTEMD = (
    "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
    "Failed to connect to bus: Host is down\n"
)


def test_systemd_unit_active_and_enabled() -> None:
    host = Recorded(Result(0, SHOW_RUNNING))
    state = units.systemd_unit(host, "app.service")
    assert state.running and state.enabled and state.ok
    assert state.detail == "unit app.service active (running), enabled, pid 41"
    command, args = host.calls[0]
    assert command.startswith("timeout -k 2 10 systemctl show ")
    assert args[-1] == "app.service" and "UnitFileState" in args[0]


@pytest.mark.parametrize(
    ("show", "running", "enabled", "words"),
    [
        (SHOW_STOPPED, False, True, "inactive (dead), enabled"),
        (SHOW_DISABLED, True, False, "active (running), disabled"),
        (SHOW_FAILED, False, True, "failed (failed), enabled, last result exit-code, 5 restarts"),
        (SHOW_MISSING, False, False, "unit app.service not-found (LoadState)"),
    ],
)
def test_systemd_unit_not_ok(show: str, running: bool, enabled: bool, words: str) -> None:
    state = units.systemd_unit(Recorded(Result(0, show)), "app.service")
    assert (state.running, state.enabled, state.ok) == (running, enabled, False)
    assert words in state.detail


def test_systemd_service_state_by_the_declared_rules() -> None:
    disabled = Recorded(Result(0, SHOW_DISABLED))
    assert not units.systemd_service(disabled, "app.service").running
    lenient = units.systemd_service(disabled, "app.service", require_enabled=False)
    assert lenient.running and "enabled = false" in lenient.detail
    flapping = Recorded(Result(0, SHOW_RUNNING.replace("NRestarts=0", "NRestarts=4")))
    assert units.systemd_service(flapping, "app.service", max_restarts=4).running
    over = units.systemd_service(flapping, "app.service", max_restarts=3)
    assert not over.running and "4 restarts" in over.detail and "max_restarts 3" in over.detail


def test_systemd_unit_without_systemd_says_why() -> None:
    state = units.systemd_unit(Recorded(Result(1, "", NO_SYSTEMD)), "nginx.service")
    assert not state.ok and state.error is not None
    assert "not been booted with systemd" in state.detail


def test_systemd_unit_timed_out() -> None:
    state = units.systemd_unit(Recorded(Result(124)), "nginx.service", timeout=3)
    assert not state.ok and "timed out after 3 s" in state.detail


SUPERVISOR_RUNNING = "worker                           RUNNING   pid 57, uptime 0:03:12\n"
SUPERVISOR_STOPPED = "worker                           STOPPED   Dec 01 11:40 PM\n"
SUPERVISOR_GROUPED = (
    "pool:worker                      BACKOFF   Exited too quickly (process log may have details)\n"
)
SUPERVISOR_UNKNOWN = "nosuch: ERROR (no such process)\n"
SUPERVISOR_DOWN = "unix:///var/run/supervisor.sock no such file\n"


def test_supervisor_program_running() -> None:
    host = Recorded(Result(0, SUPERVISOR_RUNNING))
    state = units.supervisor_program(host, "worker")
    assert state.ok and state.detail == "program worker RUNNING pid 57, uptime 0:03:12"
    assert host.calls == [("timeout -k 2 10 supervisorctl status %s", ("worker",))]


def test_supervisor_program_stopped_exits_3_and_is_parsed() -> None:
    state = units.supervisor_program(Recorded(Result(3, SUPERVISOR_STOPPED)), "worker")
    assert not state.ok and state.error is None and state.state == "STOPPED"
    assert "STOPPED" in state.detail


def test_supervisor_service_state() -> None:
    assert units.supervisor_service(Recorded(Result(0, SUPERVISOR_RUNNING)), "worker").running
    stopped = units.supervisor_service(Recorded(Result(3, SUPERVISOR_STOPPED)), "worker")
    assert not stopped.running and stopped.detail.startswith("program worker STOPPED")


def test_supervisor_program_in_a_group_and_unknown() -> None:
    grouped = units.parse_supervisor_status("pool:worker", SUPERVISOR_GROUPED)
    assert grouped.state == "BACKOFF" and "Exited too quickly" in grouped.detail
    unknown = units.supervisor_program(Recorded(Result(4, SUPERVISOR_UNKNOWN)), "nosuch")
    assert not unknown.ok and "no such process" in unknown.detail


def test_supervisor_unreachable_and_config_passed() -> None:
    host = Recorded(Result(4, SUPERVISOR_DOWN))
    state = units.supervisor_program(host, "worker", config="/etc/supervisor/supervisord.conf")
    assert not state.ok and "supervisor.sock no such file" in state.detail
    assert host.calls[0] == (
        "timeout -k 2 10 supervisorctl -c %s status %s",
        ("/etc/supervisor/supervisord.conf", "worker"),
    )


def _entry(message: Any, stamp_us: int = 1764632400000000, priority: str = "6") -> str:
    return json.dumps(
        {
            "__REALTIME_TIMESTAMP": str(stamp_us),
            "PRIORITY": priority,
            "_SYSTEMD_UNIT": "app.service",
            "MESSAGE": message,
        }
    )


def test_parse_journal_counts_matching_messages() -> None:
    text = "\n".join(
        [
            _entry("INFO app: started"),
            _entry("ERROR app: upstream refused\nTraceback (most recent call last):"),
            _entry(list(b"ERROR binary \xff payload")),
            _entry(None),
            "-- No entries --",
        ]
    )
    scan = units.parse_journal(text, r"\bERROR\b")
    assert (scan.matches, scan.scanned_lines) == (2, 4)
    assert (
        scan.examples[0]
        == "2025-12-01T23:40:00Z ERROR app: upstream refused Traceback (most recent call last):"
    )
    assert "binary \ufffd payload" in scan.examples[1]


# One line of `journalctl -o json -u app.service` as recorded (a line the unit wrote to its stdout).
JOURNAL_LINE = (
    '{"_SYSTEMD_SLICE":"system.slice","SYSLOG_FACILITY":"3","_HOSTNAME":"vm","_UID":"0",'
    '"MESSAGE":"ERROR app: upstream connection refused (attempt 3/3)",'
    '"__MONOTONIC_TIMESTAMP":"11649765943","__REALTIME_TIMESTAMP":"1796166930584130",'
    '"_CMDLINE":"/usr/bin/python3 -u /opt/infragate/app.py","_PID":"29","_COMM":"python3",'
    '"_TRANSPORT":"stdout","_SYSTEMD_UNIT":"app.service","PRIORITY":"6","SYSLOG_IDENTIFIER":"python3"}'
)


def test_journal_errors_windowed_by_journalctl_newest_first() -> None:
    # journalctl -r prints the newest entry first; the examples are put back in time order.
    host = Recorded(Result(0, JOURNAL_LINE + "\n" + _entry("fine") + "\n" + _entry("ERROR older") + "\n"))
    found = units.journal_errors(host, "app.service", r"\bERROR\b", window_minutes=15)
    assert found.scan is not None and found.scan.matches == 2 and found.window_minutes == 15
    assert found.scan.examples == (
        "2025-12-01T23:40:00Z ERROR older",
        "2026-12-01T23:15:30Z ERROR app: upstream connection refused (attempt 3/3)",
    )
    command, args = host.calls[0]
    assert command.startswith("timeout -k 2 10 journalctl ") and "-o json -r " in command
    assert " -q" not in command  # it would hide the notice of a partial journal
    assert args == ("app.service", "-900s", str(units.JOURNAL_MAX_LINES))


# What journalctl 252 prints on stderr (exit 0) for a user outside the systemd-journal and adm groups.
PARTIAL_HINT = (
    "Hint: You are currently not seeing messages from other users and the system.\n"
    "      Users in groups 'adm', 'systemd-journal' can see all messages.\n"
    "      Pass -q to turn off this notice.\n"
)


def test_journal_errors_from_a_partial_journal_are_no_pass() -> None:
    found = units.journal_errors(Recorded(Result(0, "", PARTIAL_HINT)), "app.service", "E", window_minutes=15)
    assert found.scan is None and found.error is not None and "systemd-journal" in found.error


def test_journal_errors_when_journalctl_fails() -> None:
    found = units.journal_errors(
        Recorded(Result(1, "", "Failed to add filter for units: No data available")),
        "x",
        "E",
        window_minutes=1,
    )
    assert found.scan is None and found.error is not None and "No data available" in found.error
