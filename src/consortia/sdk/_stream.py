"""The event stream's client side: one connection, and a resuming reader over many.

A frame's position is ``(height, -1)`` for a block and ``(height, index)`` for
its transactions, so positions strictly increase along the stream
([API-EVENTS.2]). :class:`StreamCursor` remembers the last position handed to
the caller: a reconnection subscribes with ``after`` set to the last block
delivered in full (or the one before, when the socket dropped inside a block)
and drops every frame at or before that position, so the caller sees each
frame exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from consortia.sdk.errors import ApiError, NodeUnreachable

POLICY_VIOLATION: Final = 1008
"""Close code of a refused subscription; the reason is ``CODE: message``."""
TRY_AGAIN_LATER: Final = 1013
"""Close code after a ``lagged`` frame."""
RETRY_MIN_S: Final = 0.2
RETRY_MAX_S: Final = 3.0

Position = tuple[int, int]


def position(frame: dict[str, Any]) -> Position | None:
    """A block, tx or block-end frame's position in the stream (None for other frames)."""
    if frame.get("type") == "block":
        return (int(frame["height"]), -1)
    if frame.get("type") in ("tx", "block_end"):
        return (int(frame["height"]), int(frame["index"]))
    return None


@dataclass
class StreamCursor:
    """Where a reader stands: the last frame delivered and its block's transaction count."""

    after: int | None
    """Every block up to this height was delivered in full (None: nothing yet, live only)."""
    last: Position | None = None
    """Position of the last frame delivered."""
    frame_count: int = 0
    """Frames after the ``block`` frame of the block at ``last``'s height (its
    transactions and block-end receipts)."""

    def subscribe_after(self) -> int | None:
        """The ``after`` to subscribe with: the last block whose frames all arrived."""
        return self.after

    def accept(self, frame: dict[str, Any]) -> bool:
        """Record ``frame``; False if it was already delivered (a replay's overlap)."""
        at = position(frame)
        if at is None:
            return True
        if self.last is not None and at <= self.last:
            return False
        if at[1] == -1:
            self.frame_count = int(frame["tx_count"]) + int(frame.get("block_end_count", 0))
        self.last = at
        height, index = at
        if index == self.frame_count - 1:
            self.after = height  # the block is complete (or has no transactions)
        elif self.after is None or self.after < height - 1:
            self.after = height - 1
        return True


async def stream_events(
    ws_url: str, http_url: str, after: int | None, *, resume: bool
) -> AsyncGenerator[dict[str, Any]]:
    """Frames of ``ws_url`` (``/v1/events``) after height ``after``; see ``AsyncClient.events``."""
    cursor = StreamCursor(after)
    delay = RETRY_MIN_S
    while True:
        closed: tuple[int | None, str] | None = None
        frames = _connection(ws_url, cursor.subscribe_after(), http_url)
        try:
            async with contextlib.aclosing(frames):
                async for frame in frames:
                    delay = RETRY_MIN_S
                    if not cursor.accept(frame):
                        continue
                    if frame.get("type") == "lagged" and resume:
                        continue  # the server closes next; the reconnection resumes
                    yield frame
        except _Closed as exc:
            closed = (exc.code, exc.reason)
        except NodeUnreachable:
            if not resume:
                raise
        if closed is not None and closed[0] == POLICY_VIOLATION:
            code, _, message = closed[1].partition(": ")
            raise ApiError(code or "EVENTS_REFUSED", message or closed[1], 400)
        if not resume:
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX_S)


class _Closed(Exception):
    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


async def _connection(
    ws_url: str, after: int | None, http_url: str
) -> AsyncGenerator[dict[str, Any]]:
    """One subscription's frames; raises _Closed when it ends, NodeUnreachable if it never opens."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, WebSocketException

    url = ws_url if after is None else f"{ws_url}?after={after}"
    try:
        async with connect(url, max_size=2**24) as ws:
            try:
                async for frame in ws:
                    yield msgspec.json.decode(frame)
            except ConnectionClosed:
                pass
            raise _Closed(ws.close_code, ws.close_reason or "")
    except (OSError, WebSocketException) as exc:
        raise NodeUnreachable(http_url, f"{type(exc).__name__}: {exc}") from None
