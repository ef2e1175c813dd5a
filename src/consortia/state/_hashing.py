"""Node hashing of the state tree, with one domain tag per node kind.

The tree is the canonical binary sparse Merkle tree over 256-bit key hashes
described for Diem (Gao et al., "Jellyfish Merkle Tree", 2021, §2-3): a leaf
sits at the shortest prefix of its key hash that no other key shares, and an
empty subtree hashes to a constant placeholder. With ``H`` the injected
32-byte hash function::

    key_hash      = H(key)
    value_hash    = H(value)
    leaf hash     = H(0x00 || key_hash || value_hash)
    internal hash = H(0x01 || left_hash || right_hash)
    empty subtree = 32 zero bytes (PLACEHOLDER); the empty tree's root is PLACEHOLDER

The tags make a leaf preimage (65 bytes starting 0x00) and an internal
preimage (65 bytes starting 0x01) disjoint, so no proof can present a leaf as
an internal node or the reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from consortia.state.errors import StateError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "INTERNAL_TAG",
    "LEAF_TAG",
    "PLACEHOLDER",
    "HashFn",
    "check_hash_fn",
    "internal_hash",
    "leaf_hash",
]

HashFn = Callable[[bytes], bytes]
"""The injected hash: bytes in, exactly 32 bytes out (SM3 or SHA-256 on this chain)."""

HASH_SIZE: Final = 32
"""Width of every hash in the tree, in bytes."""

LEAF_TAG: Final = b"\x00"
"""Domain tag prefixed to a leaf's preimage."""

INTERNAL_TAG: Final = b"\x01"
"""Domain tag prefixed to an internal node's preimage."""

PLACEHOLDER: Final = bytes(HASH_SIZE)
"""Hash of an empty subtree, and the root of the empty state."""

EMPTY_ROOT: Final = PLACEHOLDER
"""Root hash of a state with no keys (independent of the hash function)."""


def check_hash_fn(hash_fn: HashFn) -> None:
    """Raise ``StateError`` unless ``hash_fn`` returns 32 bytes."""
    digest = hash_fn(b"")
    if not isinstance(digest, bytes) or len(digest) != HASH_SIZE:
        raise StateError("hash_fn must return exactly 32 bytes")


def leaf_hash(hash_fn: HashFn, key_hash: bytes, value_hash: bytes) -> bytes:
    """Hash of the leaf for ``key_hash`` holding a value with ``value_hash``."""
    return hash_fn(LEAF_TAG + key_hash + value_hash)


def internal_hash(hash_fn: HashFn, left: bytes, right: bytes) -> bytes:
    """Hash of an internal node with children ``left`` and ``right``."""
    return hash_fn(INTERNAL_TAG + left + right)
