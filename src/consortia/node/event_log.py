"""The event log: module events of committed transactions, newest first ([API-EVENT-LOG.1]).

An event's position is (block height, transaction index, event index within
its receipt); positions order every event of the chain. There is no index of
events: a page is read by walking blocks' stored receipts down from the tip
(or from a cursor), and each page reads at most ``max_blocks`` blocks, so the
cost of one request is bounded however sparse the matching events are. A
page that stops early hands back a cursor to continue from.

Only successful transactions carry events (a failed one's changes and events
are rolled back, docs/spec/execution.md), and the genesis block has none.
Events of modules' end-of-block hooks ([EXEC-BLOCK-END.1]) follow a block's
transactions: their block-end receipt's index continues the transaction
indexes, and their ``tx_id`` is empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import lmdb

from consortia.execution.block_end import read_block_end_receipts
from consortia.ledger.store import BlockStore
from consortia.ledger.types import Event

__all__ = ["EventPage", "EventPosition", "LoggedEvent", "read_event_log"]

_CURSOR: Final = re.compile(r"^(\d{1,20})-(\d{1,20})-(\d{1,20})\Z")
_U64_MAX: Final = 2**64 - 1


@dataclass(frozen=True, slots=True, order=True)
class EventPosition:
    """Where an event sits: ``height``, then ``index`` of its transaction, then ``event``.

    As a cursor it means "events strictly before this position";
    ``EventPosition(h, 0, 0)`` therefore means "every event below height ``h``".
    """

    height: int
    """Block height."""
    index: int
    """Index of the transaction in its block."""
    event: int
    """Index of the event in its transaction's receipt."""

    def cursor(self) -> str:
        """The position as the API's cursor text, ``height-index-event``."""
        return f"{self.height}-{self.index}-{self.event}"

    @classmethod
    def parse(cls, text: str) -> EventPosition:
        """A position from its cursor text.

        Raises:
            ValueError: ``text`` is not three unsigned 64-bit integers joined by ``-``.
        """
        match = _CURSOR.match(text)
        if match is None:
            raise ValueError(f"cursor {text!r} is not height-index-event")
        numbers = [int(part) for part in match.groups()]
        if any(n > _U64_MAX for n in numbers):
            raise ValueError(f"cursor {text!r} has a number above 2**64 - 1")
        return cls(*numbers)


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event with the transaction that emitted it and its position."""

    position: EventPosition
    tx_id: bytes
    """The emitting transaction; empty for an end-of-block hook's event."""
    event: Event


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of the event log, newest first.

    ``from_height``..``to_height`` (inclusive) are the blocks read; ``next``
    is the cursor for the older events, None once the walk reached genesis.
    """

    height: int
    """Latest executed height when the page was read."""
    events: tuple[LoggedEvent, ...]
    from_height: int
    to_height: int
    next: EventPosition | None


def read_event_log(
    store: BlockStore,
    txn: lmdb.Transaction,
    *,
    before: EventPosition | None,
    limit: int,
    max_blocks: int,
    module: str | None = None,
    name: str | None = None,
) -> EventPage:
    """Up to ``limit`` events strictly before ``before`` (None: from the tip), newest first.

    Parameters:
        store: the block store holding the receipts.
        txn: an open read transaction (the page is one consistent snapshot).
        before: the cursor of a previous page, or None to start at the tip.
        limit: most events to return (at least 1).
        max_blocks: most blocks to read (at least 1); the walk stops there
            even if fewer than ``limit`` events matched.
        module: only events of this module.
        name: only events with this name.

    Raises:
        ValueError: ``limit`` or ``max_blocks`` is below 1.
    """
    if limit < 1 or max_blocks < 1:
        raise ValueError(f"limit ({limit}) and max_blocks ({max_blocks}) must be at least 1")
    tip = store.latest_height(txn)
    assert tip is not None, "genesis is written before the node starts"
    top = tip if before is None else min(before.height, tip)
    if before is not None and before.height <= tip and before.index == before.event == 0:
        top = before.height - 1  # nothing of block `before.height` lies before its first event
    if top < 0:
        return EventPage(height=tip, events=(), from_height=0, to_height=0, next=None)
    found: list[LoggedEvent] = []
    height = top
    while True:
        sources = [
            *((r.index, b"", r.events) for r in read_block_end_receipts(store, txn, height)),
            *((r.index, r.tx_id, r.events) for r in store.receipts(txn, height) or []),
        ]
        for index, tx_id, events in sorted(sources, key=lambda s: s[0], reverse=True):
            for number in range(len(events) - 1, -1, -1):
                position = EventPosition(height, index, number)
                if before is not None and position >= before:
                    continue
                event = events[number]
                if (module is None or event.module == module) and (
                    name is None or event.name == name
                ):
                    found.append(LoggedEvent(position, tx_id, event))
                    if len(found) == limit:
                        return EventPage(tip, tuple(found), height, top, position)
        if height == 0:
            return EventPage(tip, tuple(found), 0, top, None)
        if top - height + 1 == max_blocks:
            return EventPage(tip, tuple(found), height, top, EventPosition(height, 0, 0))
        height -= 1
