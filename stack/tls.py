"""TLS material of the stack: root CA, intermediate CA, server leaf, and the leaves the faults serve."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ORG = "infragate reference stack"
SERVER_DNS = ("localhost",)
SERVER_IPS = ("127.0.0.1",)
LEAF_DAYS = 90
# Regenerate the leaf at `up` when it gets this close to expiry, so TLS-CERT-EXPIRY (> 14 days) stays green.
RENEW_BEFORE_DAYS = 30

# EC P-256 keys: generating eight of them takes milliseconds, RSA-2048 would add about a second to a cold up.
_CURVE = ec.SECP256R1()


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the TLS material under <run>/tls."""

    root: Path

    @property
    def ca(self) -> Path:
        """Root CA certificate: the trust anchor clients use."""
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        """Root CA key."""
        return self.root / "ca.key"

    @property
    def intermediate(self) -> Path:
        """Intermediate CA certificate."""
        return self.root / "intermediate.pem"

    @property
    def intermediate_key(self) -> Path:
        """Intermediate CA key (issues the leaves, also at fault time)."""
        return self.root / "intermediate.key"

    @property
    def server_chain(self) -> Path:
        """Server leaf + intermediate (what nginx serves)."""
        return self.root / "server.pem"

    @property
    def server_key(self) -> Path:
        """Server leaf key."""
        return self.root / "server.key"

    def fault_chain(self, kind: str) -> Path:
        """Chain served by a certificate fault: expired, untrusted or wrong-host."""
        return self.root / "fault" / f"{kind}.pem"

    def fault_key(self, kind: str) -> Path:
        """Key of a certificate fault's leaf."""
        return self.root / "fault" / f"{kind}.key"

    @property
    def untrusted_ca(self) -> Path:
        """The separate CA nobody trusts."""
        return self.root / "fault" / "untrusted-ca.pem"


FAULT_KINDS = ("expired", "untrusted", "wrong-host")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(_CURVE)


def _ca(
    common_name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey | None,
    path_length: int | None,
    days: int,
) -> x509.Certificate:
    now = _now()
    signer = issuer_key if issuer_key is not None else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.subject if issuer is not None else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Backdated so the expired fault leaf still lies inside its issuers' validity.
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(_aki(issuer), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _leaf(
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    dns: tuple[str, ...],
    ips: tuple[str, ...],
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    return (
        x509.CertificateBuilder()
        .subject_name(_name(dns[0]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_aki(issuer), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    # Atomic replace: nginx (or a fault) never sees a half-written certificate.
    os.replace(tmp, path)


def _load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _all_files(files: TlsFiles) -> list[Path]:
    paths = [
        files.ca,
        files.ca_key,
        files.intermediate,
        files.intermediate_key,
        files.server_chain,
        files.server_key,
        files.untrusted_ca,
    ]
    for kind in FAULT_KINDS:
        paths += [files.fault_chain(kind), files.fault_key(kind)]
    return paths


def generate(files: TlsFiles) -> None:
    """Generate the whole hierarchy and every fault leaf from scratch."""
    now = _now()
    root_key, inter_key = _key(), _key()
    root = _ca("infragate stack root CA", root_key, None, None, path_length=1, days=3650)
    inter = _ca("infragate stack intermediate CA", inter_key, root, root_key, path_length=0, days=1825)
    _write(files.ca_key, _key_pem(root_key), 0o600)
    _write(files.ca, _pem(root))
    _write(files.intermediate_key, _key_pem(inter_key), 0o600)
    _write(files.intermediate, _pem(inter))

    server_key = _key()
    server = _leaf(
        server_key,
        inter,
        inter_key,
        SERVER_DNS,
        SERVER_IPS,
        now - dt.timedelta(hours=1),
        now + dt.timedelta(days=LEAF_DAYS),
    )
    _write(files.server_key, _key_pem(server_key), 0o600)
    _write(files.server_chain, _pem(server, inter))

    expired_key = _key()
    expired = _leaf(
        expired_key,
        inter,
        inter_key,
        SERVER_DNS,
        SERVER_IPS,
        now - dt.timedelta(days=120),
        now - dt.timedelta(days=30),
    )
    _write(files.fault_key("expired"), _key_pem(expired_key), 0o600)
    _write(files.fault_chain("expired"), _pem(expired, inter))

    rogue_key = _key()
    rogue = _ca("untrusted CA", rogue_key, None, None, path_length=0, days=3650)
    untrusted_key = _key()
    untrusted = _leaf(
        untrusted_key,
        rogue,
        rogue_key,
        SERVER_DNS,
        SERVER_IPS,
        now - dt.timedelta(hours=1),
        now + dt.timedelta(days=LEAF_DAYS),
    )
    _write(files.untrusted_ca, _pem(rogue))
    _write(files.fault_key("untrusted"), _key_pem(untrusted_key), 0o600)
    _write(files.fault_chain("untrusted"), _pem(untrusted, rogue))

    wrong_key = _key()
    wrong = _leaf(
        wrong_key,
        inter,
        inter_key,
        ("wrong.example.test",),
        (),
        now - dt.timedelta(hours=1),
        now + dt.timedelta(days=LEAF_DAYS),
    )
    _write(files.fault_key("wrong-host"), _key_pem(wrong_key), 0o600)
    _write(files.fault_chain("wrong-host"), _pem(wrong, inter))


def reissue_server_chain(files: TlsFiles) -> bytes:
    """A freshly issued, valid server chain (same key, new serial and dates), as certbot renew would write."""
    inter = _load_cert(files.intermediate)
    now = _now()
    leaf = _leaf(
        _load_key(files.server_key),
        inter,
        _load_key(files.intermediate_key),
        SERVER_DNS,
        SERVER_IPS,
        now - dt.timedelta(minutes=5),
        now + dt.timedelta(days=LEAF_DAYS),
    )
    return _pem(leaf, inter)


def write_server_chain(files: TlsFiles, data: bytes) -> None:
    """Atomically replace server.pem."""
    _write(files.server_chain, data)


def ensure(files: TlsFiles) -> bool:
    """Generate the material if any file is missing, renew the leaf near expiry; True when written."""
    if any(not p.exists() for p in _all_files(files)):
        generate(files)
        return True
    leaf = _load_cert(files.server_chain)
    if leaf.not_valid_after_utc - _now() < dt.timedelta(days=RENEW_BEFORE_DAYS):
        write_server_chain(files, reissue_server_chain(files))
        return True
    return False


def leaf_fingerprint(chain_pem: bytes) -> str:
    """SHA-256 of the DER of the first certificate of a PEM chain."""
    leaf = x509.load_pem_x509_certificate(chain_pem)
    return hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).hexdigest()


def der_fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate (as returned by getpeercert(binary_form=True))."""
    return hashlib.sha256(der).hexdigest()
