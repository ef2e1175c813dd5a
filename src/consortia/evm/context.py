"""The block context the EVM sees, fixed by consensus ([EVM-CTX.1] in docs/contracts.md)."""

from __future__ import annotations

from eth.constants import ZERO_ADDRESS, ZERO_HASH32
from eth.vm.execution_context import ExecutionContext
from eth_typing import BlockNumber

from consortia.crypto import sha256
from consortia.execution.module import BlockContext
from consortia.execution.policy import ChainPolicy


def evm_chain_id(chain_id: str) -> int:
    """The EIP-155 chain id of a Consortia chain: 31 bits of SHA-256 of its id."""
    return int.from_bytes(sha256(b"consortia/evm-chain-id\x00" + chain_id.encode())[:4], "big") >> 1


def execution_context(block: BlockContext, policy: ChainPolicy) -> ExecutionContext:
    """py-evm's block context for ``block`` ([EVM-CTX.1])."""
    return ExecutionContext(
        coinbase=ZERO_ADDRESS,
        timestamp=block.timestamp_ms // 1000,
        block_number=BlockNumber(block.height),
        difficulty=0,
        mix_hash=ZERO_HASH32,
        gas_limit=policy.block_gas_limit,
        prev_hashes=(),
        chain_id=evm_chain_id(block.chain_id),
        base_fee_per_gas=0,
        excess_blob_gas=0,
    )
