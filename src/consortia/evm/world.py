"""The EVM world state: py-evm's Ethereum trie in the node's LMDB, its root in chain state.

py-evm keeps accounts, storage and code in a Merkle-Patricia trie over a
key-value database. Here that database is the state tree's side database,
written in the block's own LMDB transaction, so a crash never separates the
trie from the chain state; the trie's root is the chain-state entry
``evm/world_root``, so one header root commits to everything (DESIGN.md §3).
Trie nodes are content-addressed (keccak of their RLP), so old roots stay
readable for historical queries and proofs.
"""

from __future__ import annotations

from typing import Any, Final

import lmdb
from eth.constants import BLANK_ROOT_HASH
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB

from consortia.execution.state_view import StateView

WORLD_ROOT_KEY: Final = b"evm/world_root"
"""Chain-state key holding the EVM trie root after the last block that touched it."""


class SideDB(BaseDB):
    """py-evm's key-value interface over an LMDB database, inside one transaction."""

    def __init__(self, txn: lmdb.Transaction, db: Any) -> None:
        self._txn = txn
        self._db = db

    def __getitem__(self, key: bytes) -> bytes:
        value = self._txn.get(key, db=self._db)
        if value is None:
            raise KeyError(key)
        return bytes(value)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._txn.put(key, value, db=self._db)

    def __delitem__(self, key: bytes) -> None:
        if not self._txn.delete(key, db=self._db):
            raise KeyError(key)

    def _exists(self, key: bytes) -> bool:
        return self._txn.get(key, db=self._db) is not None


def world_db(state: StateView) -> AtomicDB:
    """The EVM trie database seen through ``state``'s LMDB transaction."""
    return AtomicDB(SideDB(state.txn, state.tree.side_db))


def world_root(state: StateView) -> bytes:
    """The EVM trie root in ``state`` (the empty trie's before any contract)."""
    return state.get(WORLD_ROOT_KEY) or BLANK_ROOT_HASH
