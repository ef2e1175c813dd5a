"""Account and validator key types, and the default SM2 user ID (GB/T 32918.2, 5.5)."""

from __future__ import annotations

import enum

__all__ = ["DEFAULT_SM2_ID", "KeyType"]


class KeyType(enum.StrEnum):
    """Elliptic-curve key types that Consortia signs with."""

    SM2 = "sm2"
    """SM2 on sm2p256v1 with ZA(user ID) and SM3 (GB/T 32918.2)."""
    P256 = "p256"
    """ECDSA on NIST P-256 with SHA-256 (FIPS 186-4)."""
    SECP256K1 = "secp256k1"
    """ECDSA on secp256k1 with SHA-256, low-s (libsecp256k1); Ethereum-style addresses."""


DEFAULT_SM2_ID: bytes = b"1234567812345678"
"""The user ID that GM/T 0009 recommends when none is agreed: ASCII "1234567812345678"."""
