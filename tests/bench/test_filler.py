"""Filler accounts of ``bench run --state-accounts``: derived from the index alone, real keys.

Every key type's bulk derivation (Tongsuo, ``cryptography``, ``coincurve``) is
compared with ``PrivateKey.from_secret`` of the same secret.
"""

from __future__ import annotations

import pytest

from consortia.bench.filler import (
    FILLER_TAG,
    filler_accounts,
    filler_key,
    filler_points,
    filler_secret,
)
from consortia.crypto import KeyType, PrivateKey, sha256
from consortia.crypto._curves import CURVES

KEY_TYPES = list(KeyType)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_same_index_same_key(key_type: KeyType) -> None:
    assert filler_secret(key_type, 7) == filler_secret(key_type, 7)
    assert filler_points(key_type, 5, 9) == filler_points(key_type, 5, 9)
    assert filler_points(key_type, 5, 9)[2] == filler_points(key_type, 7, 8)[0]
    assert filler_key(key_type, 7).public_key() == filler_key(key_type, 7).public_key()


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_secret_is_the_tagged_hash_in_range(key_type: KeyType) -> None:
    curve = CURVES[key_type]
    upper = curve.n - 1 if key_type is KeyType.SM2 else curve.n
    for index in (0, 1, 2**32, 2**64 - 1):
        digest = sha256(FILLER_TAG + index.to_bytes(8, "big"))
        secret = filler_secret(key_type, index)
        assert secret == 1 + int.from_bytes(digest, "big") % (upper - 1)
        curve.check_scalar(secret)
    for bad in (-1, 2**64):
        with pytest.raises(ValueError, match="filler index"):
            filler_secret(key_type, bad)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_points_match_from_secret(key_type: KeyType) -> None:
    indices = range(1_000, 1_200)
    points = filler_points(key_type, indices.start, indices.stop)
    for index, point in zip(indices, points, strict=True):
        if index % 20 == 0:
            secret = filler_secret(key_type, index).to_bytes(32, "big")
            assert PrivateKey.from_secret(key_type, secret).public_key().to_bytes() == point


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_distinct_indices_distinct_addresses(key_type: KeyType) -> None:
    accounts = filler_accounts(key_type, 500, workers=1)
    assert len({a.address for a in accounts}) == 500
    assert len({a.keys[0].public_key for a in accounts}) == 500
    for index in (0, 250, 499):
        public = filler_key(key_type, index).public_key()
        assert accounts[index].address == public.address()
        assert accounts[index].keys[0].key_type == key_type.value
        assert accounts[index].keys[0].public_key == public.to_bytes()


def test_workers_derive_the_same_accounts() -> None:
    alone = filler_accounts(KeyType.SM2, 1_500, workers=1)
    assert filler_accounts(KeyType.SM2, 1_500, workers=2) == alone
    assert filler_accounts(KeyType.SM2, 0) == ()
    with pytest.raises(ValueError, match=">= 0"):
        filler_accounts(KeyType.SM2, -1)
