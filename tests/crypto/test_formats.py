"""PEM parsing and rejection."""

from __future__ import annotations

import pytest

from consortia.crypto import InvalidKey, KeyType, PrivateKey, PublicKey

BAD_PEMS = [
    b"",
    b"not a pem",
    b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
    b"-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
    b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n",
    b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
]


@pytest.mark.parametrize("data", BAD_PEMS)
def test_bad_private_pem_raises_invalid_key(data: bytes) -> None:
    with pytest.raises(InvalidKey):
        PrivateKey.from_pem(data)


@pytest.mark.parametrize("data", BAD_PEMS)
def test_bad_public_pem_raises_invalid_key(data: bytes) -> None:
    with pytest.raises(InvalidKey):
        PublicKey.from_pem(data)


def test_private_pem_is_not_a_public_pem() -> None:
    key = PrivateKey.generate(KeyType.SM2)
    with pytest.raises(InvalidKey):
        PublicKey.from_pem(key.to_pem())
    with pytest.raises(InvalidKey):
        PrivateKey.from_pem(key.public_key().to_pem())


def test_truncated_pem_body_raises_invalid_key() -> None:
    pem = PrivateKey.generate(KeyType.P256).to_pem().decode().splitlines()
    broken = "\n".join([pem[0], pem[1][:-8], pem[-1]]).encode()
    with pytest.raises(InvalidKey):
        PrivateKey.from_pem(broken)


@pytest.mark.parametrize("key_type", list(KeyType))
def test_pem_round_trip_and_labels(key_type: KeyType) -> None:
    key = PrivateKey.generate(key_type)
    assert key.to_pem().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert key.public_key().to_pem().startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert PrivateKey.from_pem(key.to_pem()).public_key() == key.public_key()
