"""``eth_*`` reads of the EVM world: accounts, storage, proofs, calls and gas estimates.

Calls run in the node's EVM call pool within the calling client's limits
([NODE-READS.1], [API-CLIENT-LIMIT.1]); refused limits answer -32005 with the
stable code in ``data.code``.
"""

from __future__ import annotations

from typing import Any

from consortia.api.client_limits import ClientLimited, ClientLimits, current_client
from consortia.api.rpc_envelope import LIMIT_EXCEEDED, REJECTED, REVERTED, RpcError
from consortia.api.rpc_eth_objects import EthObjects, data, qty
from consortia.api.rpc_params import BlockRef, CallObject
from consortia.evm.module import revert_reason
from consortia.evm.reader import CallResult
from consortia.execution import gas as native_gas
from consortia.node.read_pool import CallRequest, ReadLimitError


class EthState:
    """EVM world reads of one node, and calls against it."""

    def __init__(self, objects: EthObjects, clients: ClientLimits | None) -> None:
        """``clients``: the per-client call limits, None when the node serves no calls."""
        self.objects = objects
        self.service = objects.service
        self.reader = objects.reader
        self.clients = clients

    def account(self, address: bytes, ref: BlockRef) -> tuple[int, int, bytes]:
        """(balance, nonce, code) of ``address`` at ``ref``."""
        height = self.objects.height(ref)
        return self.objects.evm.account(
            address, height, self.objects.context(height), self.reader.policy()
        )

    def balance(self, address: bytes, ref: BlockRef) -> str:
        """``eth_getBalance``."""
        return qty(self.account(address, ref)[0])

    def code(self, address: bytes, ref: BlockRef) -> str:
        """``eth_getCode``."""
        return data(self.account(address, ref)[2])

    def transaction_count(self, address: bytes, ref: BlockRef) -> str:
        """``eth_getTransactionCount``: executed nonce, or with the mempool's for ``pending``."""
        executed = self.reader.next_nonce(address)
        if ref.tag == "pending":
            return qty(self.service.mempool.pending_nonce(address, executed))
        self.objects.height(ref)
        return qty(executed)

    def storage_at(self, address: bytes, slot: int, ref: BlockRef) -> str:
        """``eth_getStorageAt``."""
        height = self.objects.height(ref)
        value = self.objects.evm.storage(
            address, slot, height, self.objects.context(height), self.reader.policy()
        )
        return data(value.to_bytes(32, "big"))

    def proof(self, address: bytes, slots: list[int], ref: BlockRef) -> Any:
        """``eth_getProof`` (EIP-1186)."""
        height = self.objects.height(ref)
        proof = self.objects.evm.proof(address, slots, height)
        return {
            "address": data(address),
            "accountProof": [data(node) for node in proof.account_proof],
            "balance": qty(proof.balance),
            "codeHash": data(proof.code_hash),
            "nonce": qty(proof.nonce),
            "storageHash": data(proof.storage_root),
            "storageProof": [
                {"key": qty(slot), "value": qty(value), "proof": [data(n) for n in nodes]}
                for slot, value, nodes in proof.storage
            ],
        }

    async def _run_call(self, call: CallObject, ref: BlockRef) -> CallResult:
        """Run ``call`` in the node's EVM call pool, within this client's limits."""
        height = self.objects.height(ref)
        policy = self.reader.policy()
        if call.value:
            raise RpcError(REJECTED, "value transfers are not supported (the chain has no coin)")
        limit = policy.max_tx_gas if call.gas is None else call.gas
        request = CallRequest(
            sender=call.sender,
            to=call.to,
            data=call.data,
            gas=min(limit, policy.max_tx_gas),
            version=height,
            block=self.objects.context(height),
            policy=policy,
        )
        calls = self.service.calls
        if calls is None or self.clients is None:
            raise RpcError(
                LIMIT_EXCEEDED, "this node does not serve EVM calls", {"code": "READ_POOL_CLOSED"}
            )
        try:
            with self.clients.admit(current_client.get()):
                result = await calls.call(request)
        except (ClientLimited, ReadLimitError) as exc:
            raise RpcError(LIMIT_EXCEEDED, exc.message, {"code": exc.code}) from None
        if result.error == "revert":
            raise RpcError(
                REVERTED, f"execution reverted: {revert_reason(result.output)}", data(result.output)
            )
        if result.error is not None:
            raise RpcError(REJECTED, result.error)
        return result

    async def call(self, call: CallObject, ref: BlockRef) -> str:
        """``eth_call``: the call's return data."""
        return data((await self._run_call(call, ref)).output)

    async def estimate_gas(self, call: CallObject, ref: BlockRef) -> str:
        """``eth_estimateGas``: the EVM's gas plus the envelope's metered costs, with margin."""
        result = await self._run_call(call, ref)
        # The envelope adds its own metered costs to the EVM's ([EXEC-GAS.1]).
        envelope_cost = native_gas.TX_BASE + native_gas.PER_TX_BYTE * (len(call.data) + 512)
        return qty((result.gas_used + envelope_cost) * 5 // 4)
