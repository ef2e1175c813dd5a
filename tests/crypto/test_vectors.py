"""Published vectors: GB/T 32905 (SM3), GB/T 32907 (SM4), GM/T 0003.5 (SM2), Ethereum address."""

from __future__ import annotations

import subprocess
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from consortia.crypto import KeyType, PrivateKey, PublicKey, keccak256, sha256, sm2_decrypt, sm3
from consortia.crypto._der import encode_signature
from consortia.crypto._sm2_backend import get_backend, sm2_za

from .vectors import (
    GMT_CIPHERTEXT,
    GMT_E,
    GMT_PRIVATE,
    GMT_PUBLIC,
    GMT_R,
    GMT_S,
    GMT_ZA,
)


def test_sm3_abc() -> None:
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_sm3_abcd_times_16() -> None:
    assert (
        sm3(b"abcd" * 16).hex()
        == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def test_sha256_and_keccak_known_values() -> None:
    assert sha256(b"abc").hex().startswith("ba7816bf8f01cfea")
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )


def test_sm4_block_vector() -> None:
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (enc.update(key) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_gmt_0003_5_key_pair() -> None:
    key = PrivateKey.from_secret(KeyType.SM2, GMT_PRIVATE)
    assert key.public_key().to_bytes() == GMT_PUBLIC


def test_gmt_0003_5_za_and_digest() -> None:
    za = sm2_za(b"1234567812345678", GMT_PUBLIC)
    assert za == GMT_ZA
    assert sm3(za + b"message digest") == GMT_E


def test_gmt_0003_5_published_signature_verifies() -> None:
    public = PublicKey.from_bytes(KeyType.SM2, GMT_PUBLIC)
    signature = encode_signature(GMT_R, GMT_S)
    assert public.verify(b"message digest", signature)
    assert public.verify(b"message digest", signature, user_id=b"1234567812345678")
    assert not public.verify(b"message digest", signature, user_id=b"1234567812345679")
    assert not public.verify(b"message digesT", signature)


def test_gmt_0003_5_signature_on_every_backend() -> None:
    signature = encode_signature(GMT_R, GMT_S)
    for name in ("tongsuo", "gmssl"):
        handle = get_backend(name).public_key(GMT_PUBLIC)
        assert handle.verify_digest(GMT_E, signature), name


def test_gmt_0003_5_published_ciphertext_decrypts_on_every_backend() -> None:
    key = PrivateKey.from_secret(KeyType.SM2, GMT_PRIVATE)
    assert sm2_decrypt(key, GMT_CIPHERTEXT) == b"encryption standard"
    for name in ("tongsuo", "gmssl"):
        handle = get_backend(name).private_key(int.from_bytes(GMT_PRIVATE, "big"), GMT_PUBLIC)
        assert handle.decrypt(GMT_CIPHERTEXT) == b"encryption standard", name


def test_ethereum_address_vector() -> None:
    key = PrivateKey.from_secret(
        KeyType.SECP256K1,
        bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"),
    )
    assert key.public_key().address().hex() == "2c7536e3605d9c16a7a3d7b1898e529396a65c23"


def test_address_rules_per_key_type() -> None:
    for key_type, h in ((KeyType.SM2, sm3), (KeyType.P256, sha256)):
        pub = PrivateKey.generate(key_type).public_key()
        assert pub.address() == h(pub.to_bytes()[1:])[12:]
        assert len(pub.address()) == 20


@given(st.binary(max_size=300))
def test_sm3_through_hashlib_matches_cryptography(data: bytes) -> None:
    from consortia.crypto.hashing import _SM3_PROTO, _sm3_cryptography

    assert _SM3_PROTO is not None, "this interpreter's OpenSSL has SM3 (the fast path runs)"
    assert sm3(data) == _sm3_cryptography(data)


def test_py_evm_hashes_with_the_same_keccak_as_consortia() -> None:
    """Importing consortia points eth-hash (py-evm, trie) at pysha3, in a fresh process."""
    script = (
        "import consortia\n"
        "from eth_hash.auto import keccak\n"
        "from consortia.crypto import keccak256\n"
        "assert keccak(b'abc') == keccak256(b'abc')\n"
        "print(keccak.hasher.__self__.__class__.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PySha3Backend"
