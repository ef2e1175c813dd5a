"""State proofs: inclusion and exclusion of one key under a state root.

A proof is the path from the root of the binary sparse Merkle tree (see
``_hashing``) toward ``H(key)``, ending at either a leaf or an empty
subtree, as in the ``SparseMerkleProof`` of Diem's Jellyfish Merkle Tree
(Gao et al. 2021, §4.2). Empty siblings are not sent: a bitmap marks which
levels carry a real sibling, which keeps proofs near ``32 * log2(n)`` bytes.

* Inclusion: the path ends at the leaf ``(H(key), H(value))``.
* Exclusion: the path ends at an empty subtree, or at a leaf for another key
  whose hash shares the path's prefix (it is the only key under that prefix,
  so ``key`` is absent).
"""

from __future__ import annotations

import msgspec

from consortia.state._hashing import (
    HASH_SIZE,
    INTERNAL_TAG,
    LEAF_TAG,
    PLACEHOLDER,
    HashFn,
)
from consortia.state.errors import InvalidProof, StateError

__all__ = ["MAX_DEPTH", "StateProof", "check_proof", "verify_proof"]

MAX_DEPTH = 256
"""Deepest possible path: two distinct 256-bit key hashes share at most 255 bits."""


class StateProof(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """Path from a state root toward one key hash, bottom element a leaf or nothing.

    Encoded as the msgpack array ``[depth, bitmap, siblings, leaf_key_hash,
    leaf_value_hash]`` (see docs/state.md for the bytes).
    """

    depth: int
    """Number of binary levels between the root and the end of the path (0..256)."""
    bitmap: bytes
    """``ceil(depth / 8)`` bytes; bit ``i`` (MSB first) set iff level ``i`` has a real sibling."""
    siblings: bytes
    """Concatenated 32-byte hashes of the non-empty siblings, root side first."""
    leaf_key_hash: bytes | None
    """Key hash of the leaf the path ends at, or ``None`` if it ends at an empty subtree."""
    leaf_value_hash: bytes | None
    """Value hash of that leaf, or ``None`` exactly when ``leaf_key_hash`` is ``None``."""

    def to_bytes(self) -> bytes:
        """Canonical msgpack encoding of this proof."""
        return _ENCODER.encode(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> StateProof:
        """Decode and check a proof; raise ``StateError`` on any malformed input."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise StateError("proof must be bytes")
        try:
            proof = _DECODER.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise StateError(f"malformed state proof: {exc}") from None
        problem = proof.check_shape()
        if problem is not None:
            raise StateError(f"malformed state proof: {problem}")
        if _ENCODER.encode(proof) != data:
            raise StateError("malformed state proof: not in canonical (shortest) msgpack form")
        return proof

    def check_shape(self) -> str | None:
        """Return why this proof is structurally invalid, or ``None`` if it is well formed."""
        depth = self.depth
        if not 0 <= depth <= MAX_DEPTH:
            return "depth out of range"
        if len(self.bitmap) != (depth + 7) // 8:
            return "bitmap length does not match depth"
        bits = int.from_bytes(self.bitmap, "big")
        if depth % 8 and bits & ((1 << (8 - depth % 8)) - 1):
            return "bitmap has bits past depth"
        if len(self.siblings) != HASH_SIZE * bits.bit_count():
            return "sibling count does not match bitmap"
        for i in range(0, len(self.siblings), HASH_SIZE):
            if self.siblings[i : i + HASH_SIZE] == PLACEHOLDER:
                return "empty sibling sent explicitly"
        if (self.leaf_key_hash is None) != (self.leaf_value_hash is None):
            return "leaf key hash and value hash must both be present or both absent"
        if self.leaf_key_hash is not None and (
            len(self.leaf_key_hash) != HASH_SIZE
            or self.leaf_value_hash is None
            or len(self.leaf_value_hash) != HASH_SIZE
        ):
            return "leaf hashes must be 32 bytes"
        return None


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(StateProof)


def _shares_prefix(a: bytes, b: bytes, bits: int) -> bool:
    """True iff the first ``bits`` bits of ``a`` and ``b`` are equal."""
    full, rest = divmod(bits, 8)
    if a[:full] != b[:full]:
        return False
    if rest == 0:
        return True
    mask = (0xFF << (8 - rest)) & 0xFF
    return (a[full] & mask) == (b[full] & mask)


def verify_proof(
    hash_fn: HashFn, root: bytes, key: bytes, value: bytes | None, proof: StateProof
) -> bool:
    """True iff ``proof`` shows ``key -> value`` under ``root`` (absence when ``value`` is None).

    Needs no database: recomputes the root from the path. Malformed proofs give
    ``False``, never an exception.
    """
    if not isinstance(proof, StateProof) or proof.check_shape() is not None:
        return False
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        return False
    key_hash = hash_fn(key)
    depth = proof.depth
    leaf_key_hash = proof.leaf_key_hash
    if value is not None:
        if leaf_key_hash != key_hash or proof.leaf_value_hash != hash_fn(value):
            return False
    elif leaf_key_hash == key_hash:
        return False
    if leaf_key_hash is None or proof.leaf_value_hash is None:
        node = PLACEHOLDER
    else:
        if not _shares_prefix(leaf_key_hash, key_hash, depth):
            return False
        node = hash_fn(LEAF_TAG + leaf_key_hash + proof.leaf_value_hash)
    bits = int.from_bytes(proof.bitmap, "big") >> ((8 - depth % 8) % 8)
    path = int.from_bytes(key_hash, "big") >> (256 - depth) if depth else 0
    siblings = proof.siblings
    end = len(siblings)
    for _ in range(depth):
        if bits & 1:
            sibling = siblings[end - HASH_SIZE : end]
            end -= HASH_SIZE
        else:
            sibling = PLACEHOLDER
        if path & 1:
            node = hash_fn(INTERNAL_TAG + sibling + node)
        else:
            node = hash_fn(INTERNAL_TAG + node + sibling)
        bits >>= 1
        path >>= 1
    return node == root


def check_proof(
    hash_fn: HashFn, root: bytes, key: bytes, value: bytes | None, proof: StateProof
) -> None:
    """Like ``verify_proof`` but raise ``InvalidProof`` instead of returning ``False``."""
    if not verify_proof(hash_fn, root, key, value, proof):
        shown = "absence" if value is None else "value"
        raise InvalidProof(f"state proof does not show the {shown} of key {key.hex()[:64]}")
