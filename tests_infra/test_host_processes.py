"""Declared services and processes run, and declared ports listen, owned by the right process.

Runbooks 000/002/004: ``systemctl status``, ``ps aux | grep``, ``ss -tlnp | grep <port>``, read on the
machine itself through ``[host] transport`` (testinfra).

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("HOST-SERVICE-ACTIVE")
def test_service_running(host_service, facts, explain):
    state = facts.service_state(host_service)
    assert state.running, explain(
        expected=f"service {host_service.name} running ({host_service.how})", seen=state.detail
    )


@pytest.mark.check("HOST-PROCESS-RUNNING")
def test_process_count_within_bounds(host_process, facts, explain):
    found = facts.processes(host_process)
    assert found.within, explain(
        expected=f"{found.allowed} processes whose whole command line matches {host_process.pattern!r}",
        seen=found.described,
    )


@pytest.mark.check("HOST-PORT-LISTENING")
def test_port_listening(port, facts, explain):
    found = facts.port_listeners(port)
    assert found.listening, explain(
        expected=f"a TCP listener on {port.host}:{port.port}", seen=f"port {port.port} not listening"
    )
    assert found.owned, explain(
        expected=f"{port.host}:{port.port} owned by {port.process}",
        seen=f"owned by another process: {found.described}",
    )
