"""The TLS probe against a real loopback TLS server with certificates made by trustme."""

from __future__ import annotations

import datetime as dt
import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from infragate.probes import tls
from infragate.probes._base import Failure
from selftest.unit.servers import closed_port, http_server, reply


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway CA."""
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CA certificate as a PEM file."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _server_ctx(cert: trustme.LeafCert, *, legacy: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    if legacy:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


@pytest.fixture
def good_server(ca: trustme.CA) -> Iterator[int]:
    """A TLS server for 'localhost' signed by the CA."""
    with http_server(reply(200, "ok"), tls=_server_ctx(ca.issue_cert("localhost"))) as port:
        yield port


def test_handshake_verifies_with_declared_ca(good_server: int, ca_file: Path) -> None:
    hs = tls.handshake("127.0.0.1", good_server, server_name="localhost", cafile=ca_file, timeout=2)
    assert hs.verified and hs.verify_error is None and hs.protocol in ("TLSv1.2", "TLSv1.3")
    assert hs.failure is None
    assert hs.leaf is not None and "DNS:localhost" in hs.leaf.sans and hs.leaf.days_left() > 300


def test_handshake_untrusted_ca_still_reports_certificate(good_server: int) -> None:
    hs = tls.handshake("127.0.0.1", good_server, server_name="localhost", cafile=None, timeout=2)
    assert not hs.verified and "unable to get local issuer" in (hs.verify_error or "")
    assert hs.leaf is not None  # read through the unverified handshake
    assert hs.failure is Failure.TLS and not hs.unreachable


def test_handshake_wrong_name_names_the_certificate(good_server: int, ca_file: Path) -> None:
    hs = tls.handshake("127.0.0.1", good_server, server_name="other.test", cafile=ca_file, timeout=2)
    assert not hs.verified and "DNS:localhost" in (hs.verify_error or "")


def test_handshake_expired_certificate(ca: trustme.CA, ca_file: Path) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    cert = ca.issue_cert("localhost", not_before=past - dt.timedelta(days=30), not_after=past)
    with http_server(reply(200), tls=_server_ctx(cert)) as port:
        hs = tls.handshake("127.0.0.1", port, server_name="localhost", cafile=ca_file, timeout=2)
    assert not hs.verified and "expired" in (hs.verify_error or "")
    assert hs.leaf is not None and hs.leaf.days_left() < -9


def test_handshake_refused_is_unreachable() -> None:
    hs = tls.handshake("127.0.0.1", closed_port(), timeout=1)
    assert hs.unreachable and hs.leaf is None and hs.failure is Failure.REFUSED


def test_handshake_on_plain_http_port_is_not_unreachable() -> None:
    # Something answered (not TLS): a TLS failure or a close, never "nothing listens".
    with http_server(reply(200, "plain")) as port:
        hs = tls.handshake("127.0.0.1", port, timeout=2)
    assert not hs.unreachable and hs.failure in (Failure.TLS, Failure.CLOSED) and hs.error


def test_protocol_probe_modern_server_refuses_tls10(good_server: int) -> None:
    assert not tls.protocol_accepted("127.0.0.1", good_server, "TLSv1", timeout=2).accepted
    assert tls.protocol_accepted("127.0.0.1", good_server, "TLSv1.2", timeout=2).accepted


def test_protocol_probe_legacy_server_accepts_tls10(ca: trustme.CA) -> None:
    with http_server(reply(200), tls=_server_ctx(ca.issue_cert("localhost"), legacy=True)) as port:
        result = tls.protocol_accepted("127.0.0.1", port, "TLSv1", timeout=2)
    assert result.accepted, result.error


def test_load_certificates_reads_chain_file(ca: trustme.CA, tmp_path: Path) -> None:
    cert = ca.issue_cert("localhost")
    path = tmp_path / "chain.pem"
    path.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    certs = tls.load_certificates(path)
    assert len(certs) == len(cert.cert_chain_pems) and "DNS:localhost" in certs[0].sans
