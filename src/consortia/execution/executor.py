"""Executes a block's transactions in order against a :class:`StateView`.

For each transaction ([EXEC-TX.1] in docs/spec/execution.md):

1. check the policy's per-transaction caps (gas limit, encoded size), expiry,
   and the sender's key and nonce; a transaction failing here leaves no trace
   in state (status code in its receipt, no nonce used);
2. consume the nonce; then, for a method that exists, ask the runtime's
   permission checker: a denied transaction ends here (its code in the
   receipt, no gas, nothing written but the nonce — the nonce is consumed so
   that the mempool drops the transaction and no block repeats it);
3. inside a checkpoint, meter gas and call the module method; on failure
   roll back the method's writes, keep the nonce, record the error code.

After the last transaction, each module that is a :class:`BlockEnd` runs its
end-of-block hook, in module-name order, inside its own checkpoint and with
its own gas budget ([EXEC-BLOCK-END.1]); see :func:`run_block_end`.

Signatures were checked before the block reached execution (mempool admission
or proposal validation); execution never re-verifies them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from consortia.codec import CodecError, decode
from consortia.execution import gas
from consortia.execution.block_end import BlockEndReceipt
from consortia.execution.errors import (
    AlreadyCommitted,
    BadArguments,
    EndBlockOutOfGas,
    ExecutionError,
    Expired,
    FutureNonce,
    GasLimitTooHigh,
    OutOfGas,
    StaleNonce,
    TxTooLarge,
    UnknownMethod,
)
from consortia.execution.events import validate_declarations
from consortia.execution.extensions import check_direct_call
from consortia.execution.gas import GasMeter
from consortia.execution.module import (
    BlockContext,
    BlockEnd,
    BlockEndContext,
    Method,
    Module,
    TxContext,
)
from consortia.execution.policy import ChainPolicy
from consortia.execution.state_view import StateView
from consortia.execution.upgrades import UpgradeRequired, run_migrations, versions_at
from consortia.ledger.types import STATUS_OK, Receipt, Transaction, TxBody, tx_signer_keys

SignerKey = tuple[str, bytes]
"""``(key_type, public_key)`` of one signer of a transaction (an account key type)."""


class SenderAuthority(Protocol):
    """Checks who may sign for an account and tracks nonces (the accounts module)."""

    def next_nonce(self, state: StateView, sender: bytes, signers: Sequence[SignerKey]) -> int:
        """Next nonce, after checking the ``(key_type, public_key)`` signers may sign for
        ``sender`` (one key, or a multisig meeting the account's threshold)."""
        ...

    def consume_nonce(self, state: StateView, sender: bytes, signers: Sequence[SignerKey]) -> None:
        """Advance the nonce."""
        ...


class PermissionChecker(Protocol):
    """Decides who may call which module method (the governance module)."""

    def check(self, state: StateView, sender: bytes, module: str, method: str) -> None:
        """Return if ``sender`` may call ``module.method``; raise PermissionDenied otherwise."""
        ...


@dataclass(frozen=True, slots=True)
class Runtime:
    """The modules of a chain, the authority over senders and the permission checker."""

    modules: Mapping[str, Module]
    authority: SenderAuthority
    permissions: PermissionChecker | None = None
    """None: every account may call every method."""
    upgrades: Mapping[tuple[str, str], Module] = field(default_factory=dict)
    """Later versions this software carries, by (module, version)."""
    declared_events: Mapping[str, frozenset[type]] = field(init=False, default_factory=dict)
    """Each module's declared event classes, checked when the runtime is built."""

    def __post_init__(self) -> None:
        """Check every module's (and carried upgrade's) event table ([EXEC-EVENT.1]).

        Raises:
            InvalidEventDeclaration: a module declares a non-event or two events
                with one name; the runtime is never built.
        """
        for (name, version), module in sorted(self.upgrades.items()):
            validate_declarations(f"{name} v{version}", module.events)
        declared = {name: validate_declarations(name, m.events) for name, m in self.modules.items()}
        object.__setattr__(self, "declared_events", declared)

    def at_versions(self, versions: Mapping[str, str], height: int) -> Runtime:
        """This runtime with the given module versions in force.

        Raises:
            UpgradeRequired: a version this software does not carry.
        """
        if not versions:
            return self
        modules = dict(self.modules)
        for name, version in sorted(versions.items()):
            module = self.upgrades.get((name, version))
            if module is None:
                raise UpgradeRequired(
                    f"module {name} version {version} is in force from height {height}; "
                    "this node does not carry it: install the release that does and restart"
                )
            modules[name] = module
        return dataclasses.replace(self, modules=modules)

    def has_method(self, module: str, method: str) -> bool:
        """Whether ``module.method`` exists."""
        mod = self.modules.get(module)
        return mod is not None and method in mod.methods

    def method(self, module: str, method: str) -> Method[Any]:
        """Look up a method; raises :class:`UnknownMethod`."""
        mod = self.modules.get(module)
        if mod is None:
            raise UnknownMethod(f"no module {module!r}")
        found = mod.methods.get(method)
        if found is None:
            raise UnknownMethod(f"module {module!r} has no method {method!r}")
        return found


@dataclass(frozen=True, slots=True)
class TxOutcome:
    """A transaction's receipt and the addresses it touched besides the sender."""

    receipt: Receipt
    touched: tuple[bytes, ...]


def execute_transaction(
    runtime: Runtime,
    state: StateView,
    policy: ChainPolicy,
    block: BlockContext,
    tx: Transaction,
    tx_id: bytes,
    index: int,
    encoded_size: int,
) -> TxOutcome:
    """Apply one transaction; never raises for a transaction's own failure."""
    body = tx.body

    def receipt(status: str, message: str, gas_used: int, ctx: TxContext | None) -> Receipt:
        return Receipt(
            tx_id=tx_id,
            height=block.height,
            index=index,
            status=status,
            message=message,
            gas_used=gas_used,
            events=tuple(ctx.events) if ctx else (),
        )

    signers = tx_signer_keys(tx)
    try:
        # The mempool enforces these caps too, but a faulty proposer's block
        # may carry anything; the proposal check does not look at them.
        if body.gas_limit > policy.max_tx_gas:
            raise GasLimitTooHigh(f"gas limit {body.gas_limit} above cap {policy.max_tx_gas}")
        if encoded_size > policy.max_tx_bytes:
            raise TxTooLarge(f"transaction is {encoded_size} bytes, limit {policy.max_tx_bytes}")
        if block.height > body.expiry_height:
            raise Expired(f"expired at height {body.expiry_height}, block is {block.height}")
        expected = runtime.authority.next_nonce(state, body.sender, signers)
        if body.nonce < expected:
            raise StaleNonce(f"nonce {body.nonce} already used; next is {expected}")
        if body.nonce > expected:
            raise FutureNonce(f"nonce {body.nonce} is ahead of next nonce {expected}")
    except ExecutionError as exc:
        return TxOutcome(receipt(exc.code, exc.message, 0, None), ())
    runtime.authority.consume_nonce(state, body.sender, signers)
    if runtime.permissions is not None and runtime.has_method(body.module, body.method):
        try:
            runtime.permissions.check(state, body.sender, body.module, body.method)
        except ExecutionError as exc:
            return TxOutcome(receipt(exc.code, exc.message, 0, None), ())

    meter = GasMeter(limit=body.gas_limit)
    ctx = TxContext(
        block=block,
        sender=body.sender,
        tx_id=tx_id,
        state=state,
        policy=policy,
        module=body.module,
        nonce=body.nonce,
        modules=runtime.modules,
        declared_events=runtime.declared_events,
    )
    state.meter = meter
    try:
        with state.transaction():
            _call_method(runtime, ctx, body, meter, encoded_size)
    except ExecutionError as exc:
        return TxOutcome(receipt(exc.code, exc.message, min(meter.used, meter.limit), None), ())
    finally:
        state.meter = None
    touched = tuple(sorted(a for a in ctx.touched if a != body.sender))
    return TxOutcome(receipt(STATUS_OK, "", meter.used, ctx), touched)


def _call_method(
    runtime: Runtime, ctx: TxContext, body: TxBody, meter: GasMeter, encoded_size: int
) -> None:
    """Charge the base and method gas, decode the arguments and run the handler.

    Raises:
        ExecutionError: any refusal; the caller's checkpoint rolls its writes back.
    """
    meter.charge(gas.TX_BASE + gas.PER_TX_BYTE * encoded_size, "transaction base cost")
    method = runtime.method(body.module, body.method)
    check_direct_call(runtime.modules[body.module], body.method)
    meter.charge(method.gas, f"{body.module}.{body.method}")
    try:
        args = body.args if method.args_type is bytes else decode(body.args, method.args_type)
    except CodecError as exc:
        raise BadArguments(f"{body.module}.{body.method} arguments: {exc.message}") from None
    method.handler(ctx, args)


@dataclass(frozen=True, slots=True)
class BlockOutcome:
    """Everything a block's execution reports."""

    transactions: list[TxOutcome]
    """One outcome per transaction, in block order."""
    block_end: tuple[BlockEndReceipt, ...]
    """One receipt per end-of-block hook that emitted events or was stopped."""


def execute_block(
    runtime: Runtime,
    state: StateView,
    policy: ChainPolicy,
    block: BlockContext,
    transactions: Sequence[tuple[Transaction, bytes, int]],
    repeats: Collection[int] = (),
) -> list[TxOutcome]:
    """:func:`execute_block_outcome` for callers that keep only the transactions' outcomes."""
    return execute_block_outcome(runtime, state, policy, block, transactions, repeats).transactions


def execute_block_outcome(
    runtime: Runtime,
    state: StateView,
    policy: ChainPolicy,
    block: BlockContext,
    transactions: Sequence[tuple[Transaction, bytes, int]],
    repeats: Collection[int] = (),
) -> BlockOutcome:
    """Apply ``(tx, tx_id, encoded_size)`` in order, then the end-of-block hooks.

    Positions in ``repeats`` hold a transaction committed before ([EXEC-REPEAT.1]):
    it has no effect and its receipt says ``TX_ALREADY_COMMITTED``. Honest
    proposers never include one; a certified block that does must not stop
    the chain.

    Raises:
        UpgradeRequired: a module version scheduled for this height is missing
            ([EXEC-UPGRADE.1]); nothing of the block is applied.
        MigrationFailed: a version activating here failed its migration ([EXT-MIGRATE.1]).
    """
    runtime = runtime.at_versions(versions_at(state, block.height), block.height)
    run_migrations(runtime.modules, state, block)
    outcomes = []
    for i, (tx, tx_id, size) in enumerate(transactions):
        if i in repeats:
            repeat = AlreadyCommitted(f"transaction {tx_id.hex()} was committed before")
            receipt = Receipt(
                tx_id=tx_id,
                height=block.height,
                index=i,
                status=repeat.code,
                message=repeat.message,
                gas_used=0,
                events=(),
            )
            outcomes.append(TxOutcome(receipt, ()))
            continue
        outcomes.append(execute_transaction(runtime, state, policy, block, tx, tx_id, i, size))
    return BlockOutcome(outcomes, run_block_end(runtime, state, policy, block, len(outcomes)))


def run_block_end(
    runtime: Runtime,
    state: StateView,
    policy: ChainPolicy,
    block: BlockContext,
    first_index: int,
) -> tuple[BlockEndReceipt, ...]:
    """Run each :class:`BlockEnd` hook in module-name order ([EXEC-BLOCK-END.1]).

    Each hook gets a fresh :class:`GasMeter` of ``policy.end_block_gas`` and
    runs inside a checkpoint. A hook that runs out of gas, or raises an
    :class:`ExecutionError`, is stopped: its writes and events are rolled
    back and its receipt carries the code (``END_BLOCK_OUT_OF_GAS`` for the
    budget); the other hooks and the block go on. A hook that emitted events
    or was stopped leaves a receipt, indexed from ``first_index`` on.
    """
    receipts: list[BlockEndReceipt] = []
    for name in sorted(runtime.modules):
        module = runtime.modules[name]
        if not isinstance(module, BlockEnd):
            continue
        meter = GasMeter(limit=policy.end_block_gas)
        ctx = BlockEndContext(
            block=block,
            state=state,
            policy=policy,
            module=name,
            declared_events=runtime.declared_events,
        )
        status, message = STATUS_OK, ""
        state.meter = meter
        try:
            with state.transaction():
                module.end_block(ctx)
        except OutOfGas as exc:
            stopped = EndBlockOutOfGas(f"end_block of {name}: {exc.message}")
            status, message = stopped.code, stopped.message
        except ExecutionError as exc:
            status, message = exc.code, f"end_block of {name}: {exc.message}"
        finally:
            state.meter = None
        if status == STATUS_OK and not ctx.events:
            continue
        receipts.append(
            BlockEndReceipt(
                module=name,
                height=block.height,
                index=first_index + len(receipts),
                status=status,
                message=message,
                gas_used=min(meter.used, meter.limit),
                events=tuple(ctx.events) if status == STATUS_OK else (),
            )
        )
    return tuple(receipts)
