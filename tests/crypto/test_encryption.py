"""AEAD (SM4-GCM, AES-GCM) and SM2 public-key encryption."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortia.crypto import (
    AES_GCM,
    SM4_GCM,
    Aead,
    DecryptionFailed,
    InvalidKey,
    KeyType,
    PrivateKey,
    UnsupportedAlgorithm,
    sm2_decrypt,
    sm2_encrypt,
)
from consortia.crypto._sm2_backend import get_backend

SM2 = PrivateKey.generate(KeyType.SM2)


@pytest.mark.parametrize(
    ("aead", "key_len"), [(SM4_GCM, 16), (AES_GCM, 16), (AES_GCM, 24), (AES_GCM, 32)]
)
def test_aead_round_trip_and_tamper(aead: Aead, key_len: int) -> None:
    key = os.urandom(key_len)
    ct = aead.encrypt(key, b"secret payload", b"header")
    assert len(ct) == 12 + len(b"secret payload") + 16
    assert aead.decrypt(key, ct, b"header") == b"secret payload"
    assert aead.encrypt(key, b"secret payload", b"header") != ct  # fresh nonce
    for i in (0, 12, len(ct) - 1):
        bad = bytearray(ct)
        bad[i] ^= 1
        with pytest.raises(DecryptionFailed):
            aead.decrypt(key, bytes(bad), b"header")
    with pytest.raises(DecryptionFailed):
        aead.decrypt(key, ct, b"other header")
    with pytest.raises(DecryptionFailed):
        aead.decrypt(key, ct[:20])
    with pytest.raises(DecryptionFailed):
        aead.decrypt(os.urandom(key_len), ct, b"header")


@pytest.mark.parametrize("aead", [SM4_GCM, AES_GCM])
def test_aead_wrong_key_length(aead: Aead) -> None:
    with pytest.raises(InvalidKey):
        aead.encrypt(b"short", b"x")
    with pytest.raises(InvalidKey):
        aead.decrypt(b"k" * 17, bytes(40))


@settings(max_examples=30, deadline=None)
@given(plaintext=st.binary(max_size=2000), aad=st.binary(max_size=64))
def test_aead_round_trip_property(plaintext: bytes, aad: bytes) -> None:
    for aead, key in ((SM4_GCM, b"k" * 16), (AES_GCM, b"k" * 32)):
        assert aead.decrypt(key, aead.encrypt(key, plaintext, aad), aad) == plaintext


@settings(max_examples=25, deadline=None)
@given(plaintext=st.binary(min_size=1, max_size=255))
def test_sm2_encryption_interop_across_backends(plaintext: bytes) -> None:
    point = SM2.public_key().to_bytes()
    tongsuo, gmssl = get_backend("tongsuo"), get_backend("gmssl")
    by_tongsuo = tongsuo.public_key(point).encrypt(plaintext)
    by_gmssl = gmssl.public_key(point).encrypt(plaintext)
    assert gmssl.private_key(SM2._d, point).decrypt(by_tongsuo) == plaintext
    assert tongsuo.private_key(SM2._d, point).decrypt(by_gmssl) == plaintext
    assert sm2_decrypt(SM2, sm2_encrypt(SM2.public_key(), plaintext)) == plaintext


def test_sm2_encryption_long_plaintext_and_tamper() -> None:
    plaintext = os.urandom(5000)
    ct = sm2_encrypt(SM2.public_key(), plaintext)
    assert sm2_decrypt(SM2, ct) == plaintext
    bad = bytearray(ct)
    bad[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        sm2_decrypt(SM2, bytes(bad))
    with pytest.raises(DecryptionFailed):
        sm2_decrypt(SM2, b"garbage")
    with pytest.raises(DecryptionFailed):
        sm2_decrypt(PrivateKey.generate(KeyType.SM2), ct)


def test_sm2_encryption_needs_sm2_key() -> None:
    p256 = PrivateKey.generate(KeyType.P256)
    with pytest.raises(UnsupportedAlgorithm):
        sm2_encrypt(p256.public_key(), b"x")
    with pytest.raises(UnsupportedAlgorithm):
        sm2_decrypt(p256, b"x")
    with pytest.raises(UnsupportedAlgorithm):
        sm2_encrypt(SM2.public_key(), b"")
