"""``eth_*`` reads of the ledger: blocks, transactions, receipts, logs, fee history.

Handlers take params already checked by their spec (:mod:`consortia.api.rpc_methods`).
"""

from __future__ import annotations

from typing import Any, Final

from consortia.api.rpc_envelope import LIMIT_EXCEEDED, NOT_FOUND, RpcError
from consortia.api.rpc_eth_objects import EthObjects, data, is_log, qty
from consortia.api.rpc_params import BlockRef, LogFilter
from consortia.ledger.errors import BlockNotFound, TransactionNotFound
from consortia.ledger.types import STATUS_OK
from consortia.node.views import TxRecord

MAX_LOG_BLOCKS: Final = 10_000
MAX_FEE_HISTORY: Final = 1024


class EthChain:
    """Ledger reads of one node, as Ethereum objects."""

    def __init__(self, objects: EthObjects) -> None:
        self.objects = objects
        self.reader = objects.reader

    def block_by_number(self, ref: BlockRef, full: bool) -> Any:
        """``eth_getBlockByNumber``: the block, or null when not committed yet."""
        try:
            return self.objects.block_json(self.objects.height(ref), full)
        except RpcError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise

    def block_by_hash(self, block_id: bytes, full: bool) -> Any:
        """``eth_getBlockByHash``: the block, or null for an unknown hash."""
        try:
            height = self.reader.block_by_id(block_id).block.header.height
        except BlockNotFound:
            return None
        return self.objects.block_json(height, full)

    def block_tx_count(self, ref: BlockRef) -> str:
        """``eth_getBlockTransactionCountByNumber``."""
        height = self.objects.height(ref)
        return qty(len(self.reader.block(height).block.transactions))

    def _lookup(self, wanted: bytes) -> TxRecord | None:
        try:
            return self.reader.transaction(wanted)
        except TransactionNotFound:
            return None

    def transaction_by_hash(self, wanted: bytes) -> Any:
        """``eth_getTransactionByHash``: the transaction, or null."""
        record = self._lookup(wanted)
        if record is None:
            return None
        block = self.reader.block(record.height)
        return self.objects.tx_json(record.tx, record.index, block.block, block.block_id)

    def receipt(self, wanted: bytes) -> Any:
        """``eth_getTransactionReceipt``: the receipt, or null while not executed."""
        record = self._lookup(wanted)
        if record is None or record.receipt is None:
            return None
        objects = self.objects
        block = self.reader.block(record.height)
        receipts = self.reader.receipts(record.height)
        tx_hash = objects.tx_hash(record.tx)
        first_log = sum(sum(1 for e in r.events if is_log(e)) for r in receipts[: record.index])
        receipt = record.receipt
        created = next(
            (dict(e.attributes) for e in receipt.events if e.name == "contract_created"), None
        )
        tx_json = objects.tx_json(record.tx, record.index, block.block, block.block_id)
        return {
            "transactionHash": data(tx_hash),
            "transactionIndex": qty(record.index),
            "blockHash": data(block.block_id),
            "blockNumber": qty(record.height),
            "from": tx_json["from"],
            "to": tx_json["to"],
            "cumulativeGasUsed": qty(sum(r.gas_used for r in receipts[: record.index + 1])),
            "gasUsed": qty(receipt.gas_used),
            "effectiveGasPrice": "0x0",
            "contractAddress": "0x" + created["address"] if created else None,
            "logs": objects.logs(receipt, tx_hash, block.block_id, first_log),
            "logsBloom": objects.bloom([receipt]),
            "status": "0x1" if receipt.status == STATUS_OK else "0x0",
            "type": tx_json["type"],
        }

    def fee_history(self, count: int, newest_ref: BlockRef, percentiles: list[float]) -> Any:
        """``eth_feeHistory``: zero fees, and each block's share of the gas limit used."""
        newest = self.objects.height(newest_ref)
        oldest = max(0, newest - min(count, MAX_FEE_HISTORY) + 1)
        blocks = newest - oldest + 1
        limit = self.reader.policy().block_gas_limit
        ratios = [
            sum(r.gas_used for r in self.reader.receipts(h)) / limit
            for h in range(oldest, newest + 1)
        ]
        return {
            "oldestBlock": qty(oldest),
            "baseFeePerGas": ["0x0"] * (blocks + 1),
            "gasUsedRatio": ratios,
            "reward": [["0x0"] * len(percentiles) for _ in range(blocks)],
        }

    def get_logs(self, wanted: LogFilter) -> list[Any]:
        """``eth_getLogs``: the matching logs of one block (``blockHash``) or a range."""
        if wanted.block_hash is not None:
            try:
                first = last = self.reader.block_by_id(wanted.block_hash).block.header.height
            except BlockNotFound:
                raise RpcError(NOT_FOUND, "unknown block hash") from None
        else:
            first = self.objects.height(wanted.from_block)
            last = self.objects.height(wanted.to_block)
        if last - first >= MAX_LOG_BLOCKS:
            raise RpcError(LIMIT_EXCEEDED, f"query spans more than {MAX_LOG_BLOCKS} blocks")
        found: list[Any] = []
        for height in range(first, last + 1):
            found += self.objects.block_logs(height, wanted)
        return found
