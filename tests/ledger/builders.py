"""Structurally valid ledger objects for store tests (keys and signatures are dummies)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from consortia.ledger.merkle import merkle_root
from consortia.ledger.types import (
    ZERO_HASH,
    Block,
    BlockHeader,
    QuorumCert,
    Receipt,
    Transaction,
    TxBody,
    block_id,
    tx_id,
    tx_leaf,
)

CHAIN_ID = "testnet"
DUMMY_KEY = b"\x04" + bytes(range(64))  # 65-byte uncompressed SEC1 shape
DUMMY_SIG = b"\x30\x44" + bytes(68)  # 70-byte DER shape


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def address(n: int) -> bytes:
    return n.to_bytes(20, "big")


def make_tx(sender: bytes, nonce: int, *, method: str = "transfer") -> Transaction:
    body = TxBody(
        chain_id=CHAIN_ID,
        sender=sender,
        nonce=nonce,
        module="currency",
        method=method,
        args=b"\x92\x01\x02",
        gas_limit=100_000,
        expiry_height=1_000,
    )
    return Transaction(body=body, key_type="sm2", public_key=DUMMY_KEY, signature=DUMMY_SIG)


def make_qc(height: int, block_id_: bytes, round_: int | None = None) -> QuorumCert:
    if height == 0 and block_id_ == ZERO_HASH:
        return QuorumCert(epoch=0, round=0, height=0, block_id=ZERO_HASH, signers=(), signatures=())
    return QuorumCert(
        epoch=0,
        round=height if round_ is None else round_,
        height=height,
        block_id=block_id_,
        signers=(0, 1, 2),
        signatures=(DUMMY_SIG, DUMMY_SIG, DUMMY_SIG),
    )


def make_block(
    height: int,
    parent_id: bytes,
    transactions: Sequence[Transaction] = (),
) -> tuple[Block, bytes, list[bytes]]:
    """A block at ``height`` on ``parent_id``; returns (block, block id, tx ids)."""
    txs = tuple(transactions)
    justify = make_qc(max(height - 1, 0), parent_id if height else ZERO_HASH)
    header = BlockHeader(
        chain_id=CHAIN_ID,
        epoch=0,
        round=height + 1,
        height=height,
        parent_id=parent_id,
        proposer=height % 4,
        timestamp_ms=1_700_000_000_000 + height * 1000,
        tx_root=merkle_root(sha256, [tx_leaf(sha256, tx) for tx in txs]),
        tx_count=len(txs),
        state_height=max(height - 1, 0),
        state_root=ZERO_HASH,
        receipts_root=ZERO_HASH,
        justify=justify,
    )
    block = Block(header=header, transactions=txs, signature=b"" if height == 0 else DUMMY_SIG)
    return block, block_id(sha256, header), [tx_id(sha256, tx.body) for tx in txs]


def make_receipts(height: int, tx_ids: Sequence[bytes]) -> list[Receipt]:
    return [
        Receipt(
            tx_id=txid,
            height=height,
            index=index,
            status="OK",
            message="",
            gas_used=21_000 + index,
            events=(),
        )
        for index, txid in enumerate(tx_ids)
    ]
