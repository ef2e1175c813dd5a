"""Block store: committed blocks, receipts, certificates and lookup indexes on LMDB.

Spec: docs/spec/ledger.md §7 ([LEDGER-STORE.1] … [LEDGER-STORE.6]).

The node keeps one ``lmdb.Environment`` and commits a block's ledger and state
writes in one write transaction, so every method takes an open LMDB
transaction first; the store never opens or commits transactions itself.
Values are canonical codec bytes; integers in keys are 8-byte big-endian so
LMDB's byte order is numeric order.

Tables (named databases)::

    ledger.blocks        height                        -> Block
    ledger.block_ids     height                        -> block id (bin)
    ledger.heights       block id                      -> height (U64)
    ledger.tx_index      tx id                         -> [height, index]
    ledger.accounts      address ‖ height ‖ index      -> tx id (bin)
    ledger.receipts      height                        -> [Receipt, ...]
    ledger.certificates  height                        -> QuorumCert certifying that block
    ledger.meta          key                           -> caller's bytes (not decoded)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Final, TypeVar

import lmdb

from consortia.codec import U64, CodecError, Hash32, decode, encode
from consortia.ledger.errors import (
    BlockNotFound,
    DuplicateTransaction,
    InvalidBlockSequence,
    StoreCorrupted,
    TransactionNotFound,
)
from consortia.ledger.types import Block, EpochStart, QuorumCert, Receipt, Transaction

__all__ = ["ADDRESS_LENGTH", "TABLES", "BlockStore"]

ADDRESS_LENGTH: Final = 20
TABLES: Final = (
    "blocks",
    "block_ids",
    "heights",
    "tx_index",
    "accounts",
    "receipts",
    "certificates",
    "meta",
)
"""Named databases of the store, each opened as ``ledger.<name>``."""

_T = TypeVar("_T")
_MAX_POSITION: Final = b"\xff" * 16
_EPOCH_PREFIX: Final = b"epoch/"
_LATEST_EPOCH: Final = b"epoch-latest"


def _u64_key(value: int) -> bytes:
    """8-byte big-endian key for a height or index ([LEDGER-STORE.1])."""
    return value.to_bytes(8, "big")


def _account_key(address: bytes, height: int, index: int) -> bytes:
    return address + _u64_key(height) + _u64_key(index)


class BlockStore:
    """Committed chain, receipts, certificates and indexes in one LMDB environment.

    Opening the named databases needs a write transaction, so construct the
    store before opening any transaction on ``env`` in this thread.
    """

    def __init__(self, env: lmdb.Environment) -> None:
        self._env = env
        self._db = {name: env.open_db(f"ledger.{name}".encode()) for name in TABLES}

    # ------------------------------------------------------------------ helpers

    def _decode(self, table: str, key: bytes, value: bytes | memoryview, type_: type[_T]) -> _T:
        try:
            return decode(bytes(value), type_)
        except CodecError as exc:
            raise StoreCorrupted(
                f"table ledger.{table}, key {bytes(key).hex()}: {exc.message}"
            ) from None

    def _get(self, txn: lmdb.Transaction, table: str, key: bytes, type_: type[_T]) -> _T | None:
        value = txn.get(key, db=self._db[table])
        if value is None:
            return None
        return self._decode(table, key, value, type_)

    # ------------------------------------------------------------------ writes

    def append_block(
        self,
        txn: lmdb.Transaction,
        block: Block,
        block_id: bytes,
        tx_ids: Sequence[bytes],
        *,
        repeats: Collection[int] = (),
        aliases: Mapping[int, bytes] | None = None,
    ) -> None:
        """Store ``block`` as the new tip and index its transactions ([LEDGER-STORE.2]).

        Parameters:
            txn: an open write transaction.
            block: the committed block.
            block_id: ``block_id(hash_fn, block.header)``.
            tx_ids: ``tx_id(hash_fn, tx.body)`` of each transaction, in order.
            repeats: positions of transactions already committed (earlier, or
                earlier in this block): stored with the block but not indexed,
                so an id keeps pointing at its first commit (see
                :func:`repeated_positions`).
            aliases: a second lookup id for transactions by position: the Ethereum
                hash (keccak of the raw bytes) of Ethereum-signed ones, which
                Ethereum clients look them up by ([LEDGER-TX-ETH.1]).

        Raises:
            InvalidBlockSequence: the height is not ``latest_height + 1`` (0 for the
                first block), the parent id is not the stored tip's id, or the
                block id is already stored.
            DuplicateTransaction: a transaction id is already committed and its
                position is not listed in ``repeats``.
            ValueError: ``tx_ids`` does not match ``block.transactions`` in length.
        """
        header = block.header
        if len(tx_ids) != len(block.transactions):
            raise ValueError(
                f"{len(tx_ids)} transaction ids given for {len(block.transactions)} transactions"
            )
        latest = self.latest_height(txn)
        expected = 0 if latest is None else latest + 1
        if header.height != expected:
            raise InvalidBlockSequence(
                f"block height {header.height} does not extend the stored chain "
                f"(expected height {expected})"
            )
        if latest is not None:
            parent = self.block_id_at(txn, latest)
            if header.parent_id != parent:
                raise InvalidBlockSequence(
                    f"block {header.height} has parent {header.parent_id.hex()}, "
                    f"but the block at height {latest} is {parent.hex()}"
                )
        if txn.get(block_id, db=self._db["heights"]) is not None:
            raise InvalidBlockSequence(f"block {block_id.hex()} is already stored")
        seen: set[bytes] = set()
        for index, txid in enumerate(tx_ids):
            if index in repeats:
                continue
            if txid in seen or txn.get(txid, db=self._db["tx_index"]) is not None:
                raise DuplicateTransaction(
                    f"transaction {txid.hex()} (index {index} of block {header.height}) "
                    "is already committed"
                )
            seen.add(txid)
        # Everything is checked: from here on nothing raises, so a failed call
        # never leaves part of a block in the caller's transaction.
        height_key = _u64_key(header.height)
        txn.put(block_id, encode(header.height), db=self._db["heights"])
        txn.put(height_key, encode(block), db=self._db["blocks"])
        txn.put(height_key, encode(block_id), db=self._db["block_ids"])
        for index, (tx, txid) in enumerate(zip(block.transactions, tx_ids, strict=True)):
            if index in repeats:
                continue
            position = encode((header.height, index))
            txn.put(txid, position, db=self._db["tx_index"])
            alias = (aliases or {}).get(index)
            if alias is not None:
                txn.put(alias, position, db=self._db["tx_index"])
            txn.put(
                _account_key(tx.body.sender, header.height, index),
                encode(txid),
                db=self._db["accounts"],
            )

    def install_base(self, txn: lmdb.Transaction, block: Block, block_id: bytes) -> None:
        """Store ``block`` as the tip right after genesis, skipping the heights between.

        For a node that starts from a verified state snapshot at
        ``block.header.height`` ([NET-SNAPSHOT.1]): the store must hold only the
        genesis block. Heights between are absent (``BlockNotFound``); later
        blocks append on top as usual. Transactions of the base block are not
        indexed (their receipts are not part of a snapshot).

        Raises:
            InvalidBlockSequence: the store holds more than genesis, or the height is 0.
        """
        if self.latest_height(txn) != 0 or block.header.height == 0:
            raise InvalidBlockSequence("a base block goes right after genesis, in a fresh store")
        height_key = _u64_key(block.header.height)
        txn.put(block_id, encode(block.header.height), db=self._db["heights"])
        txn.put(height_key, encode(block), db=self._db["blocks"])
        txn.put(height_key, encode(block_id), db=self._db["block_ids"])

    def put_receipts(
        self,
        txn: lmdb.Transaction,
        height: int,
        receipts: Sequence[Receipt],
        touched: Sequence[Sequence[bytes]],
    ) -> None:
        """Store the receipts of executed block ``height`` ([LEDGER-STORE.3]).

        ``receipts[i]`` is the receipt of transaction ``i``; ``touched[i]`` lists
        further 20-byte addresses transaction ``i`` affected (recipients, …),
        which are added to the account index beside the sender.

        Raises:
            BlockNotFound: no block at ``height``.
            InvalidBlockSequence: receipts for ``height`` are already stored.
            ValueError: counts differ from the block's transactions, a receipt's
                ``height``/``index`` is not its position or its ``tx_id`` is indexed
                at a later one, or an address is not 20 bytes.
        """
        block = self.block_by_height(txn, height)
        count = len(block.transactions)
        if len(receipts) != count or len(touched) != count:
            raise ValueError(
                f"block {height} has {count} transactions; got {len(receipts)} receipts "
                f"and {len(touched)} touched lists"
            )
        for index, receipt in enumerate(receipts):
            position = self._tx_position(txn, receipt.tx_id)
            # A repeat of an earlier transaction stays indexed at its first commit.
            if (receipt.height, receipt.index) != (height, index) or position > (height, index):
                raise ValueError(
                    f"receipt {index} of block {height} is for transaction "
                    f"{receipt.tx_id.hex()} at {position}, claiming ({receipt.height}, "
                    f"{receipt.index})"
                )
        for addresses in touched:
            for address in addresses:
                if len(address) != ADDRESS_LENGTH:
                    raise ValueError(f"address {address.hex()} is not {ADDRESS_LENGTH} bytes")
        if txn.get(_u64_key(height), db=self._db["receipts"]) is not None:
            raise InvalidBlockSequence(f"receipts of block {height} are already stored")
        txn.put(_u64_key(height), encode(tuple(receipts)), db=self._db["receipts"])
        for index, (receipt, addresses) in enumerate(zip(receipts, touched, strict=True)):
            for address in addresses:
                txn.put(
                    _account_key(address, height, index),
                    encode(receipt.tx_id),
                    db=self._db["accounts"],
                )

    def put_certificate(self, txn: lmdb.Transaction, qc: QuorumCert) -> None:
        """Keep ``qc`` as the certificate of the stored block at ``qc.height`` ([LEDGER-STORE.4]).

        A later certificate for the same height replaces the earlier one; the
        highest-height certificate is the tip's (:meth:`latest_certificate`).

        Raises:
            BlockNotFound: no block is stored at ``qc.height``.
            InvalidBlockSequence: ``qc.block_id`` is not the id of that block.
        """
        stored = self.block_id_at(txn, qc.height)
        if qc.block_id != stored:
            raise InvalidBlockSequence(
                f"certificate for block {qc.block_id.hex()} at height {qc.height}, "
                f"but the stored block there is {stored.hex()}"
            )
        txn.put(_u64_key(qc.height), encode(qc), db=self._db["certificates"])

    def put_meta(self, txn: lmdb.Transaction, key: bytes, value: bytes) -> None:
        """Set a small metadata entry for another layer (e.g. executed height)."""
        txn.put(key, value, db=self._db["meta"])

    def put_epoch(self, txn: lmdb.Transaction, start: EpochStart) -> None:
        """Record where an epoch begins (its root block is stored first)."""
        if self.block_id_at(txn, start.root_height) != start.root_id:
            raise InvalidBlockSequence(f"epoch {start.epoch} root is not the stored block")
        txn.put(_EPOCH_PREFIX + _u64_key(start.epoch), encode(start), db=self._db["meta"])
        txn.put(_LATEST_EPOCH, _u64_key(start.epoch), db=self._db["meta"])

    # ------------------------------------------------------------------ reads

    def epoch(self, txn: lmdb.Transaction, epoch: int) -> EpochStart | None:
        """Where ``epoch`` began, if it has."""
        return self._get(txn, "meta", _EPOCH_PREFIX + _u64_key(epoch), EpochStart)

    def latest_epoch(self, txn: lmdb.Transaction) -> EpochStart:
        """The epoch in force at the tip (genesis records epoch 0)."""
        raw = txn.get(_LATEST_EPOCH, db=self._db["meta"])
        start = None if raw is None else self.epoch(txn, int.from_bytes(raw, "big"))
        if start is None:
            raise StoreCorrupted("no epoch is recorded")
        return start

    def get_meta(self, txn: lmdb.Transaction, key: bytes) -> bytes | None:
        """The metadata value at ``key``, or None."""
        value = txn.get(key, db=self._db["meta"])
        return None if value is None else bytes(value)

    def latest_height(self, txn: lmdb.Transaction) -> int | None:
        """Height of the tip, or None before genesis is stored."""
        with txn.cursor(db=self._db["blocks"]) as cursor:
            if not cursor.last():
                return None
            key = bytes(cursor.key())
        if len(key) != 8:
            raise StoreCorrupted(f"table ledger.blocks, key {key.hex()}: not an 8-byte height")
        return int.from_bytes(key, "big")

    def block_by_height(self, txn: lmdb.Transaction, height: int) -> Block:
        """The block at ``height``.

        Raises:
            BlockNotFound: no block at ``height``.
            StoreCorrupted: the stored bytes do not decode.
        """
        block = self._get(txn, "blocks", _u64_key(height), Block)
        if block is None:
            raise BlockNotFound(f"no block at height {height}")
        return block

    def block_id_at(self, txn: lmdb.Transaction, height: int) -> bytes:
        """Id of the block at ``height``; raises BlockNotFound."""
        block_id = self._get(txn, "block_ids", _u64_key(height), Hash32)
        if block_id is None:
            raise BlockNotFound(f"no block at height {height}")
        return block_id

    def height_of(self, txn: lmdb.Transaction, block_id: bytes) -> int:
        """Height of the block with id ``block_id``; raises BlockNotFound."""
        height = self._get(txn, "heights", block_id, U64)
        if height is None:
            raise BlockNotFound(f"no block with id {block_id.hex()}")
        return height

    def repeated_positions(self, txn: lmdb.Transaction, tx_ids: Sequence[bytes]) -> frozenset[int]:
        """Positions in ``tx_ids`` whose id is already committed or appears earlier in it."""
        seen: set[bytes] = set()
        repeats = set()
        for index, txid in enumerate(tx_ids):
            if txid in seen or txn.get(txid, db=self._db["tx_index"]) is not None:
                repeats.add(index)
            seen.add(txid)
        return frozenset(repeats)

    def _tx_position(self, txn: lmdb.Transaction, tx_id: bytes) -> tuple[int, int]:
        position = self._get(txn, "tx_index", tx_id, tuple[U64, U64])
        if position is None:
            raise TransactionNotFound(f"no committed transaction {tx_id.hex()}")
        return position

    def transaction(self, txn: lmdb.Transaction, tx_id: bytes) -> tuple[Transaction, int, int]:
        """The committed transaction ``tx_id`` with its (height, index).

        Raises:
            TransactionNotFound: ``tx_id`` is not committed.
            StoreCorrupted: the index points outside its block.
        """
        height, index = self._tx_position(txn, tx_id)
        block = self.block_by_height(txn, height)
        if index >= len(block.transactions):
            raise StoreCorrupted(
                f"table ledger.tx_index, key {tx_id.hex()}: index {index} outside block {height}"
            )
        return block.transactions[index], height, index

    def receipt(self, txn: lmdb.Transaction, tx_id: bytes) -> Receipt | None:
        """Receipt of committed transaction ``tx_id``; None until its block is executed.

        Raises:
            TransactionNotFound: ``tx_id`` is not committed.
        """
        height, index = self._tx_position(txn, tx_id)
        receipts = self.receipts(txn, height)
        if receipts is None:
            return None
        if index >= len(receipts):
            raise StoreCorrupted(
                f"table ledger.receipts, key {_u64_key(height).hex()}: no receipt {index}"
            )
        return receipts[index]

    def receipts(self, txn: lmdb.Transaction, height: int) -> list[Receipt] | None:
        """Receipts of block ``height`` in transaction order; None if not executed yet."""
        receipts = self._get(txn, "receipts", _u64_key(height), tuple[Receipt, ...])
        return None if receipts is None else list(receipts)

    def certificate(self, txn: lmdb.Transaction, height: int) -> QuorumCert | None:
        """The stored certificate of the block at ``height``, or None."""
        return self._get(txn, "certificates", _u64_key(height), QuorumCert)

    def latest_certificate(self, txn: lmdb.Transaction) -> QuorumCert | None:
        """The stored certificate with the highest height (the tip's, once stored)."""
        with txn.cursor(db=self._db["certificates"]) as cursor:
            if not cursor.last():
                return None
            key, value = bytes(cursor.key()), bytes(cursor.value())
        return self._decode("certificates", key, value, QuorumCert)

    def account_transactions(
        self,
        txn: lmdb.Transaction,
        address: bytes,
        *,
        limit: int = 50,
        before: tuple[int, int] | None = None,
    ) -> list[bytes]:
        """Ids of transactions that ``address`` sent or was touched by, newest first.

        Parameters:
            address: 20-byte account address.
            limit: most ids to return.
            before: only positions strictly below this (height, index); pass the
                position of the last id of the previous page to get the next one.
        """
        if len(address) != ADDRESS_LENGTH:
            raise ValueError(f"address must be {ADDRESS_LENGTH} bytes, got {len(address)}")
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        seek = address + (
            _MAX_POSITION if before is None else _u64_key(before[0]) + _u64_key(before[1])
        )
        found: list[bytes] = []
        with txn.cursor(db=self._db["accounts"]) as cursor:
            more = cursor.prev() if cursor.set_range(seek) else cursor.last()
            while more and len(found) < limit:
                key = bytes(cursor.key())
                if key[:ADDRESS_LENGTH] != address:
                    break
                found.append(self._decode("accounts", key, bytes(cursor.value()), Hash32))
                more = cursor.prev()
        return found
