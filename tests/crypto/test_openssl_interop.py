"""Interoperability with the OpenSSL 3 command line: keys, PEM and signatures both ways."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from consortia.crypto import KeyType, PrivateKey, PublicKey


def _openssl(*args: str) -> bytes:
    return subprocess.run(["openssl", *args], check=True, capture_output=True).stdout


def test_openssl_sm2_key_and_signature_verify_here(tmp_path: Path) -> None:
    key_pem = tmp_path / "k.pem"
    _openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", str(key_pem)
    )
    msg = tmp_path / "m.bin"
    msg.write_bytes(b"signed by openssl")
    sig = _openssl(
        "pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", str(key_pem),
        "-pkeyopt", "distid:1234567812345678", "-in", str(msg),
    )  # fmt: skip
    key = PrivateKey.from_pem(key_pem.read_bytes())
    assert key.key_type is KeyType.SM2
    pub = PublicKey.from_pem(_openssl("pkey", "-in", str(key_pem), "-pubout"))
    assert pub == key.public_key()
    assert pub.verify(b"signed by openssl", sig)
    assert not pub.verify(b"signed by openssl", sig, user_id=b"other")


def test_our_sm2_signature_and_pem_verify_in_openssl(tmp_path: Path) -> None:
    key = PrivateKey.generate(KeyType.SM2)
    (tmp_path / "k.pem").write_bytes(key.to_pem())
    (tmp_path / "p.pem").write_bytes(key.public_key().to_pem())
    (tmp_path / "m.bin").write_bytes(b"signed here")
    (tmp_path / "s.der").write_bytes(key.sign(b"signed here"))
    out = _openssl(
        "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey",
        str(tmp_path / "p.pem"), "-pkeyopt", "distid:1234567812345678",
        "-in", str(tmp_path / "m.bin"), "-sigfile", str(tmp_path / "s.der"),
    )  # fmt: skip
    assert b"Signature Verified Successfully" in out
    # openssl reads our PKCS#8 private key and derives the same public key
    assert _openssl("pkey", "-in", str(tmp_path / "k.pem"), "-pubout") == key.public_key().to_pem()


def test_our_sm2_signature_with_custom_id_verifies_in_openssl(tmp_path: Path) -> None:
    key = PrivateKey.generate(KeyType.SM2)
    (tmp_path / "p.pem").write_bytes(key.public_key().to_pem())
    (tmp_path / "m.bin").write_bytes(b"custom id")
    (tmp_path / "s.der").write_bytes(key.sign(b"custom id", user_id=b"alice@bank"))
    out = _openssl(
        "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey",
        str(tmp_path / "p.pem"), "-pkeyopt", "distid:alice@bank",
        "-in", str(tmp_path / "m.bin"), "-sigfile", str(tmp_path / "s.der"),
    )  # fmt: skip
    assert b"Signature Verified Successfully" in out


def test_openssl_sec1_ec_private_key_loads(tmp_path: Path) -> None:
    key_pem = tmp_path / "k.pem"
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key_pem))
    assert b"BEGIN EC PRIVATE KEY" in key_pem.read_bytes()
    key = PrivateKey.from_pem(key_pem.read_bytes())
    assert key.key_type is KeyType.P256
    assert _openssl("pkey", "-in", str(key_pem), "-pubout") == key.public_key().to_pem()


@pytest.mark.parametrize(
    ("curve", "key_type"), [("P-256", KeyType.P256), ("secp256k1", KeyType.SECP256K1)]
)
def test_ecdsa_interop_both_ways(tmp_path: Path, curve: str, key_type: KeyType) -> None:
    key_pem = tmp_path / "k.pem"
    _openssl(
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        f"ec_paramgen_curve:{curve}",
        "-out",
        str(key_pem),
    )
    msg = tmp_path / "m.bin"
    msg.write_bytes(b"ecdsa interop")
    sig = _openssl("dgst", "-sha256", "-sign", str(key_pem), str(msg))
    key = PrivateKey.from_pem(key_pem.read_bytes())
    assert key.key_type is key_type
    if key_type is KeyType.P256:  # openssl does not normalise s; secp256k1 here requires low s
        assert key.public_key().verify(b"ecdsa interop", sig)
    (tmp_path / "p.pem").write_bytes(key.public_key().to_pem())
    (tmp_path / "s.der").write_bytes(key.sign(b"ecdsa interop"))
    out = _openssl(
        "dgst", "-sha256", "-verify", str(tmp_path / "p.pem"),
        "-signature", str(tmp_path / "s.der"), str(msg),
    )  # fmt: skip
    assert b"Verified OK" in out
    assert _openssl("pkey", "-in", str(key_pem), "-pubout") == key.public_key().to_pem()
