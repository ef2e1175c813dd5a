"""Versioned, authenticated key-value state stored in LMDB.

Implements the Jellyfish Merkle Tree of Diem (Gao et al., "Jellyfish Merkle
Tree", 2021): a sparse Merkle tree over ``H(key)`` whose *stored* nodes are
16-ary (one per nibble of the key hash) while its *hash* is that of the
canonical binary tree (``_hashing``), so proofs carry binary siblings only.
Nodes are immutable and keyed by ``(version, nibble path)``; a write at
version ``v`` stores only the nodes on the updated paths and records every
node it replaced in a stale-node index, which ``prune`` uses to drop what only
older versions can reach (JMT §3.3).

Beside the tree, the raw ``key -> value`` mapping is kept so that ``get``
never walks the tree: a latest-value table in raw-key order (which also serves
``iterate``) and a history of superseded values, keyed by key hash and
version, for reads at any version that has not been pruned.

Every write goes through a caller-owned LMDB write transaction, so a block's
ledger and state commit (or abort) together. Between versions the tree keeps
only the nodes it recently wrote, decoded and with their binary hashes, keyed
by their own hash (``_NodeCache``), so an aborted transaction cannot leave a
wrong entry behind.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeAlias

import lmdb

from consortia.state._hashing import (
    HASH_SIZE,
    INTERNAL_TAG,
    LEAF_TAG,
    PLACEHOLDER,
    HashFn,
    check_hash_fn,
)
from consortia.state._proof import StateProof
from consortia.state.errors import InvalidVersion, StateError, VersionNotFound

__all__ = ["MAX_KEY_SIZE", "MAX_VALUE_SIZE", "NODE_CACHE_SIZE", "StateTree"]

MAX_KEY_SIZE: Final = 256
"""Longest raw key accepted, in bytes."""

MAX_VALUE_SIZE: Final = 1 << 20
"""Longest value accepted, in bytes (1 MiB)."""

Child: TypeAlias = bytes
"""One child slot of an internal node, in its stored form.

A leaf is 96 bytes ``leaf_hash || key_hash || value_hash`` (leaves live inside
their parent); a pointer to a stored internal node is 40 bytes
``node_hash || version(8)``. Either way the child's hash is the first 32 bytes.
"""

Slots: TypeAlias = list[Child | None]

_LEAF_SIZE: Final = 96
_INTERNAL_SIZE: Final = 40

_MAX_VERSION: Final = (1 << 64) - 1

# Record tags.
_LIVE: Final = 1
_DELETED: Final = 0
_STALE_NODE: Final = b"\x00"
_STALE_HISTORY: Final = b"\x01"
_STALE_TOMBSTONE: Final = b"\x02"
_KEY_PREFIX: Final = b"k"  # LMDB forbids empty keys; every raw key is stored as b"k" + key.

_LOAD_BATCH: Final = 16_384
"""Key records or tree nodes a first version writes at a time (see ``StateTree._load``)."""

NODE_CACHE_SIZE: Final = 16_384
"""Decoded nodes a tree keeps between versions by default (about 3 KiB each)."""

_Item: TypeAlias = tuple[bytes, bytes | None, bytes | None]
"""A tree update: ``(key_hash, value_hash or None to delete, leaf_hash or None)``."""


def _get(txn: lmdb.Transaction, key: bytes, db: lmdb._Database) -> bytes | None:
    """``txn.get`` that also works for transactions begun with ``buffers=True``."""
    data = txn.get(key, db=db)
    if data is None or isinstance(data, bytes):
        return data
    return bytes(data)


def _bytes(data: bytes | memoryview) -> bytes:
    return data if isinstance(data, bytes) else bytes(data)


def _vbytes(version: int) -> bytes:
    return version.to_bytes(8, "big")


def _inverted(version_bytes: bytes) -> bytes:
    return (_MAX_VERSION - int.from_bytes(version_bytes, "big")).to_bytes(8, "big")


def _nibble(key_hash: bytes, depth: int) -> int:
    byte = key_hash[depth >> 1]
    return byte & 0x0F if depth & 1 else byte >> 4


def _node_key(version: int, key_hash: bytes, depth: int) -> bytes:
    """Storage key of the internal node at nibble ``depth`` on ``key_hash``'s path."""
    prefix = key_hash[: (depth + 1) >> 1]
    if depth & 1:
        prefix = prefix[:-1] + bytes((prefix[-1] & 0xF0,))
    return version.to_bytes(8, "big") + bytes((depth,)) + prefix


