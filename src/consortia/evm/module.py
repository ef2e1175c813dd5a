"""The ``evm`` native module: deploy and call EVM contracts from native transactions.

A native transaction signed with any key type the chain allows (SM2
included) deploys or calls a contract; the EVM sees the sender's 20-byte
address. Execution is py-evm's Cancun rules (PUSH0, MCOPY, transient storage;
no blob transactions)
with a block context fixed by consensus ([EVM-CTX.1] in docs/contracts.md):

* ``NUMBER`` is the block height and ``TIMESTAMP`` the proposer's timestamp
  in whole seconds (never below the parent's, see the ledger spec);
* ``CHAINID`` is :func:`evm_chain_id` of the chain id;
* ``GASLIMIT`` is ``policy.block_gas_limit``; ``COINBASE``, ``PREVRANDAO``
  and ``BASEFEE`` are zero and ``BLOCKHASH`` answers zero: nothing local or
  random reaches a contract.

Gas: whatever the transaction's gas limit leaves after the envelope's own
charges is the EVM's gas, and the EVM's gas used (intrinsic cost included,
refunds deducted as in Ethereum) is charged to the transaction. Gas price is
zero: consortium chains meter, they do not charge.

One py-evm world state is opened at a block's first EVM call and kept for the
block; its trie root is computed once, at the block's end (``end_block``),
and written to chain state — the per-transaction root of Ethereum is what
makes py-evm slow (DESIGN.md §3, ~330 vs ~1,800 transfers/s).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import eth.exceptions
import rlp
from eth.vm.spoof import SpoofTransaction
from eth_typing import Address
from eth_utils.exceptions import ValidationError

from consortia.crypto import keccak256
from consortia.evm.audit.report import AuditReport
from consortia.evm.context import VM, gas_used, open_world
from consortia.evm.errors import EvmFailed, EvmReverted
from consortia.evm.ethtx import ETH_METHOD, decode_raw
from consortia.evm.events import EVENTS, ContractCreated, Log, Returned
from consortia.evm.gate import check_deployment, submit_audit
from consortia.evm.types import Call, ContractRecord, Deploy, contract_record_key
from consortia.evm.world import WORLD_ROOT_KEY, node_cache, world_db, world_root
from consortia.execution.errors import ModuleError
from consortia.execution.events import EventStruct
from consortia.execution.module import BlockEndContext, Method, TxContext
from consortia.execution.state_view import StateView

_SCRATCH: Final = "evm"
_ERROR_SELECTOR: Final = keccak256(b"Error(string)")[:4]


def contract_address(sender: bytes, nonce: int) -> bytes:
    """The CREATE address of ``sender``'s contract deployed at EVM nonce ``nonce``."""
    return keccak256(rlp.encode([sender, nonce]))[12:]


def revert_reason(output: bytes) -> str:
    """The ``Error(string)`` message of revert data, or its hex if it is not one."""
    if output[:4] == _ERROR_SELECTOR and len(output) >= 68:
        length = int.from_bytes(output[36:68], "big")
        text = output[68 : 68 + length]
        if len(text) == length:
            return text.decode("utf-8", errors="replace")
    return "0x" + output.hex()


def _world(ctx: TxContext) -> Any:
    """The block's open py-evm state (opened, without gas, at its first EVM call).

    Each block opens its own world (py-evm's journals and account cache are
    the block's alone, so an aborted block leaves nothing behind); what
    carries over between blocks is the state tree's cache of decoded trie
    nodes, which is keyed by content hash and so never stale.
    """
    scratch = ctx.state.block_scratch
    if _SCRATCH not in scratch:
        meter, ctx.state.meter = ctx.state.meter, None
        try:
            root = world_root(ctx.state)
        finally:
            ctx.state.meter = meter
        scratch[_SCRATCH] = open_world(
            world_db(ctx.state), root, ctx.block, ctx.policy, node_cache(ctx.state.tree)
        )
    return scratch[_SCRATCH]


