"""Ethereum JSON-RPC at ``POST /rpc``, so web3.py, ethers and wallets work unchanged.

JSON-RPC 2.0 (single and batch requests) with the error codes of the
specification and EIP-1474: -32700 parse error, -32600 invalid request,
-32601 method not found, -32602 invalid params, -32603 internal error,
-32000 transaction rejected (with the Consortia code in ``data``), -32001
resource not found, -32005 limit exceeded, and 3 for a reverted call (its
revert data in ``data``). The mapping of Consortia's chain onto Ethereum's
objects is in docs/api.md ("Ethereum JSON-RPC"): a block's hash is its id, its
``stateRoot`` the EVM world root after it, Ethereum-signed transactions are
known by their keccak hash and native ones by their Consortia id; gas price
and base fee are zero.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Final

from eth_bloom.bloom import BloomFilter
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import Message

from consortia.api.client_limits import (
    ClientLimited,
    ClientLimits,
    SocketLimits,
    TooManySockets,
    current_client,
    refuse_socket,
)
from consortia.api.errors import BodyTooLarge, JsonTooComplex, JsonTooDeep, MalformedJson
from consortia.api.json_body import decode_json
from consortia.codec import decode, encode
from consortia.crypto import get_suite, keccak256
from consortia.errors import NodeError
from consortia.evm.context import evm_chain_id
from consortia.evm.errors import EthTxInvalid
from consortia.evm.ethtx import decode_raw, envelope
from consortia.evm.module import revert_reason
from consortia.evm.reader import CallResult, EvmReader
from consortia.evm.types import Call
from consortia.execution import gas as native_gas
from consortia.execution.module import BlockContext
from consortia.ledger.errors import BlockNotFound, TransactionNotFound
from consortia.ledger.types import (
    ETH_KEY_TYPE,
    Block,
    Receipt,
    Transaction,
    ethereum_hash,
    tx_id,
)
from consortia.node.events import LAGGED
from consortia.node.read_pool import CallRequest, ReadLimitError
from consortia.node.service import NodeService

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES: Final = 5 * 1024 * 1024
"""Largest request body or WebSocket frame (the HTTP body is also capped by limits.RPC_LIMIT)."""
U256_MAX: Final = 2**256 - 1
CLOSE_UNSUPPORTED: Final = 1003
"""WebSocket close code for a binary frame (JSON-RPC frames are text)."""
CLOSE_PROTOCOL: Final = 1008
"""WebSocket close code after a frame that is not a JSON-RPC request (-32700, -32600)."""
CLOSE_TOO_BIG: Final = 1009
MAX_BATCH: Final = 100
MAX_LOG_BLOCKS: Final = 10_000
CLIENT_VERSION: Final = "Consortia/v1/python"
ZERO_BLOOM: Final = "0x" + "00" * 256
EMPTY_UNCLES: Final = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"


class RpcError(Exception):
    """A JSON-RPC error answer."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _qty(value: int) -> str:
    return hex(value)


def _data(value: bytes) -> str:
    return "0x" + value.hex()


