"""The stale index and pruning: dropping what only old versions of the state can reach.

As in the Jellyfish Merkle Tree (Gao et al. 2021, §3.3), a version records
every record it made obsolete, keyed by that version, in the ``stale`` table::

    stale_since(8) || kind(1) || target -> empty

``kind`` is a replaced tree node (``target`` its node key), a superseded value
(its history key) or a tombstone (the raw key). Pruning up to version ``v``
walks the index from its start and deletes each target whose ``stale_since`` is
at most ``v``, so versions from ``v`` on stay complete without a tree walk.
"""

from __future__ import annotations

from typing import Final

import lmdb

from consortia.state._raw import DELETED, KEY_PREFIX
from consortia.state._store import Tables, as_bytes, get

__all__ = ["STALE_HISTORY", "STALE_NODE", "STALE_TOMBSTONE", "prune", "stale_records"]

STALE_NODE: Final = b"\x00"
"""Kind of a replaced tree node."""

STALE_HISTORY: Final = b"\x01"
"""Kind of a superseded value in the history table."""

STALE_TOMBSTONE: Final = b"\x02"
"""Kind of a tombstone in the keys table."""


def stale_records(
    version_field: bytes, nodes: list[bytes], superseded: list[bytes], tombstones: list[bytes]
) -> list[tuple[bytes, bytes]]:
    """The sorted stale-index records of one version: the node keys, history keys
    and raw keys it made obsolete."""
    stale = [version_field + STALE_NODE + node_key for node_key in nodes]
    stale.extend(version_field + STALE_HISTORY + key for key in superseded)
    stale.extend(version_field + STALE_TOMBSTONE + key for key in tombstones)
    stale.sort()
    return [(key, b"") for key in stale]


def prune(txn: lmdb.Transaction, tables: Tables, keep_from_version: int) -> int:
    """Drop the records only versions below ``keep_from_version`` reach, and their roots.

    Returns:
        The number of tree nodes deleted.
    """
    deleted = 0
    cursor = txn.cursor(db=tables.stale)
    while cursor.first():
        stale_key = as_bytes(cursor.key())
        if int.from_bytes(stale_key[:8], "big") > keep_from_version:
            break
        kind = stale_key[8:9]
        target = stale_key[9:]
        if kind == STALE_NODE:
            if txn.delete(target, db=tables.nodes):
                deleted += 1
        elif kind == STALE_HISTORY:
            txn.delete(target, db=tables.history)
        else:
            stored_key = KEY_PREFIX + target
            if get(txn, stored_key, tables.keys) == bytes((DELETED,)) + stale_key[:8]:
                txn.delete(stored_key, db=tables.keys)
        cursor.delete()
    roots = txn.cursor(db=tables.roots)
    while roots.first() and int.from_bytes(roots.key(), "big") < keep_from_version:
        roots.delete()
    return deleted
