"""``WS /v1/events``: the node's event stream as JSON text frames ([API-EVENTS.1], [API-EVENTS.2]).

Frames are ``{"type": "block", ...}``, ``{"type": "tx", ...}`` and, when the
subscriber falls behind, one ``{"type": "lagged"}`` before the server closes
the socket (code 1013, try again later). Ids are ``0x`` hex.

A client that has already read the chain up to some height (a snapshot, or
the frames of an earlier connection) subscribes with ``?after=<height>``: the
server first replays every executed block above that height from the ledger,
then switches to live frames, skipping at the seam any block it has already
replayed. Every block's frames therefore arrive exactly once, in height order.
The subscription is registered before the handshake completes, so nothing
that commits while the socket opens or while the replay runs is missed.

A bad cursor is refused: the socket is accepted only to be closed with 1008
and the reason ``CODE: message`` (:class:`BadCursor`, :class:`CursorAhead`,
:class:`CursorTooOld`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any, Final

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from consortia.api.client_limits import (
    SocketLimits,
    TooManySockets,
    current_client,
    refuse_socket,
)
from consortia.api.errors import ApiError
from consortia.ledger.errors import BlockNotFound
from consortia.node.events import LAGGED, Event, Subscription
from consortia.node.service import NodeService

_HEX_FIELDS: Final = ("id", "tx_id", "state_root")
TRY_AGAIN_LATER: Final = 1013
MAX_REPLAY_BLOCKS: Final = 10_000
"""Most blocks one subscribe replays; an older cursor must read history over REST first."""
REPLAY_CHUNK_BLOCKS: Final = 64
"""Blocks read from the ledger in one read transaction while replaying."""
_CURSOR: Final = re.compile(r"^[0-9]{1,20}\Z")
_U64_MAX: Final = 2**64 - 1


class BadCursor(ApiError):
    """``after`` is not an unsigned 64-bit decimal integer."""

    code = "EVENTS_BAD_CURSOR"


class CursorAhead(ApiError):
    """``after`` is above this node's latest executed height."""

    code = "EVENTS_CURSOR_AHEAD"


class CursorTooOld(ApiError):
    """The blocks right above ``after`` are too many to replay, or not stored here."""

    code = "EVENTS_CURSOR_TOO_OLD"


def parse_cursor(text: str, tip: int, max_replay: int = MAX_REPLAY_BLOCKS) -> int:
    """The height ``after=text`` resumes from, checked against the latest height ``tip``.

    Raises:
        BadCursor: ``text`` is not a decimal integer in 0..2**64-1 (no sign, no spaces).
        CursorAhead: the height is above ``tip``.
        CursorTooOld: more than ``max_replay`` blocks lie between the height and ``tip``.
    """
    if _CURSOR.match(text) is None or int(text) > _U64_MAX:
        shown = text if len(text) <= 24 else text[:21] + "..."
        raise BadCursor(f"after={shown!r} is not a height (an integer 0..2**64-1)")
    after = int(text)
    if after > tip:
        raise CursorAhead(f"after={after} is above the latest height {tip}")
    if tip - after > max_replay:
        raise CursorTooOld(
            f"after={after} is {tip - after} blocks back; at most {max_replay} are replayed"
        )
    return after


def wire_event(event: Event) -> Event:
    """The event with its hex fields ``0x``-prefixed."""
    out: dict[str, Any] = dict(event)
    for name in _HEX_FIELDS:
        value = out.get(name)
        if isinstance(value, str) and not value.startswith("0x"):
            out[name] = "0x" + value
    return out


async def _until_disconnect(ws: WebSocket) -> None:
    """Read and drop client frames (text or binary: none is parsed) until the client leaves."""
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


def router(service: NodeService, sockets: SocketLimits) -> APIRouter:
    """The WebSocket route bound to ``service``, its sockets counted in ``sockets``."""
    api = APIRouter()

    @api.websocket("/v1/events")
    async def events(ws: WebSocket) -> None:
        try:
            with sockets.hold(current_client.get()):
                await _stream(ws, service, ws.query_params.get("after"))
        except TooManySockets as refusal:
            await refuse_socket(ws, refusal)

    return api


def _check_cursor(service: NodeService, text: str) -> int:
    """The checked cursor; also refuses one whose next block is not stored (a snapshot's base)."""
    tip = service.reader.height()
    after = parse_cursor(text, tip)
    if after < tip:
        try:
            service.reader.block_events(after + 1, after + 1)
        except BlockNotFound:
            raise CursorTooOld(
                f"after={after}: block {after + 1} is not stored on this node"
            ) from None
    return after


async def _stream(ws: WebSocket, service: NodeService, cursor: str | None) -> None:
    """Send ``service``'s events to ``ws`` (after a replay above ``cursor``) until the
    client leaves or falls behind."""
    async with service.events.subscribe() as subscription:
        # Subscribed before anything is read: a block the replay does not find in the
        # ledger commits after this point, so it is in the subscription's backlog.
        after: int | None = None
        if cursor is not None:
            try:
                after = _check_cursor(service, cursor)
            except ApiError as refusal:
                await refuse_socket(ws, refusal)
                return
        await ws.accept()
        receiver = asyncio.create_task(_until_disconnect(ws))
        receiver.add_done_callback(lambda _: subscription.wake())
        try:
            if after is not None:
                after = await _replay(ws, service, after, receiver)
            await _live(ws, subscription, after, receiver)
        except (WebSocketDisconnect, RuntimeError):
            pass  # client went away mid-send
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver


async def _send(ws: WebSocket, event: Event) -> None:
    await ws.send_text(msgspec.json.encode(wire_event(event)).decode())


async def _replay(
    ws: WebSocket, service: NodeService, after: int, receiver: asyncio.Task[None]
) -> int:
    """Send every executed block above ``after`` from the ledger, up to the tip as it
    grows; returns the last height sent (``after`` if none)."""
    while not receiver.done():
        tip = service.reader.height()
        if tip <= after:
            break
        last = min(tip, after + REPLAY_CHUNK_BLOCKS)
        for batch in service.reader.block_events(after + 1, last):
            for event in batch:
                if receiver.done():
                    return after
                await _send(ws, event)
        after = last
    return after


async def _live(
    ws: WebSocket, subscription: Subscription, after: int | None, receiver: asyncio.Task[None]
) -> None:
    """Send live batches, skipping blocks at or below ``after`` (already replayed)."""
    while not receiver.done():
        for event in await subscription.get():
            if receiver.done():
                return
            if event is LAGGED:
                await _send(ws, event)
                await ws.close(TRY_AGAIN_LATER)
                return
            if after is not None and event["height"] <= after:
                continue  # the seam: this block went out in the replay
            await _send(ws, event)