def _run(ctx: TxContext, to: bytes, data: bytes) -> Any:
    """Apply one EVM message for ``ctx.sender``; charge its gas; return the computation.

    The sender's EVM nonce is the transaction's own nonce (accounts keep one
    sequence for native and Ethereum-signed transactions), so CREATE
    addresses are what Ethereum tools compute from the transaction.
    """
    world = _world(ctx)
    meter = ctx.state.meter
    available = meter.limit - meter.used if meter is not None else ctx.policy.max_tx_gas
    # Usually the world already holds this nonce (the sender's previous
    # transaction was an EVM one too): then writing it again changes nothing.
    # Nonce 0 is always written: it may create the sender's (empty) account,
    # which stays even if py-evm then refuses the transaction.
    if ctx.nonce == 0 or world.get_nonce(ctx.sender) != ctx.nonce:
        world.set_nonce(ctx.sender, ctx.nonce)
    unsigned = VM.get_transaction_builder().create_unsigned_transaction(
        nonce=ctx.nonce,
        gas_price=0,
        gas=available,
        to=Address(to),
        value=0,
        data=data,
    )
    transaction = SpoofTransaction(unsigned, from_=ctx.sender)
    snapshot = world.snapshot()
    try:
        computation = world.apply_transaction(transaction)
        if meter is not None:
            meter.charge(gas_used(available, computation), "EVM execution")
    except ValidationError as exc:
        world.revert(snapshot)
        raise EvmFailed(f"EVM refused the transaction: {exc}") from None
    except BaseException:
        world.revert(snapshot)
        raise
    # A failed EVM execution still consumed its nonce (as in Ethereum): keep that.
    world.commit(snapshot)
    if computation.is_error:
        error = computation.error
        if isinstance(error, eth.exceptions.Revert):
            raise EvmReverted(f"execution reverted: {revert_reason(computation.output)}")
        raise EvmFailed(f"EVM execution failed: {type(error).__name__}: {error}")
    for address, topics, log_data in computation.get_log_entries():
        ctx.emit(
            Log(
                address=address,
                topics=" ".join(t.to_bytes(32, "big").hex() for t in topics),
                data=log_data,
            )
        )
    return computation


def _create(ctx: TxContext, code: bytes) -> None:
    """Deploy, then let the audit gate judge the runtime code it produced ([EVM-GATE.1])."""
    world = _world(ctx)
    address = contract_address(ctx.sender, ctx.nonce)
    snapshot = world.snapshot()
    _run(ctx, b"", code)
    code_hash = keccak256(world.get_code(address))
    try:
        check_deployment(ctx, code_hash)
    except ModuleError:
        world.revert(snapshot)  # the contract never exists
        raise
    world.commit(snapshot)
    record = ContractRecord(
        address=address,
        code_hash=code_hash,
        deployer=ctx.sender,
        height=ctx.block.height,
        tx_id=ctx.tx_id,
    )
    ctx.state.put_struct(contract_record_key(address), record)
    ctx.emit(ContractCreated(address=address, code_hash=code_hash))


def _deploy(ctx: TxContext, args: Deploy) -> None:
    _create(ctx, args.code)


def _call(ctx: TxContext, args: Call) -> None:
    computation = _run(ctx, args.to, args.data)
    ctx.emit(Returned(output=computation.output))


def _eth_transaction(ctx: TxContext, raw: bytes) -> None:
    """An Ethereum-signed transaction (its envelope was verified on admission)."""
    tx = decode_raw(raw)
    if not tx.to:
        _create(ctx, tx.data)
        return
    computation = _run(ctx, tx.to, tx.data)
    ctx.emit(Returned(output=computation.output))


class EvmModule:
    """The ``evm`` module."""

    name = "evm"
    methods: Mapping[str, Method[Any]] = {
        "deploy": Method(Deploy, _deploy, gas=0),
        "call": Method(Call, _call, gas=0),
        ETH_METHOD: Method(bytes, _eth_transaction, gas=0),
        "submit_audit": Method(AuditReport, submit_audit, gas=5_000),
    }
    events: tuple[type[EventStruct], ...] = EVENTS

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """The EVM starts with an empty world (no key: the empty trie's root)."""

    def end_block(self, ctx: BlockEndContext) -> None:
        """Compute the block's EVM trie root once and keep it in chain state."""
        state = ctx.state
        world = state.block_scratch.pop(_SCRATCH, None)
        if world is None:
            return
        world.persist()
        state.set(WORLD_ROOT_KEY, bytes(world.state_root))


MODULE: Final = EvmModule()
