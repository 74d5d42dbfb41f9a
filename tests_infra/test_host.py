"""Every declared port accepts a TCP connection from the test runner (``nc -zv host port``).

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("HOST-PORT-REACHABLE")
def test_port_reachable(port, facts, explain):
    result = facts.tcp(port)
    assert result.ok, explain(
        expected="a TCP connection accepted within the connect timeout", seen=result.error
    )
