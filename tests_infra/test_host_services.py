"""Services as deployed, by their manager: a container's memory against its limit, a service's own log.

Runbooks 001/002: ``docker stats --no-stream``, ``docker logs --since``, read on the machine through
``[host] transport`` with the docker CLI (HOST-SERVICE-ACTIVE itself is in test_host_processes.py).

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("HOST-PROCESS-MEMORY")
def test_container_memory_below_limit(service_memory, facts, explain):
    found = facts.service_memory(service_memory)
    limit = service_memory.max_memory_pct
    expected = f"each container of {service_memory.how} using under {limit:g} % of its memory limit"
    assert found, explain(expected=expected, seen="no container")
    unreadable = [m.described for m in found if m.error is not None]
    assert not unreadable, explain(expected=expected, seen="; ".join(unreadable))
    unlimited = [m.described for m in found if m.limit_bytes is None]
    assert not unlimited, explain(expected=expected, seen="; ".join(unlimited))
    over = [m.described for m in found if m.used_pct is not None and m.used_pct >= limit]
    assert not over, explain(expected=expected, seen="; ".join(over))


@pytest.mark.check("HOST-LOG-ERRORS")
def test_service_log_without_recent_errors(service_log, facts, threshold, explain):
    window = service_log.log_window_minutes or threshold("window_minutes")
    limit = service_log.max_log_errors
    found = facts.service_log_errors(service_log, window)
    expected = (
        f"at most {limit} lines matching {service_log.log_error_pattern!r} in the last {window:g} min "
        f"of each log of {service_log.how}"
    )
    unreadable = [f.error for f in found if f.error is not None]
    assert not unreadable, explain(expected=expected, seen="; ".join(e for e in unreadable if e))
    over = [f for f in found if f.matches > limit]
    assert not over, explain(
        expected=expected,
        seen="; ".join(f"{f.name}: {f.matches} error lines, latest: {' | '.join(f.examples)}" for f in over),
    )
