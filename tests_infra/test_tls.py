"""TLS endpoints verify, serve a full chain that is the certificate on disk, far from expiry, TLS 1.2+ only.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

_LEGACY = ["TLSv1", "TLSv1.1"]


def _no_answer(handshake):
    return f"no TLS answer: {handshake.error}"


@pytest.mark.check("TLS-HANDSHAKE")
def test_tls_handshake_verifies(tls_endpoint, facts, explain):
    hs = facts.tls(tls_endpoint)
    seen = _no_answer(hs) if hs.error else f"verification failed: {hs.verify_error}"
    assert hs.verified, explain(
        expected=f"a verified handshake for {tls_endpoint.sni!r} (chain to a trusted root, name matches)",
        seen=seen,
    )


@pytest.mark.check("TLS-CERT-EXPIRY")
def test_tls_cert_not_expiring(tls_endpoint, facts, threshold, explain):
    hs = facts.tls(tls_endpoint)
    min_days = threshold("min_days")
    leaf = hs.leaf
    assert leaf is not None, explain(
        expected=f"a certificate valid for more than {min_days} days", seen=_no_answer(hs)
    )
    days = leaf.days_left()
    state = "expired" if days < 0 else "expires"
    assert days > min_days, explain(
        expected=f"a certificate valid for more than {min_days} days",
        seen=f"{state} {leaf.not_after:%Y-%m-%d %H:%M} UTC ({days:.1f} days left), subject {leaf.subject!r}",
    )


@pytest.mark.check("TLS-CERT-EXPIRY")
def test_tls_cert_already_valid(tls_endpoint, facts, explain):
    hs = facts.tls(tls_endpoint)
    leaf = hs.leaf
    assert leaf is not None, explain(expected="a certificate already valid", seen=_no_answer(hs))
    now = datetime.now(UTC)
    assert leaf.not_before <= now, explain(
        expected="a certificate whose validity has started",
        seen=f"not valid before {leaf.not_before:%Y-%m-%d %H:%M} UTC (clock skew, or issued ahead)",
    )


@pytest.mark.check("TLS-CHAIN")
def test_tls_chain_complete(tls_endpoint, facts, explain):
    hs = facts.tls(tls_endpoint)
    chain = " <- ".join(f"{c.subject!r}" for c in hs.chain) or "nothing"
    assert hs.verified, explain(
        expected="the served chain leads to a trusted root",
        seen=f"chain {chain} rejected: {hs.verify_error or hs.error}",
    )


@pytest.mark.check("TLS-CHAIN")
def test_tls_served_cert_matches_file(tls_with_cert_file, facts, explain):
    found = facts.served_vs_file(tls_with_cert_file)
    served, on_disk = found.served, found.on_disk
    assert served is not None, explain(
        expected="a served certificate", seen=f"no TLS answer: {found.handshake_error}"
    )
    assert found.same, explain(
        expected=f"the served certificate to be the one in {tls_with_cert_file.cert_file}",
        seen=f"served {served.sha256[:16]}… (not after {served.not_after:%Y-%m-%d}), file has "
        + (
            f"{on_disk.sha256[:16]}… (not after {on_disk.not_after:%Y-%m-%d})"
            if on_disk
            else "no certificate"
        )
        + ": renewed on disk but the server was not reloaded",
    )


@pytest.mark.check("TLS-PROTOCOLS")
@pytest.mark.parametrize("version", _LEGACY)
def test_tls_legacy_protocol_refused(tls_endpoint, version, facts, explain):
    result = facts.tls_version(tls_endpoint, version)
    assert not result.unreachable, explain(
        expected=f"{version} refused", seen=f"no TLS answer: {result.error}"
    )
    assert not result.accepted, explain(
        expected=f"{version} refused (TLS 1.2+ only)", seen=f"{version} accepted"
    )


@pytest.mark.check("TLS-PROTOCOLS")
def test_tls_minimum_protocol_accepted(tls_endpoint, facts, threshold, explain):
    minimum = threshold("min_version")
    accepted = facts.tls_accepted_from(tls_endpoint, minimum)
    assert accepted, explain(
        expected=f"{minimum} or newer accepted", seen="no modern protocol version accepted"
    )


@pytest.mark.check("TLS-PROTOCOLS")
def test_http_redirects_to_https(tls_redirect, facts, explain):
    answer = facts.redirect(tls_redirect)
    location = answer.headers.get("location", "")
    seen = (
        f"no response: {answer.error}"
        if answer.status is None
        else f"HTTP {answer.status}, Location {location!r}"
    )
    assert answer.status in (301, 302, 307, 308) and location.startswith("https://"), explain(
        expected=f"{tls_redirect.redirect_from} to redirect to https://", seen=seen
    )
