"""Signing, verification, rejection rules, edge-case keys and the SM2 backend cross-check."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortia.crypto import (
    DEFAULT_SM2_ID,
    InvalidKey,
    KeyType,
    PrivateKey,
    PublicKey,
    UnsupportedAlgorithm,
    sm3,
)
from consortia.crypto._curves import CURVES
from consortia.crypto._der import decode_signature, encode_signature
from consortia.crypto._sm2_backend import get_backend, sm2_za

ALL_TYPES = list(KeyType)
SM2_KEY = PrivateKey.from_secret(KeyType.SM2, hashlib.sha256(b"cross-check").digest())


@pytest.mark.parametrize("key_type", ALL_TYPES)
def test_sign_verify_round_trip(key_type: KeyType) -> None:
    key = PrivateKey.generate(key_type)
    sig = key.sign(b"payload")
    assert key.public_key().verify(b"payload", sig)
    assert not key.public_key().verify(b"payload!", sig)


@pytest.mark.parametrize("key_type", ALL_TYPES)
def test_tampered_signature_rejected(key_type: KeyType) -> None:
    key = PrivateKey.generate(key_type)
    sig = bytearray(key.sign(b"m"))
    sig[-1] ^= 0x01
    assert not key.public_key().verify(b"m", bytes(sig))


@pytest.mark.parametrize("key_type", ALL_TYPES)
def test_out_of_range_and_malformed_signatures_rejected(key_type: KeyType) -> None:
    key = PrivateKey.generate(key_type)
    pub = key.public_key()
    n = CURVES[key_type].n
    r, s = decode_signature(key.sign(b"m"), n)
    good = encode_signature(r, s)
    bad = [
        encode_signature(0, s),
        encode_signature(r, 0),
        encode_signature(n, s),
        encode_signature(r, n),
        encode_signature(r, n + s),
        encode_signature(r + n, s),
        good + b"\x00",  # trailing byte
        b"\x30\x81" + bytes([len(good) - 2]) + good[2:],  # non-minimal length
        good[:2] + b"\x02\x21\x00" + good[4:],  # wrong, non-canonical INTEGER padding
        b"",
        b"\x30\x00",
        b"garbage bytes that are not DER at all",
        bytes(70),
        bytes.fromhex("3006020100020100"),
    ]
    for sig in bad:
        assert not pub.verify(b"m", sig), sig.hex()


def test_non_minimal_integer_rejected() -> None:
    key = PrivateKey.generate(KeyType.P256)
    r, s = decode_signature(key.sign(b"m"), CURVES[KeyType.P256].n)
    r_body = b"\x00" + r.to_bytes(32, "big")  # one zero byte too many unless r >= 2^255
    if r_body[1] & 0x80:
        r_body = b"\x00" + r_body
    s_tlv = encode_signature(r, s)[2 + 2 + len(r.to_bytes(r.bit_length() // 8 + 1, "big")) :]
    body = b"\x02" + bytes([len(r_body)]) + r_body + s_tlv
    assert not key.public_key().verify(b"m", b"\x30" + bytes([len(body)]) + body)


def test_secp256k1_high_s_rejected() -> None:
    key = PrivateKey.generate(KeyType.SECP256K1)
    n = CURVES[KeyType.SECP256K1].n
    r, s = decode_signature(key.sign(b"m"), n)
    assert s <= n // 2
    assert not key.public_key().verify(b"m", encode_signature(r, n - s))


def test_sm2_wrong_user_id_rejected() -> None:
    sig = SM2_KEY.sign(b"m", user_id=b"alice")
    assert SM2_KEY.public_key().verify(b"m", sig, user_id=b"alice")
    assert not SM2_KEY.public_key().verify(b"m", sig, user_id=b"bob")
    assert not SM2_KEY.public_key().verify(b"m", sig)


def test_wrong_key_type_rejected() -> None:
    secret = hashlib.sha256(b"same scalar").digest()
    sm2 = PrivateKey.from_secret(KeyType.SM2, secret)
    p256 = PrivateKey.from_secret(KeyType.P256, secret)
    k1 = PrivateKey.from_secret(KeyType.SECP256K1, secret)
    assert not p256.public_key().verify(b"m", sm2.sign(b"m"))
    assert not sm2.public_key().verify(b"m", p256.sign(b"m"))
    assert not sm2.public_key().verify(b"m", k1.sign(b"m"))
    with pytest.raises(InvalidKey):  # an SM2 point is not a P-256 point
        PublicKey.from_bytes(KeyType.P256, sm2.public_key().to_bytes())


def test_unknown_key_type_raises() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        PrivateKey.generate("ed25519")  # type: ignore[arg-type]


@pytest.mark.parametrize("key_type", ALL_TYPES)
def test_from_secret_range_checks(key_type: KeyType) -> None:
    n = CURVES[key_type].n
    for bad in (0, n, n + 1, 2**256 - 1):
        with pytest.raises(InvalidKey):
            PrivateKey.from_secret(key_type, bad.to_bytes(32, "big"))
    with pytest.raises(InvalidKey):
        PrivateKey.from_secret(key_type, b"\x01" * 31)
    if key_type is KeyType.SM2:
        with pytest.raises(InvalidKey):
            PrivateKey.from_secret(key_type, (n - 1).to_bytes(32, "big"))


@pytest.mark.parametrize("key_type", ALL_TYPES)
def test_compressed_point_accepted_and_invalid_point_rejected(key_type: KeyType) -> None:
    pub = PrivateKey.generate(key_type).public_key()
    raw = pub.to_bytes()
    compressed = bytes([2 + (raw[-1] & 1)]) + raw[1:33]
    assert PublicKey.from_bytes(key_type, compressed) == pub
    with pytest.raises(InvalidKey):
        PublicKey.from_bytes(key_type, raw[:-1] + bytes([raw[-1] ^ 1]))
    with pytest.raises(InvalidKey):
        PublicKey.from_bytes(key_type, raw[1:])  # 64 bytes without prefix
    with pytest.raises(InvalidKey):
        PublicKey.from_bytes(key_type, b"\x05" + raw[1:])


def _find_secret(key_type: KeyType, predicate: str) -> PrivateKey:
    """Deterministic search over seeds for a key with the requested edge property."""
    for seed in range(200_000):
        secret = hashlib.sha256(f"{key_type}-{predicate}-{seed}".encode()).digest()
        if predicate == "secret-leading-zero" and secret[0] != 0:
            continue
        key = PrivateKey.from_secret(key_type, secret)
        point = key.public_key().to_bytes()
        if predicate == "x-starts-04" and point[1] != 0x04:
            continue
        if predicate == "x-leading-zero" and point[1] != 0:
            continue
        if predicate == "y-leading-zero" and point[33] != 0:
            continue
        return key
    raise AssertionError("no key found")


@pytest.mark.parametrize("key_type", ALL_TYPES)
@pytest.mark.parametrize(
    "predicate", ["x-starts-04", "x-leading-zero", "y-leading-zero", "secret-leading-zero"]
)
def test_edge_case_keys(key_type: KeyType, predicate: str) -> None:
    key = _find_secret(key_type, predicate)
    pub = key.public_key()
    assert len(pub.to_bytes()) == 65
    again = PrivateKey.from_pem(key.to_pem())
    assert again.public_key() == pub
    assert PublicKey.from_pem(pub.to_pem()) == pub
    assert PublicKey.from_bytes(key_type, pub.to_bytes()) == pub
    sig = key.sign(b"edge")
    assert again.public_key().verify(b"edge", sig)
    if key_type is KeyType.SM2:
        assert pub.to_bytes() == CURVES[KeyType.SM2].multiply_base(key._d)
        for name in ("tongsuo", "gmssl"):
            backend = get_backend(name)
            assert backend.derive_public(key._d) == pub.to_bytes()
            e = sm3(sm2_za(DEFAULT_SM2_ID, pub.to_bytes()) + b"edge")
            assert backend.public_key(pub.to_bytes()).verify_digest(e, sig)


@settings(max_examples=40, deadline=None)
@given(message=st.binary(max_size=300), user_id=st.binary(max_size=64))
def test_sm2_backends_cross_verify(message: bytes, user_id: bytes) -> None:
    point = SM2_KEY.public_key().to_bytes()
    e = sm3(sm2_za(user_id, point) + message)
    tongsuo, gmssl = get_backend("tongsuo"), get_backend("gmssl")
    by_tongsuo = tongsuo.private_key(SM2_KEY._d, point).sign_digest(e)
    by_gmssl = gmssl.private_key(SM2_KEY._d, point).sign_digest(e)
    assert gmssl.public_key(point).verify_digest(e, by_tongsuo)
    assert tongsuo.public_key(point).verify_digest(e, by_gmssl)
    assert SM2_KEY.public_key().verify(message, by_gmssl, user_id=user_id)
    wrong = sm3(e)
    assert not gmssl.public_key(point).verify_digest(wrong, by_tongsuo)
    assert not tongsuo.public_key(point).verify_digest(wrong, by_gmssl)


@settings(max_examples=20, deadline=None)
@given(message=st.binary(max_size=200), user_id=st.binary(min_size=1, max_size=64))
def test_our_za_matches_gmssl_message_api(message: bytes, user_id: bytes) -> None:
    """GmSSL's full-message API computes ZA itself: it must accept our signatures."""
    import gmssl_pyx

    sig = SM2_KEY.sign(message, user_id=user_id)
    raw = SM2_KEY.public_key().to_bytes()[1:]
    assert gmssl_pyx.sm2_verify(raw, message, sig, user_id)
    theirs = gmssl_pyx.sm2_sign(SM2_KEY._d.to_bytes(32, "big"), raw, message, user_id)
    assert SM2_KEY.public_key().verify(message, theirs, user_id=user_id)


