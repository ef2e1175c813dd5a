"""``eth_sendRawTransaction``: Ethereum-signed transactions into the mempool.

A batch's ``eth_sendRawTransaction`` calls are admitted together, in batch
order: one signature pass off the event loop and one pool update instead of
one per transaction.
"""

from __future__ import annotations

import asyncio
from typing import Any

from consortia.api.rpc_envelope import REJECTED, RpcError
from consortia.api.rpc_eth_objects import data
from consortia.codec import encode
from consortia.crypto import keccak256
from consortia.errors import NodeError
from consortia.evm.errors import EthTxInvalid
from consortia.evm.ethtx import envelope
from consortia.ledger.types import Transaction
from consortia.node.service import NodeService


class EthSend:
    """Admits raw Ethereum transactions to one node's mempool."""

    def __init__(self, service: NodeService, evm_chain: int) -> None:
        self.service = service
        self.evm_chain = evm_chain

    async def send_raw(self, raw: bytes) -> str:
        """``eth_sendRawTransaction``: the transaction's keccak hash once admitted."""
        (answer,) = await self.send_many([[raw]])
        if isinstance(answer, RpcError):
            raise answer
        return str(answer)

    async def send_many(self, calls: list[list[Any]]) -> list[Any]:
        """Admit the raw transactions of several calls (each ``[raw]``), in order.

        Each envelope's key is recovered off the event loop, which is also its
        signature check, and the valid ones are admitted in one batch; per call
        the transaction hash or an :class:`RpcError` (-32000, code in ``data``).
        """
        raws: list[bytes] = [raw for (raw,) in calls]
        wrapped = await asyncio.to_thread(_envelopes, raws, self.service.chain_id, self.evm_chain)
        answers: list[Any] = [None] * len(raws)
        admit: list[tuple[int, bytes, bytes]] = []  # (slot, raw, encoded envelope)
        for slot, (raw, tx) in enumerate(zip(raws, wrapped, strict=True)):
            if isinstance(tx, EthTxInvalid):
                answers[slot] = RpcError(REJECTED, tx.message, {"code": tx.code})
            else:
                admit.append((slot, raw, encode(tx)))
        outcomes = await self.service.submit_many([e for _, _, e in admit], verified=True)
        for (slot, raw, _), outcome in zip(admit, outcomes, strict=True):
            answers[slot] = (
                RpcError(REJECTED, outcome.message, {"code": outcome.code})
                if isinstance(outcome, NodeError)
                else data(keccak256(raw))
            )
        return answers


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
