"""Organisation CAs and node transport certificates (X.509, ECDSA P-256).

Each member organisation holds a CA; ``consortia init`` issues each node's TLS
certificate from its organisation's CA, and every node trusts the bundle of
all member CAs. A peer is admitted only if its chain ends at a member CA and
its Hello then proves it holds a validator's consensus key ([NET-AUTH.1]).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_VALIDITY = datetime.timedelta(days=3650)
_EPOCH = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)


@dataclass(frozen=True, slots=True)
class Credential:
    """A private key and its certificate, both PEM."""

    key_pem: bytes
    cert_pem: bytes


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def create_ca(organisation: str) -> Credential:
    """A self-signed CA for ``organisation``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organisation} Consortia CA"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_EPOCH)
        .not_valid_after(_EPOCH + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Credential(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))


def issue_node_cert(ca: Credential, organisation: str, node_name: str, host: str) -> Credential:
    """A TLS certificate for ``node_name`` signed by the organisation's CA."""
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt = x509.DNSName(host)
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                    x509.NameAttribute(NameOID.COMMON_NAME, node_name),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_EPOCH)
        .not_valid_after(_EPOCH + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([alt, x509.DNSName(node_name)]), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH, x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Credential(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))


def fingerprint(cert_der: bytes) -> bytes:
    """SHA-256 of a certificate's DER encoding (what a Hello binds to)."""
    return hashlib.sha256(cert_der).digest()


def pem_fingerprint(cert_pem: bytes) -> bytes:
    """Fingerprint of a PEM certificate."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return fingerprint(cert.public_bytes(serialization.Encoding.DER))


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Where a node home keeps its transport credentials."""

    root: Path

    @property
    def key(self) -> Path:
        """Node TLS private key."""
        return self.root / "tls" / "node.key"

    @property
    def cert(self) -> Path:
        """Node TLS certificate."""
        return self.root / "tls" / "node.pem"

    @property
    def ca_bundle(self) -> Path:
        """Certificates of every member organisation's CA."""
        return self.root / "tls" / "ca-bundle.pem"
