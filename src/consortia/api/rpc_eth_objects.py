"""Consortia's chain as Ethereum's JSON-RPC objects: blocks, transactions, logs, blooms.

The mapping is in docs/api.md ("Ethereum JSON-RPC"): a block's hash is its id,
its ``stateRoot`` the EVM world root after it, Ethereum-signed transactions
are known by their keccak hash and native ones by their Consortia id; gas
price and base fee are zero. :class:`EthObjects` is shared by the method
handlers and the ``eth_subscribe`` notifications.
"""

from __future__ import annotations

from typing import Any, Final

from eth_bloom.bloom import BloomFilter

from consortia.api.rpc_envelope import NOT_FOUND, RpcError
from consortia.api.rpc_params import BlockRef, LogFilter
from consortia.codec import decode, encode
from consortia.crypto import get_suite
from consortia.evm.context import evm_chain_id
from consortia.evm.ethtx import decode_raw
from consortia.evm.reader import EvmReader
from consortia.evm.types import Call
from consortia.execution.module import BlockContext
from consortia.ledger.types import ETH_KEY_TYPE, Block, Receipt, Transaction, ethereum_hash, tx_id
from consortia.node.service import NodeService

ZERO_BLOOM: Final = "0x" + "00" * 256
EMPTY_UNCLES: Final = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"


def qty(value: int) -> str:
    """A quantity: ``0x`` hex without leading zeros."""
    return hex(value)


def data(value: bytes) -> str:
    """Data: ``0x`` hex of the bytes."""
    return "0x" + value.hex()


def is_log(event: Any) -> bool:
    """An EVM ``LOG`` event of a receipt."""
    return bool(event.module == "evm" and event.name == "log")


