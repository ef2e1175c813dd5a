"""The shape every native module shares, and the context a method runs in.

A module is a name, a table of methods (argument type, handler, base gas),
a genesis initialiser and read-only queries. Handlers are plain functions of
``(ctx, args)`` that read and write state only through ``ctx.state`` and
report through ``ctx.emit``; they raise a :class:`ModuleError` subclass to
fail, which rolls back the transaction's writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from consortia.codec import Canonical
from consortia.execution import gas
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

    def emit(self, name: str, **attributes: str | int | bytes) -> None:
        """Record an event; bytes are hex-encoded, ints in decimal."""
        if self.state.meter is not None:
            self.state.meter.charge(gas.EVENT, "event")
        attrs = tuple(
            (k, v.hex() if isinstance(v, bytes) else str(v)) for k, v in attributes.items()
        )
        self.events.append(Event(module=self.module, name=name, attributes=attrs))


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

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """Write the module's initial state from its section of the genesis."""
        ...


@runtime_checkable
class BlockEnd(Protocol):
    """A module that finishes work once per block, after its last transaction
    (the EVM writes its world-state root here)."""

    def end_block(self, state: StateView, block: BlockContext, policy: ChainPolicy) -> None:
        """Flush per-block work into ``state``; must be deterministic."""
        ...