def _decode_node(data: bytes) -> Slots:
    present = (data[0] << 8) | data[1]
    leaves = (data[2] << 8) | data[3]
    slots: Slots = [None] * 16
    pos = 4
    for n in range(16):
        bit = 1 << n
        if present & bit:
            end = pos + (_LEAF_SIZE if leaves & bit else _INTERNAL_SIZE)
            slots[n] = data[pos:end]
            pos = end
    if pos != len(data) or leaves & ~present:
        raise StateError("corrupt state node")
    return slots


def _encode_node(slots: Slots) -> bytes:
    present = 0
    leaves = 0
    for n, child in enumerate(slots):
        if child is not None:
            present |= 1 << n
            if len(child) == _LEAF_SIZE:
                leaves |= 1 << n
    return (
        present.to_bytes(2, "big")
        + leaves.to_bytes(2, "big")
        + b"".join([c for c in slots if c is not None])
    )


_LEVELS: Final = ((0, 16), (16, 24), (24, 28), (28, 30))
"""The binary tree over a node's 16 slots, as ``(first entry, first parent)`` per
level: entries 0-15 are the slots, 16-23 their parents, ..., 30 the node's hash."""


class _Levels:
    """A node's binary Merkle tree: 31 entries (see ``_LEVELS``), each a hash or None.

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


def _hash_levels(
    hash_fn: HashFn, slots: Slots, old: _Levels | None = None, changed: int = 0xFFFF
) -> _Levels:
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
            leafy[n] = len(child) == _LEAF_SIZE
        else:
            hashes[n] = None
            leafy[n] = False
    for first, parents in _LEVELS:
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
    return _Levels(hashes, leafy)


def _range_hash(hash_fn: HashFn, slots: Slots, lo: int, width: int) -> bytes:
    """Binary hash of slots ``[lo, lo + width)`` (PLACEHOLDER if all empty)."""
    present = [c for c in slots[lo : lo + width] if c is not None]
    if not present:
        return PLACEHOLDER
    if width == 1 or (len(present) == 1 and len(present[0]) == _LEAF_SIZE):
        return present[0][:32]
    half = width // 2
    return hash_fn(
        INTERNAL_TAG
        + _range_hash(hash_fn, slots, lo, half)
        + _range_hash(hash_fn, slots, lo + half, half)
    )


def _decode_root(data: bytes) -> Child | None:
    if not data:
        return None
    if len(data) in (_LEAF_SIZE, _INTERNAL_SIZE):
        return data
    raise StateError("corrupt state root record")


def _check_key(key: object) -> bytes:
    if not isinstance(key, bytes):
        raise StateError(f"state keys must be bytes, not {type(key).__name__}")
    if len(key) > MAX_KEY_SIZE:
        raise StateError(f"state key of {len(key)} bytes exceeds {MAX_KEY_SIZE}")
    return key


def _check_version(version: object) -> int:
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise InvalidVersion(f"version must be a non-negative int, got {version!r}")
    if version > _MAX_VERSION - 1:
        raise InvalidVersion(f"version {version} does not fit in 64 bits")
    return version


def _check_updates(updates: Mapping[bytes, bytes | None]) -> None:
    for key, value in updates.items():
        _check_key(key)
        if value is not None:
            if not isinstance(value, bytes):
                raise StateError(f"state values must be bytes, not {type(value).__name__}")
            if len(value) > MAX_VALUE_SIZE:
                raise StateError(f"state value of {len(value)} bytes exceeds 1 MiB")


class _Batches:
    """The write transaction a first version is written in: the caller's own, or
    with ``env``, a new one of ``env`` after every batch (see ``StateTree.load``)."""

    __slots__ = ("_env", "txn")

    def __init__(self, txn: lmdb.Transaction, env: lmdb.Environment | None = None) -> None:
        self.txn = txn
        self._env = env

    def next(self) -> None:
        """A batch is written: with an environment, commit it and begin the next."""
        if self._env is not None:
            self.txn.commit()
            self.txn = self._env.begin(write=True)


class _NodeCache:
    """Decoded nodes and their binary trees by child pointer (``node_hash || version``).

    Kept by a tree between versions, so the nodes a block rewrote are neither
    read nor hashed again in full by the next block that updates them: the
    hot paths of a large state stay decoded, and a changed slot rehashes 4
    entries of its node instead of up to 15. A pointer names one content (its
    hash), so no entry is ever stale: not after an aborted write transaction,
    and not after ``prune`` (updates start from the latest root, whose nodes
    pruning keeps). Entries are dropped oldest first past ``limit``, and as
    soon as the node they hold is replaced.
    """

    __slots__ = ("_entries", "_limit")

    def __init__(self, limit: int) -> None:
        self._entries: dict[bytes, tuple[Slots, _Levels]] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, pointer: bytes) -> tuple[Slots, _Levels] | None:
        """The node under ``pointer``; callers must not change its slots."""
        return self._entries.get(pointer)

    def put(self, pointer: bytes, slots: Slots, levels: _Levels) -> None:
        """Remember a node just written (its slots are no longer changed)."""
        entries = self._entries
        if len(entries) >= self._limit:
            del entries[next(iter(entries))]
        entries[pointer] = (slots, levels)

    def drop(self, pointer: bytes) -> None:
        """Forget a node the latest version replaced."""
        self._entries.pop(pointer, None)


class _TreeWriter:
    """Applies one sorted batch of tree updates at one version, collecting writes."""

    __slots__ = (
        "cache",
        "hash_fn",
        "new_nodes",
        "nodes_db",
        "spill",
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
        cache: _NodeCache | None = None,
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
        """If set, :meth:`build` hands it every ``_LOAD_BATCH`` new nodes to write."""

    def load(self, pointer: Child, key_hash: bytes, depth: int) -> tuple[Slots, _Levels | None]:
        """A copy of the slots of the node at ``pointer``, with its binary tree if cached."""
        cached = None if self.cache is None else self.cache.get(pointer)
        if cached is not None:
            return list(cached[0]), cached[1]
        version = int.from_bytes(pointer[32:], "big")
        data = _get(self.txn, _node_key(version, key_hash, depth), self.nodes_db)
        if data is None:
            raise StateError(f"state node missing at version {version} depth {depth}")
        return _decode_node(data), None

    def update(
        self,
        child: Child | None,
        items: list[_Item],
        key_hashes: list[bytes],
        lo: int,
        hi: int,
        depth: int,
    ) -> Child | None:
        """New content of the subtree ``child`` at nibble ``depth`` after ``items[lo:hi]``."""
        if child is None or len(child) == _LEAF_SIZE:
            return self._merge_leaves(child, items, key_hashes, lo, hi, depth)
        key_hash = items[lo][0]
        slots, levels = self.load(child, key_hash, depth)
        changed = 0
        i = lo
        while i < hi:
            n = _nibble(key_hashes[i], depth)
            j = i + 1
            while j < hi and _nibble(key_hashes[j], depth) == n:
                j += 1
            old = slots[n]
            new = self.update(old, items, key_hashes, i, j, depth + 1)
            if new is not old:
                slots[n] = new
                changed |= 1 << n
            i = j
        if not changed:
            return child
        self.stale.append(_node_key(int.from_bytes(child[32:], "big"), key_hash, depth))
        if self.cache is not None:
            self.cache.drop(child)
        return self._finish(slots, key_hash, depth, levels, changed)

    def _finish(
        self, slots: Slots, key_hash: bytes, depth: int, levels: _Levels | None, changed: int
    ) -> Child | None:
        present = [c for c in slots if c is not None]
        if not present:
            return None
        if len(present) == 1 and len(present[0]) == _LEAF_SIZE:
            return present[0]  # a lone leaf rises to the parent's slot
        return self._written(
            slots, key_hash, depth, _hash_levels(self.hash_fn, slots, levels, changed)
        )

    def _written(self, slots: Slots, key_hash: bytes, depth: int, levels: _Levels) -> Child:
        """Queue the node ``slots`` for writing (and cache it); return its pointer."""
        pointer = levels.top + self.version_bytes
        self.new_nodes.append((_node_key(self.version, key_hash, depth), _encode_node(slots)))
        if self.cache is not None:
            self.cache.put(pointer, slots, levels)
        return pointer

    def _merge_leaves(
        self,
        child: Child | None,
        items: list[_Item],
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
        pointer = self._written(slots, leaves[0][32:64], depth, _hash_levels(self.hash_fn, slots))
        if self.spill is not None and len(self.new_nodes) == _LOAD_BATCH:
            self.spill(self.new_nodes)
            self.new_nodes = []
        return pointer


class StateTree:
    """Versioned authenticated map ``bytes -> bytes`` in one LMDB environment.

    Versions are block heights: ``apply`` writes version 0 first, then each
    next integer. Reads at any version from the oldest kept (see ``prune``) to
    the latest are supported: ``root``, ``get``, ``prove`` and ``iterate``.

    Named databases (``name`` + suffix) in the caller's environment:

    ``.nodes``   ``version(8) || depth(1) || path`` -> 16-slot internal node
    ``.roots``   ``version(8)`` -> root record
    ``.stale``   ``stale_since(8) || kind(1) || target`` -> empty (pruning index)
    ``.keys``    ``b"k" || key`` -> ``live(1) || version(8) || value`` (latest values)
    ``.history`` ``H(key) || ~version(8)`` -> ``live(1) || value`` (superseded values)
    """

    def __init__(
        self,
        env: lmdb.Environment,
        hash_fn: HashFn,
        *,
        name: bytes = b"state",
        txn: lmdb.Transaction | None = None,
        node_cache: int = NODE_CACHE_SIZE,
    ) -> None:
        """Open (creating if needed) the tree's named databases in ``env``.

        Parameters:
            env: the node's environment, opened with ``max_dbs >= 16``.
            hash_fn: 32-byte hash (SM3 or SHA-256), used for keys, values and nodes.
            name: prefix of the named databases, so several trees can share ``env``.
            txn: a write transaction to create the databases in; without one, a
                short write transaction of its own is used (so do not hold another
                write transaction in this thread). If ``txn`` aborts, the handles die.
            node_cache: most nodes kept decoded between versions (0: none); see
                ``_NodeCache``. The default holds the top four levels of a
                million-key tree.

        Raises:
            StateError: ``hash_fn`` does not return 32 bytes or the databases cannot open.
        """
        check_hash_fn(hash_fn)
        self._env = env
        self._hash = hash_fn
        self._node_cache = _NodeCache(node_cache) if node_cache > 0 else None
        try:
            if txn is None:
                with env.begin(write=True) as own:
                    self._open(env, own, name)
            else:
                self._open(env, txn, name)
        except lmdb.Error as exc:
            raise StateError(f"cannot open state databases {name!r}: {exc}") from None

    def _open(self, env: lmdb.Environment, txn: lmdb.Transaction, name: bytes) -> None:
        self._nodes = env.open_db(name + b".nodes", txn=txn)
        self._roots = env.open_db(name + b".roots", txn=txn)
        self._stale = env.open_db(name + b".stale", txn=txn)
        self._keys = env.open_db(name + b".keys", txn=txn)
        self._history = env.open_db(name + b".history", txn=txn)
        self._side = env.open_db(name + b".side", txn=txn)

    @property
    def side_db(self) -> Any:
        """A plain key-value database beside the tree, written in the same transactions.

        For content-addressed data whose root is kept *in* the tree, so the tree's
        root still commits to it: the EVM's Ethereum trie nodes (DESIGN.md §3).
        Keys must be collision-free by construction (e.g. node hashes).
        """
        return self._side

    # ----------------------------------------------------------------- versions

    def latest_version(self, txn: lmdb.Transaction) -> int | None:
        """The newest committed version, or ``None`` before the first ``apply``."""
        cursor = txn.cursor(db=self._roots)
        if not cursor.last():
            return None
        return int.from_bytes(cursor.key(), "big")

    def oldest_version(self, txn: lmdb.Transaction) -> int | None:
        """The oldest version still readable (raised by ``prune``), or ``None`` if empty."""
        cursor = txn.cursor(db=self._roots)
        if not cursor.first():
            return None
        return int.from_bytes(cursor.key(), "big")

    def _root_entry(self, txn: lmdb.Transaction, version: int) -> Child | None:
        _check_version(version)
        data = _get(txn, _vbytes(version), self._roots)
        if data is None:
            raise VersionNotFound(
                f"state version {version} is not stored (never written or pruned)"
            )
        return _decode_root(data)

    def root(self, txn: lmdb.Transaction, version: int) -> bytes:
        """Root hash at ``version`` (``PLACEHOLDER``, 32 zero bytes, for an empty state).

        Raises:
            VersionNotFound: ``version`` was never written or has been pruned.
        """
        entry = self._root_entry(txn, version)
        return PLACEHOLDER if entry is None else entry[:32]

    def _resolve(self, txn: lmdb.Transaction, version: int | None) -> int | None:
        if version is None:
            return self.latest_version(txn)
        _check_version(version)
        if txn.get(_vbytes(version), db=self._roots) is None:
            raise VersionNotFound(
                f"state version {version} is not stored (never written or pruned)"
            )
        return version

    # -------------------------------------------------------------------- reads

    def get(self, txn: lmdb.Transaction, key: bytes, version: int | None = None) -> bytes | None:
        """Value of ``key`` at ``version`` (latest if ``None``), or ``None`` if absent.

        Raises:
            VersionNotFound: ``version`` was never written or has been pruned.
            StateError: ``key`` is not bytes of at most 256 bytes.
        """
        _check_key(key)
        resolved = self._resolve(txn, version)
        if resolved is None:
            return None
        return self._read(txn, key, resolved)

    def reader(self, txn: lmdb.Transaction, version: int) -> Callable[[bytes], bytes | None]:
        """``get`` at ``version`` with the version checked once, for a block's many reads.

        Raises:
            VersionNotFound: ``version`` was never written or has been pruned.
        """
        resolved = self._resolve(txn, version)
        assert resolved is not None, "an explicit version resolves to itself"

        def read(key: bytes) -> bytes | None:
            _check_key(key)
            return self._read(txn, key, resolved)

        return read

    def _read(self, txn: lmdb.Transaction, key: bytes, resolved: int) -> bytes | None:
        current = _get(txn, _KEY_PREFIX + key, self._keys)
        if current is None:
            return None
        if int.from_bytes(current[1:9], "big") <= resolved:
            return current[9:] if current[0] == _LIVE else None
        return self._historic(txn, self._hash(key), resolved)

    def _historic(self, txn: lmdb.Transaction, key_hash: bytes, version: int) -> bytes | None:
        cursor = txn.cursor(db=self._history)
        if not cursor.set_range(key_hash + (_MAX_VERSION - version).to_bytes(8, "big")):
            return None
        if cursor.key()[:HASH_SIZE] != key_hash:
            return None
        record = _bytes(cursor.value())
        return record[1:] if record[0] == _LIVE else None

    def iterate(
        self,
        txn: lmdb.Transaction,
        version: int | None,
        prefix: bytes = b"",
        *,
        start: bytes = b"",
    ) -> Iterator[tuple[bytes, bytes]]:
        """All ``(key, value)`` present at ``version`` whose key starts with ``prefix``.

        Yields in raw-key byte order from ``max(prefix, start)`` on, streaming
        from a cursor (keep ``txn`` open while iterating). At the latest version
        this is a plain range scan; at an older one each key changed since is
        looked up in the history. ``start`` lets a caller resume a long scan
        (state snapshots are served in chunks).

        Raises:
            VersionNotFound: ``version`` was never written or has been pruned.
        """
        if not isinstance(prefix, bytes) or not isinstance(start, bytes):
            raise StateError("prefix and start must be bytes")
        resolved = self._resolve(txn, version)
        if resolved is None:
            return iter(())
        return self._iterate(txn, resolved, prefix, max(prefix, start))

    def _iterate(
        self, txn: lmdb.Transaction, version: int, prefix: bytes, start: bytes
    ) -> Iterator[tuple[bytes, bytes]]:
        stored_prefix = _KEY_PREFIX + prefix
        cursor = txn.cursor(db=self._keys)
        if not cursor.set_range(_KEY_PREFIX + start):
            return
        for raw_stored_key, raw_record in cursor:
            stored_key = _bytes(raw_stored_key)
            record = _bytes(raw_record)
            if not stored_key.startswith(stored_prefix):
                return
            key = stored_key[1:]
            if int.from_bytes(record[1:9], "big") <= version:
                if record[0] == _LIVE:
                    yield key, record[9:]
            else:
                value = self._historic(txn, self._hash(key), version)
                if value is not None:
                    yield key, value

    # ------------------------------------------------------------------- writes

    def apply(
        self, txn: lmdb.Transaction, version: int, updates: Mapping[bytes, bytes | None]
    ) -> bytes:
        """Write ``updates`` (``None`` deletes) as ``version`` and return its root.

        ``version`` must be 0 for the first write and ``latest + 1`` after. Keys
        are processed in sorted order, so the result depends only on the
        contents of ``updates``. Deleting an absent key or rewriting a key with
        its current value changes nothing.

        Raises:
            InvalidVersion: ``version`` is not the next version.
            StateError: a key or value has the wrong type or size, or storage is corrupt.
        """
        _check_version(version)
        latest = self.latest_version(txn)
        expected = 0 if latest is None else latest + 1
        if version != expected:
            raise InvalidVersion(f"state version {version} applied; expected {expected}")
        return self._apply(txn, version, updates, latest)

    def restore(self, txn: lmdb.Transaction, version: int, items: Mapping[bytes, bytes]) -> bytes:
        """Write a complete state snapshot as the first version ``version``; return its root.

        For a node that starts from a verified snapshot instead of replaying
        from genesis: the tree must be empty, and the caller compares the
        returned root with a certified one before committing ``txn``.

        Raises:
            InvalidVersion: the tree already holds a version.
        """
        _check_version(version)
        latest = self.latest_version(txn)
        if latest is not None:
            raise InvalidVersion(f"restore needs an empty tree; it holds version {latest}")
        return self._apply(txn, version, items, None)

    def load(
        self, env: lmdb.Environment, version: int, updates: Mapping[bytes, bytes | None]
    ) -> bytes:
        """Write ``updates`` as version ``version`` of an empty tree over several
        write transactions of ``env``; return its root.

        For a first version too large for one transaction: a million-account
        genesis would hold 300 MiB of dirty pages in one. Records are committed
        in batches and the root record last, so the tree holds no version until
        this returns. If it does not return, ``env`` holds partial records and
        must be discarded (the node installs a genesis into a staging directory).
        The root is the one :meth:`apply` computes for the same ``updates``.

        Raises:
            InvalidVersion: the tree already holds a version.
            StateError: as for :meth:`apply`.
        """
        _check_version(version)
        _check_updates(updates)
        with env.begin() as txn:
            latest = self.latest_version(txn)
        if latest is not None:
            raise InvalidVersion(f"load needs an empty tree; it holds version {latest}")
        batches = _Batches(env.begin(write=True), env)
        try:
            root = self._load(batches, version, updates)
        except BaseException:
            batches.txn.abort()
            raise
        batches.txn.commit()
        return root

    def _apply(
        self,
        txn: lmdb.Transaction,
        version: int,
        updates: Mapping[bytes, bytes | None],
        latest: int | None,
    ) -> bytes:
        _check_updates(updates)
        if latest is None:
            return self._load(_Batches(txn), version, updates)
        root_entry = self._root_entry(txn, latest)

        hash_fn = self._hash
        vb = _vbytes(version)
        keys_db = self._keys
        items: list[_Item] = []
        key_puts: list[tuple[bytes, bytes]] = []
        history_puts: list[tuple[bytes, bytes]] = []
        stale: list[bytes] = []
        for key in sorted(updates):
            value = updates[key]
            stored_key = _KEY_PREFIX + key
            current = _get(txn, stored_key, keys_db)
            if value is None:
                if current is None or current[0] != _LIVE:
                    continue
                key_hash = hash_fn(key)
                history_key = key_hash + _inverted(current[1:9])
                history_puts.append((history_key, current[:1] + current[9:]))
                stale.append(vb + _STALE_HISTORY + history_key)
                key_puts.append((stored_key, bytes((_DELETED,)) + vb))
                stale.append(vb + _STALE_TOMBSTONE + key)
                items.append((key_hash, None, None))
                continue
            if current is not None and current[0] == _LIVE and current[9:] == value:
                continue
            key_hash = hash_fn(key)
            if current is not None:
                history_key = key_hash + _inverted(current[1:9])
                history_puts.append((history_key, current[:1] + current[9:]))
                stale.append(vb + _STALE_HISTORY + history_key)
            key_puts.append((stored_key, bytes((_LIVE,)) + vb + value))
            value_hash = hash_fn(value)
            items.append((key_hash, value_hash, hash_fn(LEAF_TAG + key_hash + value_hash)))

        new_root = root_entry
        if items:
            items.sort(key=lambda item: item[0])
            key_hashes = [item[0] for item in items]
            writer = _TreeWriter(txn, self._nodes, hash_fn, version, cache=self._node_cache)
            new_root = writer.update(root_entry, items, key_hashes, 0, len(items), 0)
            writer.new_nodes.sort()
            self._append(txn, self._nodes, writer.new_nodes)
            stale.extend(vb + _STALE_NODE + node_key for node_key in writer.stale)
        if stale:
            stale.sort()
            self._append(txn, self._stale, [(k, b"") for k in stale])
        if history_puts:
            txn.cursor(db=self._history).putmulti(history_puts)
        if key_puts:
            txn.cursor(db=keys_db).putmulti(key_puts)
        txn.put(vb, b"" if new_root is None else new_root, db=self._roots)
        return PLACEHOLDER if new_root is None else new_root[:32]

    def _load(
        self, batches: _Batches, version: int, updates: Mapping[bytes, bytes | None]
    ) -> bytes:
        """:meth:`_apply` for an empty tree, in memory a large first version can afford.

        An empty tree has no old values, history or stale nodes: key records
        are written in batches as they are made, the tree is built from the
        96-byte leaves alone, and its nodes are written as they are built.
        This holds about a third of what the general path does per key (a
        million-account genesis; a snapshot restore). The result is the same.
        """
        hash_fn = self._hash
        vb = _vbytes(version)
        live = bytes((_LIVE,)) + vb
        leaves: list[Child] = []
        batch: list[tuple[bytes, bytes]] = []
        for key in sorted(updates):  # key order: the records append to the keys table
            value = updates[key]
            if value is None:
                continue  # deleting an absent key changes nothing
            batch.append((_KEY_PREFIX + key, live + value))
            key_hash = hash_fn(key)
            value_hash = hash_fn(value)
            leaves.append(hash_fn(LEAF_TAG + key_hash + value_hash) + key_hash + value_hash)
            if len(batch) == _LOAD_BATCH:
                self._append(batches.txn, self._keys, batch)
                batches.next()
                batch.clear()
        if batch:
            self._append(batches.txn, self._keys, batch)

        def write_nodes(nodes: list[tuple[bytes, bytes]]) -> None:
            nodes.sort()
            _, added = batches.txn.cursor(db=self._nodes).putmulti(nodes, overwrite=False)
            if added != len(nodes):
                raise StateError("state nodes for this version already exist")
            batches.next()

        root: Child | None = None
        if len(leaves) == 1:
            root = leaves[0]
        elif leaves:
            writer = _TreeWriter(batches.txn, self._nodes, hash_fn, version, spill=write_nodes)
            root = writer.build(leaves, 0)
            write_nodes(writer.new_nodes)
        batches.txn.put(vb, b"" if root is None else root, db=self._roots)
        return PLACEHOLDER if root is None else root[:32]

    @staticmethod
    def _append(
        txn: lmdb.Transaction, db: lmdb._Database, records: list[tuple[bytes, bytes]]
    ) -> None:
        """Bulk-append ``records`` (sorted, all past the last stored key)."""
        _, added = txn.cursor(db=db).putmulti(records, append=True)
        if added != len(records):
            raise StateError("state index out of order: records for this version already exist")

    def prune(self, txn: lmdb.Transaction, keep_from_version: int) -> int:
        """Drop what only versions below ``keep_from_version`` can reach.

        Afterwards versions ``< keep_from_version`` raise ``VersionNotFound``
        and every later version is still fully readable and provable.

        Returns:
            The number of tree nodes deleted (superseded values and tombstones
            are deleted too, but not counted).

        Raises:
            InvalidVersion: ``keep_from_version`` is negative or past the latest version.
        """
        _check_version(keep_from_version)
        latest = self.latest_version(txn)
        if latest is None or keep_from_version > latest:
            raise InvalidVersion(
                f"cannot prune below {keep_from_version}: latest state version is {latest}"
            )
        deleted = 0
        cursor = txn.cursor(db=self._stale)
        while cursor.first():
            stale_key = _bytes(cursor.key())
            if int.from_bytes(stale_key[:8], "big") > keep_from_version:
                break
            kind = stale_key[8:9]
            target = stale_key[9:]
            if kind == _STALE_NODE:
                if txn.delete(target, db=self._nodes):
                    deleted += 1
            elif kind == _STALE_HISTORY:
                txn.delete(target, db=self._history)
            else:
                stored_key = _KEY_PREFIX + target
                if _get(txn, stored_key, self._keys) == bytes((_DELETED,)) + stale_key[:8]:
                    txn.delete(stored_key, db=self._keys)
            cursor.delete()
        roots = txn.cursor(db=self._roots)
        while roots.first() and int.from_bytes(roots.key(), "big") < keep_from_version:
            roots.delete()
        return deleted

    # ------------------------------------------------------------------- proofs

    def prove(self, txn: lmdb.Transaction, key: bytes, version: int) -> StateProof:
        """Inclusion proof of ``key`` at ``version`` if present, exclusion proof otherwise.

        Raises:
            VersionNotFound: ``version`` was never written or has been pruned.
            StateError: a node the version needs is missing (storage damaged).
        """
        _check_key(key)
        entry = self._root_entry(txn, version)
        hash_fn = self._hash
        key_hash = hash_fn(key)
        siblings: list[bytes] = []
        leaf: Child | None = None
        depth = 0
        while entry is not None:
            if len(entry) == _LEAF_SIZE:
                leaf = entry
                break
            node_version = int.from_bytes(entry[32:], "big")
            data = _get(txn, _node_key(node_version, key_hash, depth), self._nodes)
            if data is None:
                raise StateError(f"state node missing at version {node_version} depth {depth}")
            slots = _decode_node(data)
            n = _nibble(key_hash, depth)
            lo, width = 0, 16
            entry = None
            while width > 1:
                half = width // 2
                if n < lo + half:
                    siblings.append(_range_hash(hash_fn, slots, lo + half, half))
                else:
                    siblings.append(_range_hash(hash_fn, slots, lo, half))
                    lo += half
                width = half
                present = [c for c in slots[lo : lo + width] if c is not None]
                if not present:
                    break
                if len(present) == 1 and len(present[0]) == _LEAF_SIZE:
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
