"""Authenticated, versioned key-value state (Jellyfish-Merkle-style sparse Merkle tree).

Public surface: ``StateTree`` (storage in a caller's LMDB environment),
``StateProof`` and ``verify_proof`` (standalone verification), the hash
constants and the errors. See docs/state.md for the design and formats.
"""

from consortia.state._hashing import EMPTY_ROOT, HASH_SIZE, PLACEHOLDER, HashFn
from consortia.state._proof import StateProof, check_proof, verify_proof
from consortia.state._tree import MAX_KEY_SIZE, MAX_VALUE_SIZE, StateTree
from consortia.state.errors import InvalidProof, InvalidVersion, StateError, VersionNotFound

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_KEY_SIZE",
    "MAX_VALUE_SIZE",
    "PLACEHOLDER",
    "HashFn",
    "InvalidProof",
    "InvalidVersion",
    "StateError",
    "StateProof",
    "StateTree",
    "VersionNotFound",
    "check_proof",
    "verify_proof",
]
