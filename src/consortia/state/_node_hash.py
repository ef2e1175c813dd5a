"""Hash of a stored 16-slot node: the canonical binary tree over its slots.

The tree stores 16-ary nodes but authenticates the binary sparse Merkle tree of
``_hashing``, as the Jellyfish Merkle Tree does (Gao et al. 2021, §3.1): a
node's hash is the root of the four-level binary tree over its 16 slots, where
a subtree holding one leaf is that leaf and an empty one is ``PLACEHOLDER``.
``hash_levels`` keeps that binary tree (``Levels``) so a node that changes in
one slot rehashes 4 entries instead of up to 15; ``range_hash`` hashes one
subrange, for the siblings of a proof.
"""

from __future__ import annotations

from typing import Final

from consortia.state._hashing import INTERNAL_TAG, PLACEHOLDER, HashFn
from consortia.state._node_codec import LEAF_SIZE, Slots

__all__ = ["LEVELS", "Levels", "hash_levels", "range_hash"]

LEVELS: Final = ((0, 16), (16, 24), (24, 28), (28, 30))
"""The binary tree over a node's 16 slots, as ``(first entry, first parent)`` per
level: entries 0-15 are the slots, 16-23 their parents, ..., 30 the node's hash."""


class Levels:
    """A node's binary Merkle tree: 31 entries (see ``LEVELS``), each a hash or None.

    ``leafy`` marks entries that are a lone leaf risen from below; such an entry
    keeps rising past an empty sibling instead of being hashed (JMT's rule that
    a subtree holding one leaf is that leaf).
    """

    __slots__ = ("hashes", "leafy")

    def __init__(self, hashes: list[bytes | None], leafy: list[bool]) -> None:
        self.hashes = hashes
        self.leafy = leafy

    @property
    def top(self) -> bytes:
        """The node's hash."""
        top = self.hashes[30]
        assert top is not None and not self.leafy[30], "an internal node holds >= 2 keys"
        return top


def hash_levels(
    hash_fn: HashFn, slots: Slots, old: Levels | None = None, changed: int = 0xFFFF
) -> Levels:
    """The binary tree of ``slots``; with ``old`` (the tree before the slots in the
    ``changed`` bit mask were replaced) only the entries above changed slots are
    recomputed: 4 hashes for one changed slot instead of up to 15."""
    if old is None:
        hashes: list[bytes | None] = [None] * 31
        leafy = [False] * 31
        changed = 0xFFFF
    else:
        hashes = old.hashes.copy()
        leafy = old.leafy.copy()
    bits = changed
    while bits:
        n = (bits & -bits).bit_length() - 1
        bits &= bits - 1
        child = slots[n]
        if child is not None:
            hashes[n] = child[:32]
            leafy[n] = len(child) == LEAF_SIZE
        else:
            hashes[n] = None
            leafy[n] = False
    for first, parents in LEVELS:
        above = 0
        bits = changed
        while bits:
            i = ((bits & -bits).bit_length() - 1) >> 1
            bits &= ~(3 << 2 * i)
            above |= 1 << i
            at = first + 2 * i
            left, right = hashes[at], hashes[at + 1]
            out = parents + i
            if right is None:
                if left is None or leafy[at]:
                    hashes[out], leafy[out] = left, leafy[at]
                    continue
                hashes[out] = hash_fn(INTERNAL_TAG + left + PLACEHOLDER)
            elif left is None:
                if leafy[at + 1]:
                    hashes[out], leafy[out] = right, True
                    continue
                hashes[out] = hash_fn(INTERNAL_TAG + PLACEHOLDER + right)
            else:
                hashes[out] = hash_fn(INTERNAL_TAG + left + right)
            leafy[out] = False
        changed = above
    return Levels(hashes, leafy)


def range_hash(hash_fn: HashFn, slots: Slots, lo: int, width: int) -> bytes:
    """Binary hash of slots ``[lo, lo + width)`` (PLACEHOLDER if all empty)."""
    present = [c for c in slots[lo : lo + width] if c is not None]
    if not present:
        return PLACEHOLDER
    if width == 1 or (len(present) == 1 and len(present[0]) == LEAF_SIZE):
        return present[0][:32]
    half = width // 2
    return hash_fn(
        INTERNAL_TAG
        + range_hash(hash_fn, slots, lo, half)
        + range_hash(hash_fn, slots, lo + half, half)
    )
