"""Ways to damage a state proof, each of which must make verification fail."""

from __future__ import annotations

from collections.abc import Iterator

from consortia.state import StateProof


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1 :]


def truncated(proof: StateProof) -> StateProof:
    """The same proof with its deepest level removed (bitmap and siblings kept consistent)."""
    depth = proof.depth - 1
    bits = [(proof.bitmap[i // 8] >> (7 - i % 8)) & 1 for i in range(proof.depth)]
    siblings = proof.siblings[:-32] if bits[-1] else proof.siblings
    bits = bits[:-1]
    bitmap = bytearray((depth + 7) // 8)
    for i, b in enumerate(bits):
        bitmap[i // 8] |= b << (7 - i % 8)
    return StateProof(depth, bytes(bitmap), siblings, proof.leaf_key_hash, proof.leaf_value_hash)


def tampered(proof: StateProof) -> Iterator[tuple[str, StateProof]]:
    """Every structural damage we check: flipped sibling, bitmap, leaf hashes, truncation."""
    if proof.siblings:
        yield (
            "flip first sibling",
            StateProof(
                proof.depth,
                proof.bitmap,
                _flip(proof.siblings, 0),
                proof.leaf_key_hash,
                proof.leaf_value_hash,
            ),
        )
        yield (
            "flip last sibling",
            StateProof(
                proof.depth,
                proof.bitmap,
                _flip(proof.siblings, len(proof.siblings) - 1),
                proof.leaf_key_hash,
                proof.leaf_value_hash,
            ),
        )
        yield (
            "siblings cut short",
            StateProof(
                proof.depth,
                proof.bitmap,
                proof.siblings[:-32],
                proof.leaf_key_hash,
                proof.leaf_value_hash,
            ),
        )
    if proof.depth:
        yield "deepest level removed", truncated(proof)
        yield (
            "bitmap flipped",
            StateProof(
                proof.depth,
                _flip(proof.bitmap, 0),
                proof.siblings,
                proof.leaf_key_hash,
                proof.leaf_value_hash,
            ),
        )
    if proof.leaf_key_hash is not None and proof.leaf_value_hash is not None:
        yield (
            "leaf value hash flipped",
            StateProof(
                proof.depth,
                proof.bitmap,
                proof.siblings,
                proof.leaf_key_hash,
                _flip(proof.leaf_value_hash, 31),
            ),
        )
        yield (
            "leaf key hash flipped",
            StateProof(
                proof.depth,
                proof.bitmap,
                proof.siblings,
                _flip(proof.leaf_key_hash, 31),
                proof.leaf_value_hash,
            ),
        )
        yield "leaf dropped", StateProof(proof.depth, proof.bitmap, proof.siblings, None, None)
