"""Block-end receipts: what modules' end-of-block hooks reported ([EXEC-BLOCK-END.1]).

A hook that emitted events, or that failed (ran out of its gas budget, or
raised a module error), leaves one :class:`BlockEndReceipt`. Its ``index``
continues the block's transaction indexes (the first block-end receipt of a
block with ``n`` transactions has index ``n``), so the event log orders its
events after the block's transactions. Its leaf, under its own domain tag,
follows the transaction receipts' leaves in ``receipts_root``; a block whose
hooks reported nothing has none, so its receipts root is what it was before
hooks existed. The receipts are stored beside the block (a meta record per
height) for the event log and the API.
"""

from __future__ import annotations

from typing import Final

import lmdb

from consortia.codec import U64, Canonical, Name, decode, encode
from consortia.ledger.store import BlockStore
from consortia.ledger.types import Event, Hasher

__all__ = [
    "DOMAIN_BLOCK_END_LEAF",
    "BlockEndReceipt",
    "block_end_leaf",
    "put_block_end_receipts",
    "read_block_end_receipts",
]

DOMAIN_BLOCK_END_LEAF: Final = b"CONSORTIA/BLOCKENDLEAF/v1\x00"
"""Domain of a block-end receipt's leaf in ``receipts_root``."""


class BlockEndReceipt(Canonical, frozen=True):
    """Outcome of one module's end-of-block hook in one block."""

    module: Name
    """The module whose hook ran."""
    height: U64
    """The block's height."""
    index: U64
    """Position after the block's transactions: ``len(transactions) + k``."""
    status: str
    """``OK``, or the stable code that stopped the hook (``END_BLOCK_OUT_OF_GAS``, ...)."""
    message: str
    """Why the hook stopped (empty on success); not part of the leaf."""
    gas_used: U64
    """Gas the hook used, at most the policy's ``end_block_gas``."""
    events: tuple[Event, ...]
    """Events of a hook that succeeded (a stopped hook's events are rolled back)."""


class _Commitment(Canonical, frozen=True):
    module: Name
    height: U64
    index: U64
    status: str
    gas_used: U64
    events: tuple[Event, ...]


def block_end_leaf(hash_fn: Hasher, receipt: BlockEndReceipt) -> bytes:
    """Leaf digest of a block-end receipt in ``receipts_root`` (its message excluded)."""
    commitment = _Commitment(
        module=receipt.module,
        height=receipt.height,
        index=receipt.index,
        status=receipt.status,
        gas_used=receipt.gas_used,
        events=receipt.events,
    )
    return hash_fn(DOMAIN_BLOCK_END_LEAF + encode(commitment))


def _key(height: int) -> bytes:
    return b"exec/block_end/" + height.to_bytes(8, "big")


def put_block_end_receipts(
    store: BlockStore,
    txn: lmdb.Transaction,
    height: int,
    receipts: tuple[BlockEndReceipt, ...],
) -> None:
    """Store the block-end receipts of ``height`` (nothing is written for none)."""
    if receipts:
        store.put_meta(txn, _key(height), encode(receipts))


def read_block_end_receipts(
    store: BlockStore, txn: lmdb.Transaction, height: int
) -> tuple[BlockEndReceipt, ...]:
    """Block-end receipts of ``height`` (empty if its hooks reported nothing)."""
    raw = store.get_meta(txn, _key(height))
    return () if raw is None else decode(raw, tuple[BlockEndReceipt, ...])
