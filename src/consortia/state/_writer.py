"""Writing one version of the state tree's nodes (``TreeWriter``).

A write at version ``v`` of the Jellyfish Merkle Tree (Gao et al. 2021, §3.2)
stores new copies of only the nodes on the updated paths, keyed by ``v``, and
leaves every older node in place for older versions; the nodes it replaced are
returned so the stale index can record them for ``prune``. Updates arrive
sorted by key hash, so each node is read, changed and hashed once per version.
A first version is built bottom-up from its leaves alone (``build``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import TypeAlias

import lmdb

from consortia.state._hashing import HashFn
from consortia.state._node_cache import NodeCache
from consortia.state._node_codec import (
    LEAF_SIZE,
    Child,
    Slots,
    decode_node,
    encode_node,
    nibble,
    node_key,
)
from consortia.state._node_hash import Levels, hash_levels
from consortia.state._store import get
from consortia.state.errors import StateError

__all__ = ["Item", "TreeWriter"]

Item: TypeAlias = tuple[bytes, bytes | None, bytes | None]
"""A tree update: ``(key_hash, value_hash or None to delete, leaf_hash or None)``."""


class TreeWriter:
    """Applies one sorted batch of tree updates at one version, collecting writes."""

    __slots__ = (
        "cache",
        "hash_fn",
        "new_nodes",
        "nodes_db",
        "spill",
        "spill_every",
        "stale",
        "txn",
        "version",
        "version_bytes",
    )

    def __init__(
        self,
        txn: lmdb.Transaction,
        nodes_db: lmdb._Database,
        hash_fn: HashFn,
        version: int,
        spill: Callable[[list[tuple[bytes, bytes]]], None] | None = None,
        spill_every: int = 0,
        cache: NodeCache | None = None,
    ) -> None:
        self.txn = txn
        self.cache = cache
        self.nodes_db = nodes_db
        self.hash_fn = hash_fn
        self.version = version
        self.version_bytes = version.to_bytes(8, "big")
        self.new_nodes: list[tuple[bytes, bytes]] = []
        self.stale: list[bytes] = []
        self.spill = spill
        """If set, :meth:`build` hands it every ``spill_every`` new nodes to write."""
        self.spill_every = spill_every

    def load(self, pointer: Child, key_hash: bytes, depth: int) -> tuple[Slots, Levels | None]:
        """A copy of the slots of the node at ``pointer``, with its binary tree if cached."""
        cached = None if self.cache is None else self.cache.get(pointer)
        if cached is not None:
            return list(cached[0]), cached[1]
        version = int.from_bytes(pointer[32:], "big")
        data = get(self.txn, node_key(version, key_hash, depth), self.nodes_db)
        if data is None:
            raise StateError(f"state node missing at version {version} depth {depth}")
        return decode_node(data), None

    def update(
        self,
        child: Child | None,
        items: list[Item],
        key_hashes: list[bytes],
        lo: int,
        hi: int,
        depth: int,
    ) -> Child | None:
        """New content of the subtree ``child`` at nibble ``depth`` after ``items[lo:hi]``."""
        if child is None or len(child) == LEAF_SIZE:
            return self._merge_leaves(child, items, key_hashes, lo, hi, depth)
        key_hash = items[lo][0]
        slots, levels = self.load(child, key_hash, depth)
        changed = 0
        i = lo
        while i < hi:
            n = nibble(key_hashes[i], depth)
            j = i + 1
            while j < hi and nibble(key_hashes[j], depth) == n:
                j += 1
            old = slots[n]
            new = self.update(old, items, key_hashes, i, j, depth + 1)
            if new is not old:
                slots[n] = new
                changed |= 1 << n
            i = j
        if not changed:
            return child
        self.stale.append(node_key(int.from_bytes(child[32:], "big"), key_hash, depth))
        if self.cache is not None:
            self.cache.drop(child)
        return self._finish(slots, key_hash, depth, levels, changed)

    def _finish(
        self, slots: Slots, key_hash: bytes, depth: int, levels: Levels | None, changed: int
    ) -> Child | None:
        present = [c for c in slots if c is not None]
        if not present:
            return None
        if len(present) == 1 and len(present[0]) == LEAF_SIZE:
            return present[0]  # a lone leaf rises to the parent's slot
        return self._written(
            slots, key_hash, depth, hash_levels(self.hash_fn, slots, levels, changed)
        )

    def _written(self, slots: Slots, key_hash: bytes, depth: int, levels: Levels) -> Child:
        """Queue the node ``slots`` for writing (and cache it); return its pointer."""
        pointer = levels.top + self.version_bytes
        self.new_nodes.append((node_key(self.version, key_hash, depth), encode_node(slots)))
        if self.cache is not None:
            self.cache.put(pointer, slots, levels)
        return pointer

    def _merge_leaves(
        self,
        child: Child | None,
        items: list[Item],
        key_hashes: list[bytes],
        lo: int,
        hi: int,
        depth: int,
    ) -> Child | None:
        leaves: list[Child] = [lh + kh + vh for kh, vh, lh in items[lo:hi] if vh and lh]
        if child is not None:
            kh0 = child[32:64]
            at = bisect_left(key_hashes, kh0, lo, hi)
            if at == hi or key_hashes[at] != kh0:
                leaves.append(child)
        if not leaves:
            return None
        if len(leaves) == 1:
            leaf = leaves[0]
            return child if leaf == child else leaf
        return self.build(leaves, depth)

    def build(self, leaves: list[Child], depth: int) -> Child:
        """Fresh subtree at nibble ``depth`` holding ``leaves`` (at least two, in any order).

        Leaves are distributed by nibble, level by level (a radix sort), so a
        million-leaf first version needs no sort keys beside its leaves.
        """
        buckets: list[list[Child]] = [[] for _ in range(16)]
        at = 32 + (depth >> 1)
        if depth & 1:
            for leaf in leaves:
                buckets[leaf[at] & 0x0F].append(leaf)
        else:
            for leaf in leaves:
                buckets[leaf[at] >> 4].append(leaf)
        slots: Slots = [None] * 16
        for n, bucket in enumerate(buckets):
            if len(bucket) == 1:
                slots[n] = bucket[0]
            elif bucket:
                slots[n] = self.build(bucket, depth + 1)
            buckets[n] = []  # free a built bucket before building the next
        pointer = self._written(slots, leaves[0][32:64], depth, hash_levels(self.hash_fn, slots))
        if self.spill is not None and len(self.new_nodes) == self.spill_every:
            self.spill(self.new_nodes)
            self.new_nodes = []
        return pointer
