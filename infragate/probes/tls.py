"""TLS: handshake with verification, the served certificate and chain, accepted protocol versions."""

from __future__ import annotations

import _ssl
import datetime as dt
import hashlib
import ssl
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from infragate.lazy import lazy_module
from infragate.probes._base import (
    Attempt,
    Failure,
    classify,
    client_context,
    describe_error,
    monotonic_ms,
    run_within,
)
from infragate.probes.tcp import open_socket

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509 import oid
else:
    # Imported when a certificate is first parsed (0.05 to 0.1 s): a dead target never gets that far.
    x509 = lazy_module("cryptography.x509")
    oid = lazy_module("cryptography.x509.oid")
    serialization = lazy_module("cryptography.hazmat.primitives.serialization")

__all__ = [
    "Certificate",
    "Handshake",
    "ProtocolProbe",
    "handshake",
    "load_certificates",
    "protocol_accepted",
]

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


@dataclass(frozen=True)
class Certificate:
    """The facts of one X.509 certificate that runbooks look at with ``openssl x509``."""

    subject: str
    issuer: str
    sans: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    sha256: str
    self_signed: bool

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        """Parse a DER certificate."""
        cert = x509.load_der_x509_certificate(der)
        try:
            ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            sans = tuple(
                [f"DNS:{n}" for n in ext.get_values_for_type(x509.DNSName)]
                + [f"IP:{ip}" for ip in ext.get_values_for_type(x509.IPAddress)]
            )
        except x509.ExtensionNotFound:
            sans = ()
        return cls(
            subject=_cn(cert.subject),
            issuer=_cn(cert.issuer),
            sans=sans,
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            sha256=hashlib.sha256(der).hexdigest(),
            self_signed=cert.subject == cert.issuer,
        )

    def days_left(self, now: dt.datetime | None = None) -> float:
        """Days until ``not_after`` (negative once expired)."""
        now = now or dt.datetime.now(dt.UTC)
        return (self.not_after - now).total_seconds() / 86400.0