def test_gmssl_failed_verify_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    point = SM2_KEY.public_key().to_bytes()
    handle = get_backend("gmssl").public_key(point)
    assert not handle.verify_digest(bytes(32), SM2_KEY.sign(b"m"))
    _out, err = capfd.readouterr()
    assert err == ""


def test_keys_are_immutable_hashable_and_secret_free_in_repr() -> None:
    key = PrivateKey.from_secret(KeyType.P256, hashlib.sha256(b"repr").digest())
    assert hashlib.sha256(b"repr").hexdigest() not in repr(key)
    with pytest.raises(AttributeError):
        key.key_type = KeyType.SM2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        key.public_key()._point = b""  # type: ignore[misc]
    assert len({key.public_key(), PublicKey.from_pem(key.public_key().to_pem())}) == 1


@pytest.mark.parametrize("key_type", ALL_TYPES)
def test_parsing_the_same_bytes_again_gives_the_same_key(key_type: KeyType) -> None:
    """Parsed keys are shared, so a sender's backend object and ZA are built once."""
    public = PrivateKey.generate(key_type).public_key()
    uncompressed = PublicKey.from_bytes(key_type, public.to_bytes())
    assert PublicKey.from_bytes(key_type, bytearray(public.to_bytes())) is uncompressed
    assert uncompressed == public
    x, y = public.to_bytes()[1:33], public.to_bytes()[33:]
    compressed = bytes([2 + (y[-1] & 1)]) + x
    assert PublicKey.from_bytes(key_type, compressed) == uncompressed
    bad = b"\x04" + bytes(64)
    for _ in range(2):  # a failure is not remembered as a key
        with pytest.raises(InvalidKey):
            PublicKey.from_bytes(key_type, bad)
