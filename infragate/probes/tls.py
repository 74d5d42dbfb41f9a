"""TLS: handshake with verification, the served certificate and chain, accepted protocol versions."""

from __future__ import annotations

import _ssl
import datetime as dt
import hashlib
import socket
import ssl
import warnings
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from infragate.probes._base import client_context, describe_error, is_unreachable, monotonic_ms

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
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else name.rfc4514_string()


def load_certificates(path: Path) -> tuple[Certificate, ...]:
    """The certificates of a PEM file, in file order (leaf first for a server chain file)."""
    return tuple(
        Certificate.from_der(c.public_bytes(_DER)) for c in x509.load_pem_x509_certificates(path.read_bytes())
    )


from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402  (kept beside its one use)

_DER = Encoding.DER


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

    @property
    def leaf(self) -> Certificate | None:
        """The served leaf certificate, when any was served."""
        return self.chain[0] if self.chain else None


def _connect(host: str, port: int, ctx: ssl.SSLContext, server_name: str, timeout: float) -> ssl.SSLSocket:
    raw = socket.create_connection((host, port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=server_name)
    except BaseException:
        raw.close()
        raise


def handshake(
    host: str, port: int, *, server_name: str | None = None, cafile: Path | None = None, timeout: float
) -> Handshake:
    """Handshake twice: once verifying (chain + hostname), once not, to read what is served either way."""
    sni = server_name or host
    start = monotonic_ms()
    # Unverified first: it tells us what the server sends even when a verifying client would refuse it.
    try:
        with _connect(host, port, client_context(verify=False), sni, timeout) as tls:
            protocol, cipher = tls.version(), (tls.cipher() or (None,))[0]
            # get_unverified_chain is private in 3.11/3.12 and public from 3.13 (python/cpython#109109).
            sslobj = tls._sslobj  # type: ignore[attr-defined]
            ders = [c.public_bytes(_ssl.ENCODING_DER) for c in sslobj.get_unverified_chain()]
            chain = tuple(Certificate.from_der(bytes(d)) for d in ders)
    except (OSError, ssl.SSLError) as exc:
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
            error=describe_error(exc),
            unreachable=is_unreachable(exc),
        )
    verified, verify_error = True, None
    try:
        with _connect(host, port, client_context(cafile), sni, timeout):
            pass
    except ssl.SSLCertVerificationError as exc:
        verified, verify_error = False, exc.verify_message or describe_error(exc)
        if (
            "hostname" in (verify_error or "").lower()
            or "ip address mismatch" in (verify_error or "").lower()
        ):
            verify_error = f"{verify_error} (certificate names: {', '.join(chain[0].sans) if chain else '?'})"
    except (OSError, ssl.SSLError) as exc:
        verified, verify_error = False, describe_error(exc)
    return Handshake(host, port, sni, verified, verify_error, protocol, cipher, chain, monotonic_ms() - start)


@dataclass(frozen=True)
class ProtocolProbe:
    """Whether the server completed a handshake pinned to one protocol version."""

    version: str
    accepted: bool
    error: str | None = None
    unreachable: bool = False


def protocol_accepted(
    host: str, port: int, version: str, *, server_name: str | None = None, timeout: float
) -> ProtocolProbe:
    """Try a handshake allowing only ``version`` (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)."""
    ctx = client_context(verify=False)
    with warnings.catch_warnings():
        # Pinning TLS 1.0/1.1 is deprecated in Python; whether a server still allows them is the point.
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = _VERSIONS[version]
    if version in ("TLSv1", "TLSv1.1"):
        # OpenSSL 3 refuses legacy versions at the default security level; lower it so that the
        # answer describes the server, not our client library.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    try:
        with _connect(host, port, ctx, server_name or host, timeout) as tls:
            return ProtocolProbe(version, accepted=tls.version() == version)
    except ssl.SSLError as exc:
        return ProtocolProbe(version, accepted=False, error=describe_error(exc))
    except OSError as exc:
        return ProtocolProbe(
            version, accepted=False, error=describe_error(exc), unreachable=is_unreachable(exc)
        )
