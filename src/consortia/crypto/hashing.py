"""Hash functions: SM3 (GB/T 32905), SHA-256 (FIPS 180-4) and Keccak-256 (Ethereum).

Keccak-256 comes from safe-pysha3, the C Keccak reference code behind a thin
binding: 0.7 us for 100 bytes against 4.9 us through pycryptodome's wrapper,
and the EVM hashes every trie node and storage key with it. ``consortia``
points eth-hash (py-evm's and trie's Keccak) at the same library.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

import sha3 as _pysha3  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import hashes as _hashes

__all__ = ["keccak256", "sha256", "sm3"]

_SM3 = _hashes.SM3()


def _hashlib_sm3() -> Any:
    """A fresh SM3 object of the interpreter's OpenSSL to copy, if it has SM3."""
    try:
        return hashlib.new("sm3")
    except ValueError:
        return None


_SM3_PROTO: Final = _hashlib_sm3()
"""Copying a ready hash object skips OpenSSL's algorithm lookup: a third faster on the
64-byte inputs of the state tree than ``cryptography``'s ``Hash`` (which stays the
fallback, and the reference the tests compare against)."""


def sm3(data: bytes) -> bytes:
    """Return the 32-byte SM3 digest of ``data`` (GB/T 32905-2016)."""
    if _SM3_PROTO is not None:
        h = _SM3_PROTO.copy()
        h.update(data)
        digest: bytes = h.digest()
        return digest
    return _sm3_cryptography(data)


def _sm3_cryptography(data: bytes) -> bytes:
    h = _hashes.Hash(_SM3)
    h.update(data)
    return h.finalize()


def sha256(data: bytes) -> bytes:
    """Return the 32-byte SHA-256 digest of ``data``."""
    return hashlib.sha256(data).digest()


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest (original Keccak padding, as Ethereum uses)."""
    digest: bytes = _pysha3.keccak_256(data).digest()
    return digest
