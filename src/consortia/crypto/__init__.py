"""Consortia's crypto suites behind one interface.

``sm`` suite: SM2 signatures with the GB/T 32918 user-ID hash, SM3, SM4-GCM, SM2 encryption.
``intl`` suite: ECDSA P-256, SHA-256, AES-GCM. Account key types: ``sm2``, ``p256`` and
``secp256k1`` (Ethereum-compatible addresses). See docs/crypto.md.
"""

from __future__ import annotations

from consortia.crypto._ecdsa import ecrecover
from consortia.crypto.aead import AES_GCM, SM4_GCM, Aead
from consortia.crypto.batch import verify_batch
from consortia.crypto.errors import (
    CryptoError,
    DecryptionFailed,
    InvalidKey,
    InvalidSignatureEncoding,
    UnsupportedAlgorithm,
)
from consortia.crypto.hashing import keccak256, sha256, sm3
from consortia.crypto.key_type import DEFAULT_SM2_ID, KeyType
from consortia.crypto.keys import PrivateKey, PublicKey
from consortia.crypto.sm2_cipher import sm2_decrypt, sm2_encrypt
from consortia.crypto.suite import SUITES, Suite, get_suite

__all__ = [
    "AES_GCM",
    "DEFAULT_SM2_ID",
    "SM4_GCM",
    "SUITES",
    "Aead",
    "CryptoError",
    "DecryptionFailed",
    "InvalidKey",
    "InvalidSignatureEncoding",
    "KeyType",
    "PrivateKey",
    "PublicKey",
    "Suite",
    "UnsupportedAlgorithm",
    "ecrecover",
    "get_suite",
    "keccak256",
    "sha256",
    "sm2_decrypt",
    "sm2_encrypt",
    "sm3",
    "verify_batch",
]
