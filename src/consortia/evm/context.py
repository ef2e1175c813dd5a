"""The EVM rules and block context, fixed by consensus ([EVM-CTX.1] in docs/contracts.md).

One place for what every EVM entry point shares: the fork, how a world state
is opened at a root, and how a message's gas used is counted.
"""

from __future__ import annotations

from typing import Any, Final

from eth.constants import ZERO_ADDRESS, ZERO_HASH32
from eth.db.atomic import AtomicDB
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.cancun import CancunVM
from eth_typing import BlockNumber

from consortia.crypto import sha256
from consortia.execution.module import BlockContext
from consortia.execution.policy import ChainPolicy

VM: Final = CancunVM
"""The rules contracts run under: Cancun (PUSH0, MCOPY, transient storage; no blob txs)."""


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


def open_world(db: AtomicDB, root: bytes, block: BlockContext, policy: ChainPolicy) -> Any:
    """A py-evm world state at trie ``root`` over ``db``, in ``block``'s context."""
    return VM.get_state_class()(db, execution_context(block, policy), root)


def gas_used(gas: int, computation: Any) -> int:
    """Gas a message given ``gas`` used, refunds deducted as in Ethereum (at most a fifth)."""
    spent = gas - computation.get_gas_remaining()
    return int(spent - min(computation.get_gas_refund(), spent // 5))