def _cn(name: x509.Name) -> str:
    cns = name.get_attributes_for_oid(oid.NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else name.rfc4514_string()


def load_certificates(path: Path) -> tuple[Certificate, ...]:
    """The certificates of a PEM file, in file order (leaf first for a server chain file)."""
    der = serialization.Encoding.DER
    return tuple(
        Certificate.from_der(c.public_bytes(der)) for c in x509.load_pem_x509_certificates(path.read_bytes())
    )


@dataclass(frozen=True)
class Handshake:
    """One endpoint's TLS facts: whether a verifying client accepts it, and what it serves."""

    host: str
    port: int
    server_name: str
    verified: bool
    verify_error: str | None
    protocol: str | None
    cipher: str | None
    chain: tuple[Certificate, ...]
    elapsed_ms: float
    error: str | None = None
    unreachable: bool = False
    # None when a verifying client accepts the endpoint; TLS when it would refuse it (``verify_error``);
    # otherwise how the handshake failed (refused, connect timeout, silent after accepting, closed).
    failure: Failure | None = None

    @property
    def leaf(self) -> Certificate | None:
        """The served leaf certificate, when any was served."""
        return self.chain[0] if self.chain else None


def _connect(
    host: str,
    port: int,
    ctx: ssl.SSLContext,
    server_name: str,
    attempt: Attempt,
    *,
    connect_timeout: float,
    read_timeout: float,
) -> ssl.SSLSocket:
    raw = open_socket(host, port, attempt, timeout=connect_timeout)
    try:
        # the handshake is the server's first answer: bounded by the read timeout, not the connect one
        raw.settimeout(attempt.budget(read_timeout))
        return ctx.wrap_socket(raw, server_hostname=server_name)
    except BaseException:
        raw.close()
        raise


def _failed(host: str, port: int, sni: str, start: float, error: str, failure: Failure) -> Handshake:
    return Handshake(
        host,
        port,
        sni,
        False,
        None,
        None,
        None,
        (),
        monotonic_ms() - start,
        error=error,
        unreachable=failure.connect_level,
        failure=failure,
    )


def handshake(
    host: str,
    port: int,
    *,
    server_name: str | None = None,
    cafile: Path | None = None,
    timeout: float,
    read_timeout: float | None = None,
    deadline: float | None = None,
) -> Handshake:
    """Handshake twice: once verifying (chain + hostname), once not, to read what is served either way.

    ``timeout`` bounds the TCP connect, ``read_timeout`` (default: ``timeout``) the server's handshake
    answer; the whole call returns within ``deadline`` (default: twice connect + read).
    """
    sni = server_name or host
    read = timeout if read_timeout is None else read_timeout
    limit = 2 * (timeout + read) if deadline is None else deadline
    start = monotonic_ms()
    verifying: ssl.SSLContext | None = None
    missing_ca: str | None = None
    try:
        verifying = client_context(cafile)
    except OSError as exc:
        missing_ca = describe_error(exc)

    def work(attempt: Attempt) -> Handshake:
        # Unverified first: it tells us what the server sends even when a verifying client would refuse it.
        try:
            with _connect(
                host,
                port,
                client_context(verify=False),
                sni,
                attempt,
                connect_timeout=timeout,
                read_timeout=read,
            ) as tls:
                protocol, cipher = tls.version(), (tls.cipher() or (None,))[0]
                # get_unverified_chain is private in 3.11/3.12 and public from 3.13 (python/cpython#109109).
                sslobj = tls._sslobj  # type: ignore[attr-defined]
                ders = [c.public_bytes(_ssl.ENCODING_DER) for c in sslobj.get_unverified_chain()]
                chain = tuple(Certificate.from_der(bytes(d)) for d in ders)
        except (OSError, ssl.SSLError) as exc:
            failure = classify(exc, connected=attempt.connected)
            return _failed(host, port, sni, start, _tls_error(exc, failure), failure)
        attempt.answered = True
        verified, verify_error = True, None
        if verifying is None:
            verified, verify_error = False, missing_ca
        else:
            try:
                with _connect(
                    host, port, verifying, sni, attempt, connect_timeout=timeout, read_timeout=read
                ):
                    pass
            except ssl.SSLCertVerificationError as exc:
                verified, verify_error = False, exc.verify_message or describe_error(exc)
                lowered = (verify_error or "").lower()
                if "hostname" in lowered or "ip address mismatch" in lowered:
                    names = ", ".join(chain[0].sans) if chain else "?"
                    verify_error = f"{verify_error} (certificate names: {names})"
            except (OSError, ssl.SSLError) as exc:
                verified, verify_error = False, describe_error(exc)
        return Handshake(
            host,
            port,
            sni,
            verified,
            verify_error,
            protocol,
            cipher,
            chain,
            monotonic_ms() - start,
            failure=None if verified else Failure.TLS,
        )

    def expired(attempt: Attempt) -> Handshake:
        failure = Failure.TLS if attempt.answered else attempt.expired_failure()
        return _failed(host, port, sni, start, attempt.expired_text(), failure)

    return run_within(limit, work, expired=expired, name="tls")


def _tls_error(exc: BaseException, failure: Failure) -> str:
    text = describe_error(exc)
    if failure is Failure.SILENT:
        return f"accepted the connection but sent no TLS handshake answer ({text})"
    if failure is Failure.CLOSED:
        return f"closed the connection during the TLS handshake ({text}): is this port serving TLS?"
    return text


@dataclass(frozen=True)
class ProtocolProbe:
    """Whether the server completed a handshake pinned to one protocol version."""

    version: str
    accepted: bool
    error: str | None = None
    unreachable: bool = False
    failure: Failure | None = None  # TLS when the server refused the version by a TLS alert


def protocol_accepted(
    host: str,
    port: int,
    version: str,
    *,
    server_name: str | None = None,
    timeout: float,
    read_timeout: float | None = None,
    deadline: float | None = None,
) -> ProtocolProbe:
    """Try a handshake allowing only ``version`` (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3).

    ``timeout`` bounds the connect, ``read_timeout`` (default: ``timeout``) the handshake; the call
    returns within ``deadline`` (default: connect + read).
    """
    read = timeout if read_timeout is None else read_timeout
    ctx = client_context(verify=False)
    with warnings.catch_warnings():
        # Pinning TLS 1.0/1.1 is deprecated in Python; whether a server still allows them is the point.
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = _VERSIONS[version]
    if version in ("TLSv1", "TLSv1.1"):
        # OpenSSL 3 refuses legacy versions at the default security level; lower it so that the
        # answer describes the server, not our client library.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")

    def work(attempt: Attempt) -> ProtocolProbe:
        try:
            with _connect(
                host, port, ctx, server_name or host, attempt, connect_timeout=timeout, read_timeout=read
            ) as tls:
                return ProtocolProbe(version, accepted=tls.version() == version)
        except (OSError, ssl.SSLError) as exc:
            failure = classify(exc, connected=attempt.connected)
            if failure is Failure.CLOSED and isinstance(exc, ssl.SSLError):
                # a server refusing a pinned version may just close: that is a TLS answer
                failure = Failure.TLS
            return ProtocolProbe(
                version,
                accepted=False,
                error=_tls_error(exc, failure),
                unreachable=failure.connect_level,
                failure=failure,
            )

    def expired(attempt: Attempt) -> ProtocolProbe:
        failure = attempt.expired_failure()
        return ProtocolProbe(
            version, False, attempt.expired_text(), unreachable=failure.connect_level, failure=failure
        )

    return run_within(timeout + read if deadline is None else deadline, work, expired=expired, name="tls")
