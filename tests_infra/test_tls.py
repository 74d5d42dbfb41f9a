"""TLS endpoints verify, serve a full chain that is the certificate on disk, far from expiry, TLS 1.2+ only.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infragate.probes.tls import load_certificates

_LEGACY = ["TLSv1", "TLSv1.1"]
_ORDER = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]


def _no_answer(handshake):
    return f"no TLS answer: {handshake.error}"


@pytest.mark.check("TLS-HANDSHAKE")
def test_tls_handshake_verifies(tls_endpoint, probe, explain):
    hs = probe.tls(tls_endpoint)
    seen = _no_answer(hs) if hs.error else f"verification failed: {hs.verify_error}"
    assert hs.verified, explain(
        expected=f"a verified handshake for {tls_endpoint.sni!r} (chain to a trusted root, name matches)",
        seen=seen,
    )


@pytest.mark.check("TLS-CERT-EXPIRY")
def test_tls_cert_not_expiring(tls_endpoint, probe, threshold, explain):
    hs = probe.tls(tls_endpoint)
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
def test_tls_cert_already_valid(tls_endpoint, probe, explain):
    hs = probe.tls(tls_endpoint)
    leaf = hs.leaf
    assert leaf is not None, explain(expected="a certificate already valid", seen=_no_answer(hs))
    now = datetime.now(UTC)
    assert leaf.not_before <= now, explain(
        expected="a certificate whose validity has started",
        seen=f"not valid before {leaf.not_before:%Y-%m-%d %H:%M} UTC (clock skew, or issued ahead)",
    )


@pytest.mark.check("TLS-CHAIN")
def test_tls_chain_complete(tls_endpoint, probe, explain):
    hs = probe.tls(tls_endpoint)
    chain = " <- ".join(f"{c.subject!r}" for c in hs.chain) or "nothing"
    assert hs.verified, explain(
        expected="the served chain leads to a trusted root",
        seen=f"chain {chain} rejected: {hs.verify_error or hs.error}",
    )


@pytest.mark.check("TLS-CHAIN")
def test_tls_served_cert_matches_file(tls_with_cert_file, probe, explain):
    hs = probe.tls(tls_with_cert_file)
    on_disk = load_certificates(tls_with_cert_file.cert_file)
    leaf = hs.leaf
    assert leaf is not None, explain(expected="a served certificate", seen=_no_answer(hs))
    assert on_disk and on_disk[0].sha256 == leaf.sha256, explain(
        expected=f"the served certificate to be the one in {tls_with_cert_file.cert_file}",
        seen=f"served {leaf.sha256[:16]}… (not after {leaf.not_after:%Y-%m-%d}), file has "
        f"{on_disk[0].sha256[:16] if on_disk else 'no certificate'}… "
        f"(not after {on_disk[0].not_after:%Y-%m-%d}): renewed on disk but the server was not reloaded",
    )


@pytest.mark.check("TLS-PROTOCOLS")
@pytest.mark.parametrize("version", _LEGACY)
def test_tls_legacy_protocol_refused(tls_endpoint, version, probe, explain):
    result = probe.tls_version(tls_endpoint, version)
    assert not result.unreachable, explain(
        expected=f"{version} refused", seen=f"no TLS answer: {result.error}"
    )
    assert not result.accepted, explain(
        expected=f"{version} refused (TLS 1.2+ only)", seen=f"{version} accepted"
    )


@pytest.mark.check("TLS-PROTOCOLS")
def test_tls_minimum_protocol_accepted(tls_endpoint, probe, threshold, explain):
    minimum = threshold("min_version")
    accepted = [v for v in _ORDER[_ORDER.index(minimum) :] if probe.tls_version(tls_endpoint, v).accepted]
    assert accepted, explain(
        expected=f"{minimum} or newer accepted", seen="no modern protocol version accepted"
    )


@pytest.mark.check("TLS-PROTOCOLS")
def test_http_redirects_to_https(tls_redirect, probe, explain):
    answer = probe.redirect(tls_redirect)
    location = answer.headers.get("location", "")
    seen = (
        f"no response: {answer.error}"
        if answer.status is None
        else f"HTTP {answer.status}, Location {location!r}"
    )
    assert answer.status in (301, 302, 307, 308) and location.startswith("https://"), explain(
        expected=f"{tls_redirect.redirect_from} to redirect to https://", seen=seen
    )
