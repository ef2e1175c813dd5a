"""The state tree's LMDB tables and the few ways it reads and writes them.

The tree (Jellyfish Merkle Tree, Gao et al. 2021; see ``_tree``) keeps six
named databases in the caller's environment (``Tables``). Every record that
belongs to a version carries that version as 8 big-endian bytes, so byte order
is version order and a cursor walks versions in order (``inverted`` gives
newest first). Writes of one version are sorted and appended in bulk
(``append``); a first version too large for one transaction is written over
several (``Batches``).
"""

from __future__ import annotations

from typing import Final

import lmdb

from consortia.state.errors import StateError

__all__ = [
    "MAX_VERSION",
    "Batches",
    "Tables",
    "append",
    "as_bytes",
    "get",
    "inverted",
    "version_bytes",
]

MAX_VERSION: Final = (1 << 64) - 1
"""Largest value of an 8-byte version field."""


class Tables:
    """The named databases of one tree (``name`` + suffix; layouts in ``StateTree``)."""

    __slots__ = ("history", "keys", "nodes", "roots", "side", "stale")

    def __init__(self, env: lmdb.Environment, txn: lmdb.Transaction, name: bytes) -> None:
        self.nodes = env.open_db(name + b".nodes", txn=txn)
        self.roots = env.open_db(name + b".roots", txn=txn)
        self.stale = env.open_db(name + b".stale", txn=txn)
        self.keys = env.open_db(name + b".keys", txn=txn)
        self.history = env.open_db(name + b".history", txn=txn)
        self.side = env.open_db(name + b".side", txn=txn)


def get(txn: lmdb.Transaction, key: bytes, db: lmdb._Database) -> bytes | None:
    """``txn.get`` that also works for transactions begun with ``buffers=True``."""
    data = txn.get(key, db=db)
    if data is None or isinstance(data, bytes):
        return data
    return bytes(data)


def as_bytes(data: bytes | memoryview) -> bytes:
    """``data`` as ``bytes`` (cursors of a ``buffers=True`` transaction yield buffers)."""
    return data if isinstance(data, bytes) else bytes(data)


def version_bytes(version: int) -> bytes:
    """The 8-byte big-endian form of ``version`` that keys and records carry."""
    return version.to_bytes(8, "big")


def inverted(version_field: bytes) -> bytes:
    """``~version`` of an 8-byte version field: sorts newest first."""
    return (MAX_VERSION - int.from_bytes(version_field, "big")).to_bytes(8, "big")


def append(txn: lmdb.Transaction, db: lmdb._Database, records: list[tuple[bytes, bytes]]) -> None:
    """Bulk-append ``records`` (sorted, all past the last stored key).

    Raises:
        StateError: a record is not past the last stored key (the version was written).
    """
    _, added = txn.cursor(db=db).putmulti(records, append=True)
    if added != len(records):
        raise StateError("state index out of order: records for this version already exist")


class Batches:
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
