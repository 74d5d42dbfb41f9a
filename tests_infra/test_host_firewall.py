"""The host firewall lets each declared public port in (runbooks 000/004: ``ufw allow``, ``ufw status``).

Read on the machine through ``[host] transport`` (testinfra): ``nft -j list ruleset`` (or the declared
command), judged for a new TCP connection from anywhere over IPv4 (infragate/probes/firewall.py). With no
firewall active (no input chain) nothing filters the port: the check does not apply and says so.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("HOST-FIREWALL-OPEN")
def test_public_port_allowed_by_firewall(firewall_port, facts, explain):
    firewall, port = firewall_port
    ruleset = facts.firewall_ruleset(firewall)
    assert ruleset.error is None, explain(
        expected=f"the host's nftables ruleset ({' '.join(firewall.command)})", seen=ruleset.error
    )
    if not ruleset.active:
        pytest.skip(
            f"no firewall active on the host (no input chain in tables ip/inet): port {port} unfiltered"
        )
    verdict = facts.firewall_port(firewall, port)
    assert verdict.allowed, explain(
        expected=f"a new TCP connection to port {port} from anywhere accepted by the host firewall",
        seen=f"port {port}: {verdict.decided_by}",
    )
