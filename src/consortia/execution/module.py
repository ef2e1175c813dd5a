"""The shape every native module shares, and the context a method runs in.

A module is a name, a table of methods (argument type, handler, base gas),
the event types it may emit ([EXEC-EVENT.1]), a genesis initialiser and
read-only queries. Handlers are plain functions of ``(ctx, args)`` that read
and write state only through ``ctx.state`` and report through ``ctx.emit``
with one of the module's declared :class:`EventStruct` types; they raise a
:class:`ModuleError` subclass to fail, which rolls back the transaction's
writes. A module may also do bounded, metered work at the end of every block
(:class:`BlockEnd`, [EXEC-BLOCK-END.1]).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from consortia.codec import Canonical
from consortia.execution import gas
from consortia.execution.events import EventStruct, UndeclaredEvent
from consortia.execution.policy import ChainPolicy
from consortia.execution.state_view import StateView
from consortia.ledger.types import Event

A = TypeVar("A", bound=Canonical | bytes)


@dataclass(frozen=True, slots=True)
class BlockContext:
    """What execution may know about the block: agreed by consensus, never local."""

    chain_id: str
    height: int
    timestamp_ms: int
    proposer: int


@dataclass(slots=True)
class TxContext:
    """One transaction's view: who sent it, the block, state, events."""

    block: BlockContext
    sender: bytes
    tx_id: bytes
    state: StateView
    policy: ChainPolicy
    module: str
    nonce: int = 0
    """The transaction's nonce (the EVM account nonce follows it)."""
    events: list[Event] = field(default_factory=list)
    touched: set[bytes] = field(default_factory=set)
    """Addresses other than the sender this transaction affected (account index)."""
    modules: Mapping[str, Module] = field(default_factory=dict)
    """The modules in force at this height (for governance's module calls, extensions.py)."""
    declared_events: Mapping[str, frozenset[type]] = field(default_factory=dict)
    """Each module's declared event classes (``Runtime.declared_events``); a module
    missing here is looked up in :attr:`modules`."""

    def emit(self, event: EventStruct) -> None:
        """Record ``event`` for :attr:`module` and charge its gas.

        Raises:
            UndeclaredEvent: ``module`` did not declare ``type(event)`` (a bug
                in the module, not a transaction failure: it stops the block).
        """
        declared = self.declared_events.get(self.module)
        if declared is None:
            found = self.modules.get(self.module)
            declared = frozenset(found.events) if found is not None else frozenset()
        self.events.append(_checked(declared, self.module, event, self.state))


def _checked(declared: frozenset[type], module: str, event: EventStruct, state: StateView) -> Event:
    """The ledger event of a declared ``event``, after charging :data:`gas.EVENT`."""
    if type(event) not in declared:
        raise UndeclaredEvent(
            f"module {module} emitted {type(event).__qualname__} "
            f"({getattr(event, 'event_name', '?')}), which it does not declare in its events"
        )
    if state.meter is not None:
        state.meter.charge(gas.EVENT, "event")
    return event.to_event(module)


@dataclass(frozen=True, slots=True)
class Method(Generic[A]):
    """A callable method: its argument type, handler and base gas.

    ``args_type`` ``bytes`` hands the handler the raw argument bytes (an
    Ethereum-signed transaction's RLP); any other type is decoded canonically.
    """

    args_type: type[A]
    handler: Callable[[TxContext, A], None]
    gas: int = 1_000


class Module(Protocol):
    """A native module (see modules/*/ for the shared layout)."""

    name: str
    methods: Mapping[str, Method[Any]]
    events: tuple[type[EventStruct], ...]
    """Every event type the module's methods and end-of-block hook may emit."""

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """Write the module's initial state from its section of the genesis."""
        ...


@dataclass(slots=True)
class BlockEndContext:
    """What a module's end-of-block hook sees: the block, state, policy, its events.

    ``state`` is metered by the hook's own gas meter (``policy.end_block_gas``
    per module per block); running past it raises ``OutOfGas``, which rolls the
    hook's writes back and records the failure ([EXEC-BLOCK-END.1]).
    """

    block: BlockContext
    state: StateView
    policy: ChainPolicy
    module: str
    declared_events: Mapping[str, frozenset[type]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    def emit(self, event: EventStruct) -> None:
        """Record ``event`` (one of the module's declared types) and charge its gas.

        Raises:
            UndeclaredEvent: the module did not declare ``type(event)``.
        """
        declared = self.declared_events.get(self.module, frozenset())
        self.events.append(_checked(declared, self.module, event, self.state))

    def charge(self, amount: int, what: str) -> None:
        """Charge work that is not a state access (a computation over many items).

        Raises:
            OutOfGas: the hook's budget is spent.
        """
        if self.state.meter is not None:
            self.state.meter.charge(amount, what)


@runtime_checkable
class BlockEnd(Protocol):
    """A module that finishes work once per block, after its last transaction
    ([EXEC-BLOCK-END.1]): the EVM writes its world-state root here; an
    application matures receivables, nets a cycle or expires HTLCs.

    Hooks run in module-name order, each inside its own checkpoint and with
    its own gas budget; one that fails or runs out of gas has its writes
    rolled back, its failure recorded in a block-end receipt, and the block
    completes.
    """

    def end_block(self, ctx: BlockEndContext) -> None:
        """Do the block's closing work through ``ctx``; must be deterministic."""
        ...
