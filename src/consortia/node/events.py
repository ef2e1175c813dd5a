"""In-process publish/subscribe of node events for the WebSocket streams.

A block's events (the block, then one per transaction, then one per
block-end receipt of a module's end-of-block hook) are published as one
batch, so a subscriber sees a block whole or not at all. Each subscriber has
a backlog bounded in events; one whose backlog would pass the bound is told
it lagged and is dropped rather than slowing the node ([API-EVENTS.1]). A
batch that arrives at an empty backlog is always taken, so a block larger
than the bound does not drop a subscriber that keeps up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import lmdb

from consortia.execution.block_end import BlockEndReceipt, read_block_end_receipts
from consortia.execution.transition import Executed, read_roots
from consortia.ledger.errors import BlockNotFound
from consortia.ledger.store import BlockStore
from consortia.ledger.types import Block, Receipt
from consortia.ledger.types import Event as LedgerEvent

Event = dict[str, Any]
"""A JSON-ready event: ``{"type": "block" | "tx" | "block_end" | "lagged", ...}``."""

Batch = tuple[Event, ...]
"""One block's events, in order; empty when a reader is only being woken."""

LAGGED: Event = {"type": "lagged", "message": "subscriber fell behind; reconnect"}

DEFAULT_MAX_PENDING = 65_536
"""Events a subscriber may have waiting (a few large blocks' worth)."""


def block_events(executed: Executed) -> list[Event]:
    """A committed block's events: the block, each transaction's receipt, then each
    block-end receipt ([EXEC-BLOCK-END.1])."""
    committed = executed.committed
    return _events(
        committed.block,
        committed.block_id,
        executed.state_root,
        executed.receipts,
        executed.block_end,
    )


def stored_block_events(store: BlockStore, txn: lmdb.Transaction, height: int) -> list[Event]:
    """The events of executed block ``height`` read back from the ledger.

    They equal what :func:`block_events` published when the block committed,
    so a subscriber resuming from a cursor ([API-EVENTS.2]) cannot tell a
    replayed block from a live one.

    Raises:
        BlockNotFound: block ``height``, its roots or its receipts are not stored
            (above the tip, or at or below the base of a node started from a snapshot).
    """
    block = store.block_by_height(txn, height)
    roots = read_roots(store, txn, height)
    if roots is None:
        raise BlockNotFound(f"block {height} is not executed")
    receipts = store.receipts(txn, height)
    if receipts is None and block.transactions:
        raise BlockNotFound(f"receipts of block {height} are not stored (a snapshot's base)")
    return _events(
        block,
        store.block_id_at(txn, height),
        roots.state_root,
        receipts or [],
        read_block_end_receipts(store, txn, height),
    )


def _rendered(events: Sequence[LedgerEvent]) -> list[Event]:
    return [{"module": e.module, "name": e.name, "attributes": dict(e.attributes)} for e in events]


def _events(
    block: Block,
    block_id: bytes,
    state_root: bytes,
    receipts: Sequence[Receipt],
    block_end: Sequence[BlockEndReceipt],
) -> list[Event]:
    height = block.header.height
    events: list[Event] = [
        {
            "type": "block",
            "height": height,
            "id": block_id.hex(),
            "round": block.header.round,
            "tx_count": len(block.transactions),
            "block_end_count": len(block_end),
            "timestamp_ms": block.header.timestamp_ms,
            "state_root": state_root.hex(),
        }
    ]
    events.extend(
        {
            "type": "tx",
            "height": height,
            "index": receipt.index,
            "tx_id": receipt.tx_id.hex(),
            "status": receipt.status,
            "events": _rendered(receipt.events),
        }
        for receipt in receipts
    )
    events.extend(
        {
            "type": "block_end",
            "height": height,
            "index": receipt.index,
            "module": receipt.module,
            "status": receipt.status,
            "gas_used": receipt.gas_used,
            "events": _rendered(receipt.events),
        }
        for receipt in block_end
    )
    return events


class Subscription:
    """One subscriber's backlog of batches (used only on the event loop thread)."""

    def __init__(self, max_pending: int) -> None:
        self._queue: asyncio.Queue[Batch] = asyncio.Queue()
        self._pending = 0
        self._max_pending = max_pending

    def offer(self, batch: Batch) -> bool:
        """Queue ``batch``; False (and a final ``lagged`` event) if the backlog is full."""
        if self._pending and self._pending + len(batch) > self._max_pending:
            self._put((LAGGED,))
            return False
        self._put(batch)
        return True

    def wake(self) -> None:
        """Make a waiting :meth:`get` return (with an empty batch)."""
        self._put(())

    def _put(self, batch: Batch) -> None:
        self._pending += len(batch)
        self._queue.put_nowait(batch)

    async def get(self) -> Batch:
        """The next batch, waiting for one."""
        batch = await self._queue.get()
        self._pending -= len(batch)
        return batch

    @property
    def pending(self) -> int:
        """Events waiting to be read."""
        return self._pending


class EventBus:
    """Fan-out of event batches to subscribers (used only on the event loop thread)."""

    def __init__(self, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self._max_pending = max_pending
        self._subscribers: set[Subscription] = set()

    def publish(self, batch: Sequence[Event]) -> None:
        """Deliver ``batch`` to every subscriber; drop those whose backlog is full."""
        frozen = tuple(batch)
        for subscription in list(self._subscribers):
            if not subscription.offer(frozen):
                self._subscribers.discard(subscription)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        """A subscription receiving batches until the context exits."""
        subscription = Subscription(self._max_pending)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        """Number of live subscribers (the node builds events only when there are any)."""
        return len(self._subscribers)
