"""Declared services and processes run, and declared ports listen, owned by the right process.

Runbooks 000/002/004: ``systemctl status``, ``ps aux | grep``, ``ss -tlnp | grep <port>``, read on the
machine itself through testinfra (the ``machine`` fixture).

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("HOST-SERVICE-ACTIVE")
def test_service_running(host_service, service_state, explain):
    how = f"pid file {host_service.pidfile}" if host_service.pidfile else f"pattern {host_service.pattern!r}"
    assert service_state.running, explain(
        expected=f"service {host_service.name} running ({how})", seen=service_state.detail
    )


@pytest.mark.check("HOST-PROCESS-RUNNING")
def test_process_count_within_bounds(host_process, process_list, explain):
    count = len(process_list)
    upper = host_process.max if host_process.max is not None else "any"
    pids = ", ".join(str(p.pid) for p in process_list[:5]) or "none"
    assert count >= host_process.min and (host_process.max is None or count <= host_process.max), explain(
        expected=f"between {host_process.min} and {upper} processes matching {host_process.pattern!r}",
        seen=f"{count} running (pids {pids})" if count else "no process running that matches",
    )


@pytest.mark.check("HOST-PORT-LISTENING")
def test_port_listening(port, listeners, explain):
    wildcard = ("0.0.0.0", "*", "::")
    on_port = [s for s in listeners if s.port == port.port and s.address in (port.host, *wildcard)]
    seen = ", ".join(f"{s.address}:{s.port} {'/'.join(s.processes) or '?'}" for s in on_port)
    assert on_port, explain(
        expected=f"a TCP listener on {port.host}:{port.port}", seen=f"port {port.port} not listening"
    )
    if port.process is not None:
        owners = {name for s in on_port for name in s.processes}
        assert port.process in owners, explain(
            expected=f"{port.host}:{port.port} owned by {port.process}",
            seen=f"owned by another process: {seen}",
        )
