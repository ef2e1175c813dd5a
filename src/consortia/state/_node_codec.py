"""Stored form of the state tree's nodes: the 16-slot node, its child slots and its key.

The Jellyfish Merkle Tree of Diem (Gao et al., "Jellyfish Merkle Tree", 2021,
§3) stores 16-ary internal nodes, one level per nibble of the key hash, and
keys each node by ``(version, nibble path)`` so a write never overwrites a node
an older version reads. Leaves are not stored on their own: each lives in its
parent's slot. The byte layouts are in docs/state.md; decoding checks that a
node is exactly as long as its header says.
"""

from __future__ import annotations

from typing import Final, TypeAlias

from consortia.state.errors import StateError

__all__ = [
    "INTERNAL_SIZE",
    "LEAF_SIZE",
    "Child",
    "Slots",
    "decode_node",
    "decode_root",
    "encode_node",
    "nibble",
    "node_key",
]

Child: TypeAlias = bytes
"""One child slot of an internal node, in its stored form.

A leaf is 96 bytes ``leaf_hash || key_hash || value_hash`` (leaves live inside
their parent); a pointer to a stored internal node is 40 bytes
``node_hash || version(8)``. Either way the child's hash is the first 32 bytes.
"""

Slots: TypeAlias = list[Child | None]
"""The 16 child slots of an internal node, indexed by nibble; ``None`` is empty."""

LEAF_SIZE: Final = 96
"""Bytes of a leaf slot."""

INTERNAL_SIZE: Final = 40
"""Bytes of a pointer to a stored internal node."""


def nibble(key_hash: bytes, depth: int) -> int:
    """The nibble of ``key_hash`` at ``depth`` (0 is the high nibble of byte 0)."""
    byte = key_hash[depth >> 1]
    return byte & 0x0F if depth & 1 else byte >> 4


def node_key(version: int, key_hash: bytes, depth: int) -> bytes:
    """Storage key of the internal node at nibble ``depth`` on ``key_hash``'s path."""
    prefix = key_hash[: (depth + 1) >> 1]
    if depth & 1:
        prefix = prefix[:-1] + bytes((prefix[-1] & 0xF0,))
    return version.to_bytes(8, "big") + bytes((depth,)) + prefix


def decode_node(data: bytes) -> Slots:
    """The slots of a stored node: ``present(2) || leaves(2) || children``.

    Raises:
        StateError: the bitmaps and the length disagree.
    """
    present = (data[0] << 8) | data[1]
    leaves = (data[2] << 8) | data[3]
    slots: Slots = [None] * 16
    pos = 4
    for n in range(16):
        bit = 1 << n
        if present & bit:
            end = pos + (LEAF_SIZE if leaves & bit else INTERNAL_SIZE)
            slots[n] = data[pos:end]
            pos = end
    if pos != len(data) or leaves & ~present:
        raise StateError("corrupt state node")
    return slots


def encode_node(slots: Slots) -> bytes:
    """The stored form of ``slots`` (see ``decode_node``)."""
    present = 0
    leaves = 0
    for n, child in enumerate(slots):
        if child is not None:
            present |= 1 << n
            if len(child) == LEAF_SIZE:
                leaves |= 1 << n
    return (
        present.to_bytes(2, "big")
        + leaves.to_bytes(2, "big")
        + b"".join([c for c in slots if c is not None])
    )


def decode_root(data: bytes) -> Child | None:
    """The root child of a version's root record (empty: the empty tree).

    Raises:
        StateError: the record is neither empty nor one child.
    """
    if not data:
        return None
    if len(data) in (LEAF_SIZE, INTERNAL_SIZE):
        return data
    raise StateError("corrupt state root record")
