"""The EVM rules and block context, fixed by consensus ([EVM-CTX.1] in docs/contracts.md).

One place for what every EVM entry point shares: the fork, how a world state
is opened at a root, and how a message's gas used is counted.

The chain has no native coin: a transaction cannot carry value (ethtx
rejects it), gas price and base fee are zero, so every EVM balance is zero
forever and py-evm's fee bookkeeping only ever moves zero. :class:`ZeroFeeState`
skips those zero moves; the trie it builds is the one Cancun's would
(argued on the class).
"""

from __future__ import annotations

from typing import Any, Final

from eth.constants import ZERO_ADDRESS, ZERO_HASH32
from eth.db.atomic import AtomicDB
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.cancun import CancunVM
from eth.vm.forks.cancun.state import CancunState
from eth_typing import Address, BlockNumber, Hash32
from eth_utils.logging import ExtendedDebugLogger, get_extended_debug_logger

from consortia.crypto import sha256
from consortia.evm.world import BatchedAccountDB, NodeCache
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


class ZeroFeeState(CancunState):
    """Cancun's world state, minus the balance updates that move zero ([EVM-CTX.1]).

    py-evm charges the sender ``gas * price`` before a message, pays the
    coinbase ``gas_used * tip`` after it and moves a SELFDESTRUCTed
    contract's balance to its beneficiary, each through ``delta_balance``.
    Here every one of those amounts is zero (no coin, price zero), so
    Cancun's ``delta_balance(a, 0)`` rewrites ``a``'s account unchanged or,
    if ``a`` has no account, creates an empty one. The trie is the same
    without it:

    * the sender's account is written by the nonce increment right after;
    * the coinbase (the zero address) is in every transaction's EIP-161
      touched set, so an empty account created for it is deleted again at
      the transaction's end; without it there is nothing to delete (an
      account at the zero address can never be non-empty: no key or CREATE
      yields it);
    * a SELFDESTRUCT beneficiary is touched (and its new empty account
      deleted) if the frame succeeds; if the frame fails, its writes are
      reverted anyway.

    Empty accounts therefore never outlive a transaction, with or without
    this class; ``tests/evm/test_world_roots.py`` checks the roots.

    Its account database batches each contract's storage writes per block
    (:class:`~consortia.evm.world.BatchedAccountDB`), and its logger is made
    once, not on every access (py-evm builds it per property read, twice a
    transaction, for debug lines that are off).
    """

    account_db_class = BatchedAccountDB
    _LOGGER: Final = get_extended_debug_logger("eth.vm.state.ZeroFeeState")

    def __init__(
        self,
        db: AtomicDB,
        context: ExecutionContext,
        state_root: Hash32,
        cache: NodeCache | None = None,
    ) -> None:
        # BaseState.__init__ of py-evm 0.12.1b1 (pinned), with the node cache passed on.
        self._db = db
        self.execution_context = context
        self._account_db = BatchedAccountDB(db, state_root, cache)
        self.set_system_contracts()

    @property
    def logger(self) -> ExtendedDebugLogger:
        """py-evm's debug logger for this state class (one instance)."""
        return self._LOGGER

    def delta_balance(self, address: Address, delta: int) -> None:
        """Add ``delta`` to ``address``'s balance; a zero delta writes nothing (see class)."""
        if delta:
            super().delta_balance(address, delta)


def open_world(
    db: AtomicDB,
    root: bytes,
    block: BlockContext,
    policy: ChainPolicy,
    cache: NodeCache | None = None,
) -> Any:
    """A py-evm world state at trie ``root`` over ``db``, in ``block``'s context.

    ``cache``: decoded trie nodes of the state tree ``db`` belongs to
    (:func:`~consortia.evm.world.node_cache`); never one of another tree.
    """
    return ZeroFeeState(db, execution_context(block, policy), Hash32(root), cache)


def gas_used(gas: int, computation: Any) -> int:
    """Gas a message given ``gas`` used, refunds deducted as in Ethereum (at most a fifth)."""
    spent = gas - computation.get_gas_remaining()
    return int(spent - min(computation.get_gas_refund(), spent // 5))
