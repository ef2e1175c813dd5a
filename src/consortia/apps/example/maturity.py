"""The ``maturity`` module: items scheduled to mature at a height.

* ``schedule(item, height)``: the sender schedules ``item`` to mature at
  ``height``, which must be later than the current block and at most
  :data:`MAX_HORIZON` blocks ahead; emits ``scheduled``.
* end of block: every item due at this height is removed, in item order,
  each emitting ``matured`` (charged :data:`MATURE_GAS`, so the work per
  block is bounded by the policy's ``end_block_gas``).

State: ``maturity/<height:8 bytes big-endian><item>`` -> the owner's address.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from consortia.codec import U64, Canonical, Name
from consortia.execution.errors import ModuleError
from consortia.execution.events import EventStruct
from consortia.execution.module import BlockEndContext, Method, TxContext
from consortia.execution.state_view import StateView

PREFIX: Final = b"maturity/"
MAX_HORIZON: Final = 1_000_000
"""How far ahead (in blocks) an item may be scheduled."""
MATURE_GAS: Final = 100
"""Gas charged per matured item besides its state access."""


class Schedule(Canonical, frozen=True):
    """``maturity.schedule``: ``item`` matures at the end of block ``height``."""

    item: Name
    height: U64


class Scheduled(EventStruct, frozen=True):
    """An item was scheduled by ``owner``."""

    event_name = "scheduled"
    item: str
    height: int
    owner: bytes


class Matured(EventStruct, frozen=True):
    """An item reached its height and was removed (emitted by the end-of-block hook)."""

    event_name = "matured"
    item: str
    height: int
    owner: bytes


class BadMaturityHeight(ModuleError):
    """The height is not after the current block, or too far ahead."""

    code = "MATURITY_BAD_HEIGHT"


class AlreadyScheduled(ModuleError):
    """The same item is already scheduled at that height."""

    code = "MATURITY_ALREADY_SCHEDULED"


def due_key(height: int, item: str) -> bytes:
    """The state key of ``item`` maturing at ``height``."""
    return PREFIX + height.to_bytes(8, "big") + item.encode()


def _schedule(ctx: TxContext, args: Schedule) -> None:
    now = ctx.block.height
    if not now < args.height <= now + MAX_HORIZON:
        raise BadMaturityHeight(
            f"schedule.height: {args.height} must be after block {now} "
            f"and at most {MAX_HORIZON} blocks ahead"
        )
    key = due_key(args.height, args.item)
    if ctx.state.get(key) is not None:
        raise AlreadyScheduled(f"schedule.item: {args.item!r} is already due at {args.height}")
    ctx.state.set(key, ctx.sender)
    ctx.emit(Scheduled(item=args.item, height=args.height, owner=ctx.sender))


class MaturityModule:
    """Items mature at the end of the block of their height."""

    name = "maturity"
    methods: Mapping[str, Method[Any]] = {"schedule": Method(Schedule, _schedule, gas=1_000)}
    events: tuple[type[EventStruct], ...] = (Scheduled, Matured)

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """Nothing is scheduled at genesis."""

    def end_block(self, ctx: BlockEndContext) -> None:
        """Remove and announce every item due at this block's height."""
        height = ctx.block.height
        due = PREFIX + height.to_bytes(8, "big")
        for key, owner in list(ctx.state.iterate(due)):
            ctx.charge(MATURE_GAS, "maturity item")
            ctx.state.delete(key)
            ctx.emit(Matured(item=key[len(due) :].decode(), height=height, owner=owner))


MODULE: Final = MaturityModule()