def _parse_hex(value: Any, what: str, *, length: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise RpcError(-32602, f"{what} must be a 0x-prefixed hex string")
    text = value[2:]
    try:
        raw = bytes.fromhex(text if len(text) % 2 == 0 else "0" + text)
    except ValueError:
        raise RpcError(-32602, f"{what} is not hex") from None
    if length is not None and len(raw) != length:
        raise RpcError(-32602, f"{what} must be {length} bytes")
    return raw


def _parse_qty(value: Any, what: str) -> int:
    """A quantity param (a JSON number or 0x hex) in 0..2**256-1, else -32602."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        quantity = value
    else:
        raw = _parse_hex(value, what)
        quantity = int.from_bytes(raw, "big") if raw else 0
    if quantity > U256_MAX:
        raise RpcError(-32602, f"{what} exceeds 2**256 - 1")
    return quantity


class EthRpc:
    """The ``eth_*`` methods over one node's ledger, EVM world and mempool."""

    def __init__(self, service: NodeService) -> None:
        self.service = service
        self.reader = service.reader
        self.evm = EvmReader(service.reader.env, service.reader.tree)
        self._clients: ClientLimits | None = None
        """Per-client limits on EVM calls, made from the call pool's on first use."""
        self.chain = evm_chain_id(service.chain_id)
        self._hash = get_suite(service.suite).hash
        self.methods: dict[str, Callable[[list[Any]], Any]] = {
            "web3_clientVersion": lambda p: CLIENT_VERSION,
            "net_version": lambda p: str(self.chain),
            "net_listening": lambda p: True,
            "net_peerCount": lambda p: _qty(0),
            "eth_chainId": lambda p: _qty(self.chain),
            "eth_syncing": lambda p: False,
            "eth_accounts": lambda p: [],
            "eth_mining": lambda p: False,
            "eth_blockNumber": lambda p: _qty(self.reader.height()),
            "eth_gasPrice": lambda p: _qty(0),
            "eth_maxPriorityFeePerGas": lambda p: _qty(0),
            "eth_feeHistory": self.fee_history,
            "eth_getBlockByNumber": self.block_by_number,
            "eth_getBlockByHash": self.block_by_hash,
            "eth_getBlockTransactionCountByNumber": self.block_tx_count,
            "eth_getTransactionByHash": self.transaction_by_hash,
            "eth_getTransactionReceipt": self.receipt,
            "eth_getTransactionCount": self.transaction_count,
            "eth_getBalance": lambda p: _qty(self._account(p)[0]),
            "eth_getCode": lambda p: _data(self._account(p)[2]),
            "eth_getStorageAt": self.storage_at,
            "eth_getProof": self.get_proof,
            "eth_call": self.call,
            "eth_estimateGas": self.estimate_gas,
            "eth_sendRawTransaction": self.send_raw,
            "eth_getLogs": self.get_logs,
        }

    # ------------------------------------------------------------------ blocks

    def _height(self, tag: Any) -> int:
        latest = self.reader.height()
        if tag is None or tag in ("latest", "pending", "safe", "finalized"):
            return latest
        if tag == "earliest":
            return 0
        if isinstance(tag, dict) and "blockNumber" in tag:
            tag = tag["blockNumber"]
        height = _parse_qty(tag, "block number")
        if height > latest:
            raise RpcError(-32001, f"block {height} is not committed yet (latest {latest})")
        return height

    def _context(self, height: int) -> BlockContext:
        header = self.reader.block(height).block.header
        return BlockContext(
            chain_id=self.service.chain_id,
            height=height + 1,
            timestamp_ms=header.timestamp_ms,
            proposer=0,
        )

    def _tx_hash(self, tx: Transaction) -> bytes:
        return ethereum_hash(tx) or tx_id(self._hash, tx.body)

    def block_json(self, height: int, full: bool) -> dict[str, Any]:
        record = self.reader.block(height)
        block, header = record.block, record.block.header
        receipts = self.reader.receipts(height) if block.transactions else []
        gas_used = sum(r.gas_used for r in receipts)
        if full:
            txs: list[Any] = [
                self._tx_json(tx, i, block, record.block_id)
                for i, tx in enumerate(block.transactions)
            ]
        else:
            txs = [_data(self._tx_hash(tx)) for tx in block.transactions]
        return {
            "number": _qty(height),
            "hash": _data(record.block_id),
            "parentHash": _data(header.parent_id),
            "nonce": "0x0000000000000000",
            "sha3Uncles": EMPTY_UNCLES,
            "logsBloom": self._bloom(receipts),
            "transactionsRoot": _data(header.tx_root),
            "stateRoot": _data(self.evm.world_root(height)),
            "receiptsRoot": _data(header.receipts_root),
            "miner": _data(bytes(20)),
            "difficulty": "0x0",
            "totalDifficulty": "0x0",
            "extraData": "0x",
            "size": _qty(len(encode(block))),
            "gasLimit": _qty(self.reader.policy().block_gas_limit),
            "gasUsed": _qty(gas_used),
            "timestamp": _qty(header.timestamp_ms // 1000),
            "transactions": txs,
            "uncles": [],
            "baseFeePerGas": "0x0",
            "mixHash": _data(bytes(32)),
        }

    def block_by_number(self, params: list[Any]) -> Any:
        tag, full = [*params, None, False][:2]
        try:
            return self.block_json(self._height(tag), bool(full))
        except RpcError as exc:
            if exc.code == -32001:
                return None
            raise

    def block_by_hash(self, params: list[Any]) -> Any:
        if not params:
            raise RpcError(-32602, "missing block hash")
        block_id = _parse_hex(params[0], "block hash", length=32)
        try:
            height = self.reader.block_by_id(block_id).block.header.height
        except BlockNotFound:
            return None
        return self.block_json(height, bool(params[1]) if len(params) > 1 else False)

    def block_tx_count(self, params: list[Any]) -> Any:
        height = self._height(params[0] if params else None)
        return _qty(len(self.reader.block(height).block.transactions))

    # ------------------------------------------------------------ transactions

    def _tx_json(
        self, tx: Transaction, index: int, block: Block, block_id: bytes
    ) -> dict[str, Any]:
        body = tx.body
        out: dict[str, Any] = {
            "hash": _data(self._tx_hash(tx)),
            "nonce": _qty(body.nonce),
            "blockHash": _data(block_id),
            "blockNumber": _qty(block.header.height),
            "transactionIndex": _qty(index),
            "from": _data(body.sender),
            "to": None,
            "value": "0x0",
            "gas": _qty(body.gas_limit),
            "gasPrice": "0x0",
            "input": _data(body.args),
            "chainId": _qty(self.chain),
            "type": "0x0",
            "v": "0x0",
            "r": "0x0",
            "s": "0x0",
        }
        if tx.key_type == ETH_KEY_TYPE:
            raw = decode_raw(body.args)
            typed = raw.tx_type
            out.update(
                to=_data(raw.to) if raw.to else None,
                input=_data(raw.data),
                type=_qty(typed),
                r=_qty(raw.r),
                s=_qty(raw.s),
                v=_qty(raw.v),
            )
            if typed:
                out.update(yParity=_qty(raw.y_parity), accessList=[])
                if typed == 2:
                    out.update(maxFeePerGas="0x0", maxPriorityFeePerGas="0x0")
        elif body.module == "evm" and body.method == "call":
            call = decode(body.args, Call)
            out.update(to=_data(call.to), input=_data(call.data))
        return out

    def _lookup(self, params: list[Any]) -> Any:
        if not params:
            raise RpcError(-32602, "missing transaction hash")
        wanted = _parse_hex(params[0], "transaction hash", length=32)
        try:
            return self.reader.transaction(wanted)
        except TransactionNotFound:
            return None

    def transaction_by_hash(self, params: list[Any]) -> Any:
        record = self._lookup(params)
        if record is None:
            return None
        block = self.reader.block(record.height)
        return self._tx_json(record.tx, record.index, block.block, block.block_id)

    def _logs(self, receipt: Receipt, tx_hash: bytes, block_id: bytes, first: int) -> list[Any]:
        logs: list[dict[str, Any]] = []
        for event in receipt.events:
            if event.module != "evm" or event.name != "log":
                continue
            attrs = dict(event.attributes)
            topics = [t for t in attrs.get("topics", "").split(" ") if t]
            logs.append(
                {
                    "address": "0x" + attrs["address"],
                    "topics": ["0x" + t for t in topics],
                    "data": "0x" + attrs.get("data", ""),
                    "blockNumber": _qty(receipt.height),
                    "blockHash": _data(block_id),
                    "transactionHash": _data(tx_hash),
                    "transactionIndex": _qty(receipt.index),
                    "logIndex": _qty(first + len(logs)),
                    "removed": False,
                }
            )
        return logs

    def _bloom(self, receipts: list[Receipt]) -> str:
        bloom = BloomFilter()
        for receipt in receipts:
            for event in receipt.events:
                if event.module == "evm" and event.name == "log":
                    attrs = dict(event.attributes)
                    bloom.add(bytes.fromhex(attrs["address"]))
                    for topic in attrs.get("topics", "").split(" "):
                        if topic:
                            bloom.add(bytes.fromhex(topic))
        return "0x" + int(bloom).to_bytes(256, "big").hex()

    def receipt(self, params: list[Any]) -> Any:
        record = self._lookup(params)
        if record is None or record.receipt is None:
            return None
        block = self.reader.block(record.height)
        receipts = self.reader.receipts(record.height)
        tx_hash = self._tx_hash(record.tx)
        first_log = sum(
            sum(1 for e in r.events if e.module == "evm" and e.name == "log")
            for r in receipts[: record.index]
        )
        receipt = record.receipt
        created = next(
            (dict(e.attributes) for e in receipt.events if e.name == "contract_created"), None
        )
        tx_json = self._tx_json(record.tx, record.index, block.block, block.block_id)
        return {
            "transactionHash": _data(tx_hash),
            "transactionIndex": _qty(record.index),
            "blockHash": _data(block.block_id),
            "blockNumber": _qty(record.height),
            "from": tx_json["from"],
            "to": tx_json["to"],
            "cumulativeGasUsed": _qty(sum(r.gas_used for r in receipts[: record.index + 1])),
            "gasUsed": _qty(receipt.gas_used),
            "effectiveGasPrice": "0x0",
            "contractAddress": "0x" + created["address"] if created else None,
            "logs": self._logs(receipt, tx_hash, block.block_id, first_log),
            "logsBloom": self._bloom([receipt]),
            "status": "0x1" if receipt.status == "OK" else "0x0",
            "type": tx_json["type"],
        }

    def transaction_count(self, params: list[Any]) -> Any:
        if not params:
            raise RpcError(-32602, "missing address")
        address = _parse_hex(params[0], "address", length=20)
        tag = params[1] if len(params) > 1 else "latest"
        executed = self.reader.next_nonce(address)
        if tag == "pending":
            return _qty(self.service.mempool.pending_nonce(address, executed))
        self._height(tag)
        return _qty(executed)

    # --------------------------------------------------------------- accounts

    def _account(self, params: list[Any]) -> tuple[int, int, bytes]:
        if not params:
            raise RpcError(-32602, "missing address")
        address = _parse_hex(params[0], "address", length=20)
        height = self._height(params[1] if len(params) > 1 else None)
        return self.evm.account(address, height, self._context(height), self.reader.policy())

    def storage_at(self, params: list[Any]) -> Any:
        if len(params) < 2:
            raise RpcError(-32602, "expected [address, slot, block]")
        address = _parse_hex(params[0], "address", length=20)
        slot = _parse_qty(params[1], "slot")
        height = self._height(params[2] if len(params) > 2 else None)
        value = self.evm.storage(address, slot, height, self._context(height), self.reader.policy())
        return _data(value.to_bytes(32, "big"))

    def get_proof(self, params: list[Any]) -> Any:
        if len(params) < 2 or not isinstance(params[1], list):
            raise RpcError(-32602, "expected [address, [slots], block]")
        address = _parse_hex(params[0], "address", length=20)
        slots = [_parse_qty(slot, "storage key") for slot in params[1]]
        height = self._height(params[2] if len(params) > 2 else None)
        proof = self.evm.proof(address, slots, height)
        return {
            "address": _data(address),
            "accountProof": [_data(node) for node in proof.account_proof],
            "balance": _qty(proof.balance),
            "codeHash": _data(proof.code_hash),
            "nonce": _qty(proof.nonce),
            "storageHash": _data(proof.storage_root),
            "storageProof": [
                {"key": _qty(slot), "value": _qty(value), "proof": [_data(n) for n in nodes]}
                for slot, value, nodes in proof.storage
            ],
        }

    # ------------------------------------------------------------------ calls

    async def _run_call(self, params: list[Any]) -> tuple[CallResult, int]:
        """Run a call in the node's EVM call pool, within this client's limits ([NODE-READS.1]).

        Limits refused (client rate or concurrency, busy pool, gas cap, time
        budget) answer -32005 with the stable code in ``data.code``.
        """
        if not params or not isinstance(params[0], dict):
            raise RpcError(-32602, "expected a call object")
        call = params[0]
        height = self._height(params[1] if len(params) > 1 else None)
        policy = self.reader.policy()
        sender = _parse_hex(call["from"], "from", length=20) if call.get("from") else bytes(20)
        to = _parse_hex(call["to"], "to", length=20) if call.get("to") else b""
        data = _parse_hex(call.get("data") or call.get("input") or "0x", "data")
        if call.get("value") and _parse_qty(call["value"], "value"):
            raise RpcError(-32000, "value transfers are not supported (the chain has no coin)")
        limit = _parse_qty(call["gas"], "gas") if call.get("gas") else policy.max_tx_gas
        request = CallRequest(
            sender=sender,
            to=to,
            data=data,
            gas=min(limit, policy.max_tx_gas),
            version=height,
            block=self._context(height),
            policy=policy,
        )
        calls = self.service.calls
        if calls is None:
            raise RpcError(
                -32005, "this node does not serve EVM calls", {"code": "READ_POOL_CLOSED"}
            )
        if self._clients is None:
            self._clients = ClientLimits(
                rate=calls.limits.client_rate, in_flight=calls.limits.client_in_flight
            )
        try:
            with self._clients.admit(current_client.get()):
                result = await calls.call(request)
        except (ClientLimited, ReadLimitError) as exc:
            raise RpcError(-32005, exc.message, {"code": exc.code}) from None
        if result.error == "revert":
            raise RpcError(
                3, f"execution reverted: {revert_reason(result.output)}", _data(result.output)
            )
        if result.error is not None:
            raise RpcError(-32000, result.error)
        return result, len(data)

    async def call(self, params: list[Any]) -> Any:
        result, _ = await self._run_call(params)
        return _data(result.output)

    async def estimate_gas(self, params: list[Any]) -> Any:
        result, size = await self._run_call(params)
        # The envelope adds its own metered costs to the EVM's ([EXEC-GAS.1]).
        envelope_cost = native_gas.TX_BASE + native_gas.PER_TX_BYTE * (size + 512)
        return _qty((result.gas_used + envelope_cost) * 5 // 4)

    def fee_history(self, params: list[Any]) -> Any:
        count = min(_parse_qty(params[0], "block count") if params else 1, 1024)
        newest = self._height(params[1] if len(params) > 1 else None)
        oldest = max(0, newest - count + 1)
        blocks = newest - oldest + 1
        percentiles = params[2] if len(params) > 2 and isinstance(params[2], list) else []
        limit = self.reader.policy().block_gas_limit
        ratios = [
            sum(r.gas_used for r in self.reader.receipts(h)) / limit
            for h in range(oldest, newest + 1)
        ]
        return {
            "oldestBlock": _qty(oldest),
            "baseFeePerGas": ["0x0"] * (blocks + 1),
            "gasUsedRatio": ratios,
            "reward": [["0x0"] * len(percentiles) for _ in range(blocks)],
        }

    # ---------------------------------------------------------------- sending

    async def send_raw(self, params: list[Any]) -> Any:
        (answer,) = await self._send_raws([params])
        if isinstance(answer, RpcError):
            raise answer
        return answer

    async def _send_raws(self, requests: list[list[Any]]) -> list[Any]:
        """Admit the raw transactions of ``eth_sendRawTransaction`` params, in order.

        Each envelope's key is recovered off the event loop, which is also its
        signature check, and the valid ones are admitted in one batch; per request
        the transaction hash or an :class:`RpcError`.
        """
        answers: list[Any] = []
        raws: list[bytes] = []
        for params in requests:
            try:
                if not params:
                    raise RpcError(-32602, "missing raw transaction")
                raws.append(_parse_hex(params[0], "raw transaction"))
                answers.append(None)
            except RpcError as exc:
                answers.append(exc)
        wrapped = await asyncio.to_thread(_envelopes, raws, self.service.chain_id, self.chain)
        slots = [i for i, answer in enumerate(answers) if answer is None]
        admit: list[tuple[int, bytes, bytes]] = []  # (slot, raw, encoded envelope)
        for slot, raw, tx in zip(slots, raws, wrapped, strict=True):
            if isinstance(tx, EthTxInvalid):
                answers[slot] = RpcError(-32000, tx.message, {"code": tx.code})
            else:
                admit.append((slot, raw, encode(tx)))
        outcomes = await self.service.submit_many([e for _, _, e in admit], verified=True)
        for (slot, raw, _), outcome in zip(admit, outcomes, strict=True):
            answers[slot] = (
                RpcError(-32000, outcome.message, {"code": outcome.code})
                if isinstance(outcome, NodeError)
                else _data(keccak256(raw))
            )
        return answers

    async def handle_batch(self, requests: list[Any]) -> list[dict[str, Any]]:
        """Answer a batch (JSON-RPC 2.0 lets a server take its requests in any order).

        Its ``eth_sendRawTransaction`` requests are admitted together, in batch
        order, before the others: one signature pass and one pool update instead
        of one per transaction. Answers keep the batch's order.
        """
        sends = [i for i, r in enumerate(requests) if _is_send(r)]
        answers: dict[int, dict[str, Any] | None] = {}
        if sends:
            results = await self._send_raws([requests[i].get("params", []) for i in sends])
            for i, result in zip(sends, results, strict=True):
                if "id" not in requests[i]:
                    answers[i] = None  # a notification
                elif isinstance(result, RpcError):
                    answers[i] = _error(requests[i]["id"], result)
                else:
                    answers[i] = {"jsonrpc": "2.0", "id": requests[i]["id"], "result": result}
        for i, request in enumerate(requests):
            if i not in answers:
                answers[i] = await self.handle(request)
        return [a for i in range(len(requests)) if (a := answers[i]) is not None]

    # ------------------------------------------------------------------- logs

    def get_logs(self, params: list[Any]) -> Any:
        query = params[0] if params and isinstance(params[0], dict) else {}
        if "blockHash" in query:
            block_id = _parse_hex(query["blockHash"], "blockHash", length=32)
            try:
                first = last = self.reader.block_by_id(block_id).block.header.height
            except BlockNotFound:
                raise RpcError(-32001, "unknown block hash") from None
        else:
            first = self._height(query.get("fromBlock", "latest"))
            last = self._height(query.get("toBlock", "latest"))
        if last - first >= MAX_LOG_BLOCKS:
            raise RpcError(-32005, f"query spans more than {MAX_LOG_BLOCKS} blocks")
        wanted_addresses, topics = _log_filter(query)
        found = []
        for height in range(first, last + 1):
            record = self.reader.block(height)
            if not record.block.transactions:
                continue
            count = 0
            for receipt, tx in zip(
                self.reader.receipts(height), record.block.transactions, strict=True
            ):
                logs = self._logs(receipt, self._tx_hash(tx), record.block_id, count)
                count += len(logs)
                found += [log for log in logs if _matches(log, wanted_addresses, topics)]
        return found

    def logs_of_block(self, height: int, query: dict[str, Any]) -> list[Any]:
        """The logs of one block that match a filter's address and topics."""
        only = {k: v for k, v in query.items() if k in ("address", "topics")}
        found: list[Any] = self.get_logs(
            [{**only, "fromBlock": _qty(height), "toBlock": _qty(height)}]
        )
        return found

    # ------------------------------------------------------------- dispatching

    async def handle(self, request: Any) -> dict[str, Any] | None:
        """Answer one JSON-RPC request object (None for a notification)."""
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
            return _error(None, RpcError(-32600, "not a JSON-RPC 2.0 request"))
        ident = request.get("id")
        method = request.get("method")
        params = request.get("params", [])
        if not isinstance(method, str) or not isinstance(params, list):
            return _error(ident, RpcError(-32600, "method must be a string, params an array"))
        handler = self.methods.get(method)
        try:
            if handler is None:
                raise RpcError(-32601, f"the method {method} does not exist/is not available")
            result = handler(params)
            if hasattr(result, "__await__"):
                result = await result
        except RpcError as exc:
            return _error(ident, exc)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            return _error(ident, RpcError(-32602, f"invalid params: {exc}"))
        except Exception:  # never a 500: the client gets an answer, the log the trace
            log.exception("JSON-RPC %s failed", method)
            return _error(ident, RpcError(-32603, "internal error"))
        if "id" not in request:
            return None
        return {"jsonrpc": "2.0", "id": ident, "result": result}


def _log_filter(query: dict[str, Any]) -> tuple[set[str] | None, list[Any]]:
    """The ``address`` and ``topics`` of a log filter, checked and as lowercase 0x hex.

    Raises RpcError -32602 naming the field: an address is 20 bytes of hex, a
    topic 32 bytes, null (any) or a list of them (any of).
    """
    addresses = query.get("address")
    if isinstance(addresses, str):
        addresses = [addresses]
    if addresses is not None and not isinstance(addresses, list):
        raise RpcError(-32602, "address must be an address or a list of addresses")
    wanted = {_data(_parse_hex(a, "address", length=20)) for a in addresses} if addresses else None
    topics = query.get("topics") or []
    if not isinstance(topics, list):
        raise RpcError(-32602, "topics must be a list")
    checked: list[Any] = []
    for position, topic in enumerate(topics):
        what = f"topics[{position}]"
        if topic is None:
            checked.append(None)
        elif isinstance(topic, list):
            checked.append([_data(_parse_hex(t, what, length=32)) for t in topic if t is not None])
        else:
            checked.append(_data(_parse_hex(topic, what, length=32)))
    return wanted, checked


def _matches(log: dict[str, Any], addresses: set[str] | None, topics: list[Any]) -> bool:
    if addresses is not None and log["address"].lower() not in addresses:
        return False
    for position, wanted in enumerate(topics):
        if wanted is None:
            continue
        options = wanted if isinstance(wanted, list) else [wanted]
        if position >= len(log["topics"]) or log["topics"][position].lower() not in {
            o.lower() for o in options
        }:
            return False
    return True


def _is_send(request: Any) -> bool:
    """A well-formed ``eth_sendRawTransaction`` request object."""
    return (
        isinstance(request, dict)
        and request.get("jsonrpc") == "2.0"
        and request.get("method") == "eth_sendRawTransaction"
        and isinstance(request.get("params", []), list)
    )


def _envelopes(
    raws: list[bytes], chain_id: str, evm_chain: int
) -> list[Transaction | EthTxInvalid]:
    """Each raw transaction's envelope (recovering its key checks its signature)."""
    out: list[Transaction | EthTxInvalid] = []
    for raw in raws:
        try:
            out.append(envelope(raw, chain_id, evm_chain))
        except EthTxInvalid as exc:
            out.append(exc)
    return out


def _error(ident: Any, exc: RpcError) -> dict[str, Any]:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.data is not None:
        error["data"] = exc.data
    return {"jsonrpc": "2.0", "id": ident, "error": error}


MAX_SUBSCRIPTIONS: Final = 32
"""``eth_subscribe`` subscriptions one WebSocket holds at once: each one is work on
the event loop at every block, so a socket past it gets -32005
``API_TOO_MANY_SUBSCRIPTIONS`` until it unsubscribes one."""


class Subscriptions:
    """``eth_subscribe`` state of one WebSocket: ``newHeads`` and ``logs`` subscriptions."""

    def __init__(self, rpc: EthRpc) -> None:
        self._rpc = rpc
        self._subs: dict[str, tuple[str, dict[str, Any]]] = {}
        self._next = 0

    def handle(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """Answer eth_subscribe / eth_unsubscribe; None for any other method."""
        method, params, ident = request.get("method"), request.get("params", []), request.get("id")
        if method not in ("eth_subscribe", "eth_unsubscribe"):
            return None
        if request.get("jsonrpc") != "2.0" or not isinstance(params, list):
            return _error(ident, RpcError(-32600, "not a JSON-RPC 2.0 request with params array"))
        if method == "eth_subscribe":
            kind = params[0] if params else None
            if kind not in ("newHeads", "logs"):
                return _error(ident, RpcError(-32602, f"unsupported subscription {kind!r}"))
            query = params[1] if len(params) > 1 else {}
            if not isinstance(query, dict):
                return _error(ident, RpcError(-32602, "a logs filter must be an object"))
            try:
                _log_filter(query)  # refused now, not at the next block
            except RpcError as exc:
                return _error(ident, exc)
            if len(self._subs) >= MAX_SUBSCRIPTIONS:
                return _error(
                    ident,
                    RpcError(
                        -32005,
                        f"at most {MAX_SUBSCRIPTIONS} subscriptions per WebSocket; "
                        "eth_unsubscribe one first",
                        {"code": "API_TOO_MANY_SUBSCRIPTIONS"},
                    ),
                )
            self._next += 1
            sub = hex(self._next)
            self._subs[sub] = (kind, query)
            return {"jsonrpc": "2.0", "id": ident, "result": sub}
        found = bool(params) and self._subs.pop(str(params[0]), None) is not None
        return {"jsonrpc": "2.0", "id": ident, "result": found}

    def notifications(self, height: int) -> list[dict[str, Any]]:
        """What the subscriptions receive for a newly executed block."""
        out = []
        for sub, (kind, query) in self._subs.items():
            if kind == "newHeads":
                head = self._rpc.block_json(height, False)
                del head["transactions"]
                results = [head]
            else:
                results = self._rpc.logs_of_block(height, query)
            out += [
                {
                    "jsonrpc": "2.0",
                    "method": "eth_subscription",
                    "params": {"subscription": sub, "result": result},
                }
                for result in results
            ]
        return out


def router(service: NodeService, sockets: SocketLimits) -> APIRouter:
    """``POST /rpc`` and the same over ``WS /rpc`` with ``eth_subscribe``.

    WebSockets count against their client's budget in ``sockets`` ([API-CLIENT-LIMIT.2]).
    """
    api = APIRouter(tags=["json-rpc"])
    rpc = EthRpc(service)

    @api.post(
        "/rpc",
        summary="Ethereum JSON-RPC 2.0 (docs/contracts.md)",
        description="eth_*, net_* and web3_* methods for standard Ethereum clients.",
    )
    async def json_rpc(request: Request) -> Response:
        try:
            payload = _decode_request(await request.body())
        except RpcError as exc:
            return JSONResponse(_error(None, exc))
        if isinstance(payload, list):
            return JSONResponse(await rpc.handle_batch(payload))
        answer = await rpc.handle(payload)
        return JSONResponse(answer) if answer is not None else Response(status_code=204)

    @api.websocket("/rpc")
    async def json_rpc_socket(socket: WebSocket) -> None:
        try:
            with sockets.hold(current_client.get()):
                await _serve_socket(socket, rpc, service)
        except TooManySockets as refusal:
            await refuse_socket(socket, refusal)

    return api


async def _serve_socket(socket: WebSocket, rpc: EthRpc, service: NodeService) -> None:
    """Answer JSON-RPC frames on ``socket`` and push its subscriptions' notifications."""
    await socket.accept()
    subscriptions = Subscriptions(rpc)
    async with service.events.subscribe() as subscription:
        receive: asyncio.Task[Message] = asyncio.ensure_future(socket.receive())
        event: asyncio.Task[Any] = asyncio.ensure_future(subscription.get())
        try:
            while True:
                done, _ = await asyncio.wait({receive, event}, return_when=asyncio.FIRST_COMPLETED)
                if event in done:
                    for item in event.result():
                        if item is LAGGED:
                            await socket.close(code=1013, reason="subscriber fell behind")
                            return
                        if item.get("type") == "block":
                            for note in subscriptions.notifications(int(item["height"])):
                                await socket.send_json(note)
                    event = asyncio.ensure_future(subscription.get())
                if receive in done:
                    message = receive.result()
                    if message["type"] == "websocket.disconnect":
                        return
                    answer, close = await _socket_answer(rpc, subscriptions, message)
                    if answer is not None:
                        await socket.send_json(answer)
                    if close is not None:
                        await socket.close(code=close[0], reason=close[1])
                        return
                    receive = asyncio.ensure_future(socket.receive())
        except WebSocketDisconnect:
            return
        finally:
            receive.cancel()
            event.cancel()


def _decode_request(data: bytes | str) -> Any:
    """A JSON-RPC request or a 1..MAX_BATCH batch from client bytes, with the one decoder.

    Raises RpcError: -32700 not JSON, or beyond the decoder's depth or container
    limits (its code in ``data.code``), -32600 too large or an empty/oversized batch.
    """
    try:
        payload = decode_json(data, max_bytes=MAX_REQUEST_BYTES)
    except BodyTooLarge:
        raise RpcError(
            -32600,
            f"request too large (limit {MAX_REQUEST_BYTES} bytes)",
            {"code": BodyTooLarge.code},
        ) from None
    except (MalformedJson, JsonTooDeep, JsonTooComplex) as exc:
        raise RpcError(-32700, f"parse error: {exc.message}", {"code": exc.code}) from None
    if isinstance(payload, list) and not 1 <= len(payload) <= MAX_BATCH:
        raise RpcError(-32600, f"a batch holds 1 to {MAX_BATCH} requests")
    return payload


async def _socket_answer(
    rpc: EthRpc, subscriptions: Subscriptions, message: Message
) -> tuple[Any, tuple[int, str] | None]:
    """The answer to one WebSocket frame, and the (code, reason) to close with after it.

    A frame that is not a JSON-RPC request (binary, not JSON, too deep, too
    large, not a request object) gets its error and then a close frame: the
    client does not speak the protocol. Errors in a valid request's params keep
    the socket open, as they keep an HTTP connection.
    """
    text = message.get("text")
    if text is None:
        error = RpcError(-32600, "JSON-RPC frames are text, not binary")
        return _error(None, error), (CLOSE_UNSUPPORTED, "binary frame")
    try:
        request = _decode_request(text)
    except RpcError as exc:
        too_big = isinstance(exc.data, dict) and exc.data.get("code") == BodyTooLarge.code
        return _error(None, exc), (CLOSE_TOO_BIG if too_big else CLOSE_PROTOCOL, _reason(exc))
    if isinstance(request, list):
        return await rpc.handle_batch(request) or None, None
    answer = subscriptions.handle(request) if isinstance(request, dict) else None
    if answer is None:
        answer = await rpc.handle(request)
    if answer is not None and answer.get("error", {}).get("code") in (-32700, -32600):
        return answer, (CLOSE_PROTOCOL, _reason(answer["error"]["message"]))
    return answer, None


def _reason(error: RpcError | str) -> str:
    """A close frame's reason: the error's message within the 123 bytes a close frame holds."""
    text = error.message if isinstance(error, RpcError) else error
    return text.encode("utf-8")[:120].decode("utf-8", "ignore")
