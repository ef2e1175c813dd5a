"""Building a state proof from the stored nodes of one version.

Walks the 16-ary stored nodes of the Jellyfish Merkle Tree from a version's
root toward ``H(key)`` and emits, per binary level, the sibling hash of the
canonical binary tree (Gao et al. 2021, §4.2), ending at the key's leaf, at
another key's leaf or at an empty subtree. The proof's format and its
verification, which need no storage, are in ``_proof``.
"""

from __future__ import annotations

import lmdb

from consortia.state._hashing import PLACEHOLDER, HashFn
from consortia.state._node_codec import LEAF_SIZE, Child, decode_node, nibble, node_key
from consortia.state._node_hash import range_hash
from consortia.state._proof import StateProof
from consortia.state._store import get
from consortia.state.errors import StateError

__all__ = ["prove"]


def prove(
    txn: lmdb.Transaction,
    nodes_db: lmdb._Database,
    hash_fn: HashFn,
    entry: Child | None,
    key_hash: bytes,
) -> StateProof:
    """Inclusion or exclusion proof of ``key_hash`` in the tree whose root child is ``entry``.

    Raises:
        StateError: a node the version needs is missing (storage damaged).
    """
    siblings: list[bytes] = []
    leaf: Child | None = None
    depth = 0
    while entry is not None:
        if len(entry) == LEAF_SIZE:
            leaf = entry
            break
        node_version = int.from_bytes(entry[32:], "big")
        data = get(txn, node_key(node_version, key_hash, depth), nodes_db)
        if data is None:
            raise StateError(f"state node missing at version {node_version} depth {depth}")
        slots = decode_node(data)
        n = nibble(key_hash, depth)
        lo, width = 0, 16
        entry = None
        while width > 1:
            half = width // 2
            if n < lo + half:
                siblings.append(range_hash(hash_fn, slots, lo + half, half))
            else:
                siblings.append(range_hash(hash_fn, slots, lo, half))
                lo += half
            width = half
            present = [c for c in slots[lo : lo + width] if c is not None]
            if not present:
                break
            if len(present) == 1 and len(present[0]) == LEAF_SIZE:
                entry = present[0]
                break
            if width == 1:
                entry = present[0]
        depth += 1
    bitmap = 0
    real: list[bytes] = []
    for sibling in siblings:
        bitmap <<= 1
        if sibling != PLACEHOLDER:
            bitmap |= 1
            real.append(sibling)
    levels = len(siblings)
    pad = (8 - levels % 8) % 8
    return StateProof(
        depth=levels,
        bitmap=(bitmap << pad).to_bytes((levels + 7) // 8, "big"),
        siblings=b"".join(real),
        leaf_key_hash=None if leaf is None else leaf[32:64],
        leaf_value_hash=None if leaf is None else leaf[64:96],
    )
