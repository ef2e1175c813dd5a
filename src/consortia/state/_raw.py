"""The raw ``key -> value`` tables kept beside the state tree, so reads never walk it.

The Jellyfish Merkle Tree (Gao et al. 2021, §3) only authenticates; reading a
value through it costs a node per nibble. So every version also writes its
values to two plain tables: ``keys``, the latest record of each key in raw-key
order (which serves ``iterate`` as a range scan), and ``history``, each
superseded record keyed by ``H(key) || ~version`` (newest first), for reads at
an older version that has not been pruned. Records::

    keys     b"k" || key          -> live(1) || version(8) || value
    history  H(key) || ~version(8) -> live(1) || value

A deletion leaves a tombstone (``live = 0``) in ``keys`` and the old value in
``history``; ``prune`` drops the tombstone once no kept version can see the value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

import lmdb

from consortia.state._hashing import HASH_SIZE, LEAF_TAG, HashFn
from consortia.state._node_codec import Child
from consortia.state._store import MAX_VERSION, Batches, Tables, append, as_bytes, get, inverted
from consortia.state._writer import Item

__all__ = ["DELETED", "KEY_PREFIX", "LIVE", "Staged", "iterate", "load", "read", "stage", "write"]

LIVE: Final = 1
"""First byte of a record holding a value."""

DELETED: Final = 0
"""First byte of a tombstone."""

KEY_PREFIX: Final = b"k"
"""Prefix of every stored raw key: LMDB forbids empty keys."""


def read(
    txn: lmdb.Transaction, tables: Tables, hash_fn: HashFn, key: bytes, version: int
) -> bytes | None:
    """Value of ``key`` at ``version`` (a stored version), or ``None`` if absent."""
    current = get(txn, KEY_PREFIX + key, tables.keys)
    if current is None:
        return None
    if int.from_bytes(current[1:9], "big") <= version:
        return current[9:] if current[0] == LIVE else None
    return _historic(txn, tables.history, hash_fn(key), version)


def _historic(
    txn: lmdb.Transaction, history: lmdb._Database, key_hash: bytes, version: int
) -> bytes | None:
    cursor = txn.cursor(db=history)
    if not cursor.set_range(key_hash + (MAX_VERSION - version).to_bytes(8, "big")):
        return None
    if cursor.key()[:HASH_SIZE] != key_hash:
        return None
    record = as_bytes(cursor.value())
    return record[1:] if record[0] == LIVE else None


def iterate(
    txn: lmdb.Transaction,
    tables: Tables,
    hash_fn: HashFn,
    version: int,
    prefix: bytes,
    start: bytes,
) -> Iterator[tuple[bytes, bytes]]:
    """``(key, value)`` present at ``version`` under ``prefix``, in key order from ``start``."""
    stored_prefix = KEY_PREFIX + prefix
    cursor = txn.cursor(db=tables.keys)
    if not cursor.set_range(KEY_PREFIX + start):
        return
    for raw_stored_key, raw_record in cursor:
        stored_key = as_bytes(raw_stored_key)
        record = as_bytes(raw_record)
        if not stored_key.startswith(stored_prefix):
            return
        key = stored_key[1:]
        if int.from_bytes(record[1:9], "big") <= version:
            if record[0] == LIVE:
                yield key, record[9:]
        else:
            value = _historic(txn, tables.history, hash_fn(key), version)
            if value is not None:
                yield key, value


class Staged:
    """What ``stage`` found to write for one version.

    ``items`` are the tree updates, in key order (sort them by key hash);
    ``key_puts`` and ``history_puts`` the table records, in key order;
    ``superseded`` the history keys and ``tombstones`` the raw keys this version
    made obsolete, for the stale index.
    """

    __slots__ = ("history_puts", "items", "key_puts", "superseded", "tombstones")

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.key_puts: list[tuple[bytes, bytes]] = []
        self.history_puts: list[tuple[bytes, bytes]] = []
        self.superseded: list[bytes] = []
        self.tombstones: list[bytes] = []


def stage(
    txn: lmdb.Transaction,
    tables: Tables,
    hash_fn: HashFn,
    version_field: bytes,
    updates: Mapping[bytes, bytes | None],
) -> Staged:
    """The records and tree updates that write ``updates`` at ``version_field``.

    Deleting an absent key or rewriting a key with its current value yields nothing.
    """
    staged = Staged()
    items = staged.items
    key_puts = staged.key_puts
    history_puts = staged.history_puts
    superseded = staged.superseded
    tombstones = staged.tombstones
    keys_db = tables.keys
    for key in sorted(updates):
        value = updates[key]
        stored_key = KEY_PREFIX + key
        current = get(txn, stored_key, keys_db)
        if value is None:
            if current is None or current[0] != LIVE:
                continue
            key_hash = hash_fn(key)
            history_key = key_hash + inverted(current[1:9])
            history_puts.append((history_key, current[:1] + current[9:]))
            superseded.append(history_key)
            key_puts.append((stored_key, bytes((DELETED,)) + version_field))
            tombstones.append(key)
            items.append((key_hash, None, None))
            continue
        if current is not None and current[0] == LIVE and current[9:] == value:
            continue
        key_hash = hash_fn(key)
        if current is not None:
            history_key = key_hash + inverted(current[1:9])
            history_puts.append((history_key, current[:1] + current[9:]))
            superseded.append(history_key)
        key_puts.append((stored_key, bytes((LIVE,)) + version_field + value))
        value_hash = hash_fn(value)
        items.append((key_hash, value_hash, hash_fn(LEAF_TAG + key_hash + value_hash)))
    return staged


def write(txn: lmdb.Transaction, tables: Tables, staged: Staged) -> None:
    """Store the table records of ``staged``."""
    if staged.history_puts:
        txn.cursor(db=tables.history).putmulti(staged.history_puts)
    if staged.key_puts:
        txn.cursor(db=tables.keys).putmulti(staged.key_puts)


def load(
    batches: Batches,
    tables: Tables,
    hash_fn: HashFn,
    version_field: bytes,
    updates: Mapping[bytes, bytes | None],
    batch_size: int,
) -> list[Child]:
    """Write the records of a first version, ``batch_size`` per transaction of
    ``batches``; return its tree's 96-byte leaves, in key order.

    An empty tree has no old values: no history, no tombstones.
    """
    live = bytes((LIVE,)) + version_field
    leaves: list[Child] = []
    batch: list[tuple[bytes, bytes]] = []
    for key in sorted(updates):  # key order: the records append to the keys table
        value = updates[key]
        if value is None:
            continue  # deleting an absent key changes nothing
        batch.append((KEY_PREFIX + key, live + value))
        key_hash = hash_fn(key)
        value_hash = hash_fn(value)
        leaves.append(hash_fn(LEAF_TAG + key_hash + value_hash) + key_hash + value_hash)
        if len(batch) == batch_size:
            append(batches.txn, tables.keys, batch)
            batches.next()
            batch.clear()
    if batch:
        append(batches.txn, tables.keys, batch)
    return leaves