class EthObjects:
    """One node's ledger, EVM world and chain id, rendered as Ethereum objects."""

    def __init__(self, service: NodeService) -> None:
        self.service = service
        self.reader = service.reader
        self.evm = EvmReader(service.reader.env, service.reader.tree)
        self.chain = evm_chain_id(service.chain_id)
        self._hash = get_suite(service.suite).hash

    def height(self, ref: BlockRef) -> int:
        """The committed height ``ref`` names; -32001 for one not committed yet."""
        latest = self.reader.height()
        if ref.tag == "earliest":
            return 0
        if ref.tag is not None:
            return latest
        if ref.height > latest:
            raise RpcError(NOT_FOUND, f"block {ref.height} is not committed yet (latest {latest})")
        return ref.height

    def context(self, height: int) -> BlockContext:
        """The block context a read at ``height`` runs in (the next block's)."""
        header = self.reader.block(height).block.header
        return BlockContext(
            chain_id=self.service.chain_id,
            height=height + 1,
            timestamp_ms=header.timestamp_ms,
            proposer=0,
        )

    def tx_hash(self, tx: Transaction) -> bytes:
        """Keccak of an Ethereum-signed transaction, else its Consortia id."""
        return ethereum_hash(tx) or tx_id(self._hash, tx.body)

    def block_json(self, height: int, full: bool) -> dict[str, Any]:
        """The block at ``height`` (with full transactions, or their hashes)."""
        record = self.reader.block(height)
        block, header = record.block, record.block.header
        receipts = self.reader.receipts(height) if block.transactions else []
        gas_used = sum(r.gas_used for r in receipts)
        if full:
            txs: list[Any] = [
                self.tx_json(tx, i, block, record.block_id)
                for i, tx in enumerate(block.transactions)
            ]
        else:
            txs = [data(self.tx_hash(tx)) for tx in block.transactions]
        return {
            "number": qty(height),
            "hash": data(record.block_id),
            "parentHash": data(header.parent_id),
            "nonce": "0x0000000000000000",
            "sha3Uncles": EMPTY_UNCLES,
            "logsBloom": self.bloom(receipts),
            "transactionsRoot": data(header.tx_root),
            "stateRoot": data(self.evm.world_root(height)),
            "receiptsRoot": data(header.receipts_root),
            "miner": data(bytes(20)),
            "difficulty": "0x0",
            "totalDifficulty": "0x0",
            "extraData": "0x",
            "size": qty(len(encode(block))),
            "gasLimit": qty(self.reader.policy().block_gas_limit),
            "gasUsed": qty(gas_used),
            "timestamp": qty(header.timestamp_ms // 1000),
            "transactions": txs,
            "uncles": [],
            "baseFeePerGas": "0x0",
            "mixHash": data(bytes(32)),
        }

    def tx_json(self, tx: Transaction, index: int, block: Block, block_id: bytes) -> dict[str, Any]:
        """Transaction ``index`` of ``block``."""
        body = tx.body
        out: dict[str, Any] = {
            "hash": data(self.tx_hash(tx)),
            "nonce": qty(body.nonce),
            "blockHash": data(block_id),
            "blockNumber": qty(block.header.height),
            "transactionIndex": qty(index),
            "from": data(body.sender),
            "to": None,
            "value": "0x0",
            "gas": qty(body.gas_limit),
            "gasPrice": "0x0",
            "input": data(body.args),
            "chainId": qty(self.chain),
            "type": "0x0",
            "v": "0x0",
            "r": "0x0",
            "s": "0x0",
        }
        if tx.key_type == ETH_KEY_TYPE:
            raw = decode_raw(body.args)
            typed = raw.tx_type
            out.update(
                to=data(raw.to) if raw.to else None,
                input=data(raw.data),
                type=qty(typed),
                r=qty(raw.r),
                s=qty(raw.s),
                v=qty(raw.v),
            )
            if typed:
                out.update(yParity=qty(raw.y_parity), accessList=[])
                if typed == 2:
                    out.update(maxFeePerGas="0x0", maxPriorityFeePerGas="0x0")
        elif body.module == "evm" and body.method == "call":
            call = decode(body.args, Call)
            out.update(to=data(call.to), input=data(call.data))
        return out

    def logs(self, receipt: Receipt, tx_hash: bytes, block_id: bytes, first: int) -> list[Any]:
        """The EVM logs of ``receipt``, numbered from ``first`` within their block."""
        logs: list[dict[str, Any]] = []
        for event in receipt.events:
            if not is_log(event):
                continue
            attrs = dict(event.attributes)
            topics = [t for t in attrs.get("topics", "").split(" ") if t]
            logs.append(
                {
                    "address": "0x" + attrs["address"],
                    "topics": ["0x" + t for t in topics],
                    "data": "0x" + attrs.get("data", ""),
                    "blockNumber": qty(receipt.height),
                    "blockHash": data(block_id),
                    "transactionHash": data(tx_hash),
                    "transactionIndex": qty(receipt.index),
                    "logIndex": qty(first + len(logs)),
                    "removed": False,
                }
            )
        return logs

    def bloom(self, receipts: list[Receipt]) -> str:
        """The logs bloom of ``receipts``."""
        bloom = BloomFilter()
        for receipt in receipts:
            for event in receipt.events:
                if is_log(event):
                    attrs = dict(event.attributes)
                    bloom.add(bytes.fromhex(attrs["address"]))
                    for topic in attrs.get("topics", "").split(" "):
                        if topic:
                            bloom.add(bytes.fromhex(topic))
        return "0x" + int(bloom).to_bytes(256, "big").hex()

    def block_logs(self, height: int, wanted: LogFilter) -> list[Any]:
        """The logs of the block at ``height`` that match ``wanted``'s addresses and topics."""
        record = self.reader.block(height)
        if not record.block.transactions:
            return []
        found: list[Any] = []
        count = 0
        for receipt, tx in zip(
            self.reader.receipts(height), record.block.transactions, strict=True
        ):
            logs = self.logs(receipt, self.tx_hash(tx), record.block_id, count)
            count += len(logs)
            found += [log for log in logs if matches(log, wanted)]
        return found


def matches(log: dict[str, Any], wanted: LogFilter) -> bool:
    """Whether ``log`` is from one of the filter's addresses and has its topics."""
    if wanted.addresses is not None and log["address"].lower() not in wanted.addresses:
        return False
    for position, options in enumerate(wanted.topics):
        if options is None:
            continue
        if position >= len(log["topics"]) or log["topics"][position].lower() not in options:
            return False
    return True
