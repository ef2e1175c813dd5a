"""In-process publish/subscribe of node events for the WebSocket stream.

Each subscriber has a bounded queue; a subscriber that falls behind is told
it lagged and is dropped rather than slowing the node ([API-EVENTS.1]).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

Event = dict[str, Any]
"""A JSON-ready event: ``{"type": "block" | "tx" | "lagged", ...}``."""

LAGGED: Event = {"type": "lagged", "message": "subscriber fell behind; reconnect"}


class EventBus:
    """Fan-out of events to subscribers (used only on the event loop thread)."""

    def __init__(self, queue_size: int = 1_024) -> None:
        self._queue_size = queue_size
        self._subscribers: set[asyncio.Queue[Event]] = set()

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every subscriber; drop those whose queue is full."""
        for q in list(self._subscribers):
            if q.full():
                self._subscribers.discard(q)
                q.get_nowait()
                q.put_nowait(LAGGED)
            else:
                q.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue receiving events until the context exits."""
        q: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._subscribers.add(q)
        try:
            yield q
        finally:
            self._subscribers.discard(q)

    @property
    def subscriber_count(self) -> int:
        """Number of live subscribers."""
        return len(self._subscribers)
