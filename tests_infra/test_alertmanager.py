"""Alertmanager is ready, no critical alert fires, and critical alerts reach a receiver that delivers.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


def _labels(labels):
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


@pytest.mark.check("ALERTS-NONE-FIRING")
def test_alertmanager_ready(alertmanager, facts, explain):
    seen = facts.ready(alertmanager)
    assert seen.ok, explain(
        expected="HTTP 200 from /-/ready and /-/healthy",
        seen=seen.error or f"/-/ready HTTP {seen.ready_status}, /-/healthy HTTP {seen.healthy_status}",
    )


@pytest.mark.check("ALERTS-NONE-FIRING")
def test_alertmanager_no_critical_alert_firing(alertmanager, facts, explain):
    found = facts.alerts(alertmanager)
    critical = found.matching(alertmanager.critical_labels)
    others = [a for a in found.alerts if a not in critical]
    seen = found.error or (
        f"{len(critical)} critical alert(s) firing: " + "; ".join(a.describe() for a in critical[:5])
    )
    if others and found.error is None:
        seen += f" (also active: {', '.join(a.name for a in others[:5])})"
    assert found.error is None and not critical, explain(
        expected=f"no active alert with {{{_labels(alertmanager.critical_labels)}}}", seen=seen
    )


@pytest.mark.check("ALERTS-PIPELINE")
def test_alertmanager_routes_critical_to_receiver(alertmanager, facts, explain):
    routed = facts.critical_route(alertmanager)
    wanted = alertmanager.critical_receiver
    expected = (
        f"alerts {{{_labels(alertmanager.critical_labels)}}} routed to "
        + (f"receiver {wanted!r} " if wanted else "a receiver ")
        + "with at least one integration"
    )
    if routed.error is not None:
        seen = routed.error
    elif routed.empty_receivers():
        seen = (
            f"routed to {', '.join(routed.receivers)}: no receiver integration configured (alerts go nowhere)"
        )
    else:
        seen = f"routed to {', '.join(routed.receivers)}"
    ok = (
        routed.error is None
        and not routed.empty_receivers()
        and (wanted is None or wanted in routed.receivers)
    )
    assert ok, explain(expected=expected, seen=seen)


@pytest.mark.check("ALERTS-PIPELINE")
def test_alertmanager_cluster_has_all_peers(alertmanager_cluster, facts, explain):
    status = facts.am_status(alertmanager_cluster)
    wanted = alertmanager_cluster.cluster_peers
    assert status.error is None and status.cluster_status == "ready" and status.peers >= wanted, explain(
        expected=f"cluster ready with {wanted} peers",
        seen=status.error or f"cluster {status.cluster_status or 'unknown'} with {status.peers} peers",
    )
