"""``WS /v1/events``: the node's event stream as JSON text frames ([API-EVENTS.1]).

Frames are ``{"type": "block", ...}``, ``{"type": "tx", ...}`` and, when the
subscriber falls behind, one ``{"type": "lagged"}`` before the server closes
the socket (code 1013, try again later). Ids are ``0x`` hex.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from consortia.api.client_limits import (
    SocketLimits,
    TooManySockets,
    current_client,
    refuse_socket,
)
from consortia.node.events import LAGGED, Event
from consortia.node.service import NodeService

_HEX_FIELDS: Final = ("id", "tx_id", "state_root")
TRY_AGAIN_LATER: Final = 1013


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
                await _stream(ws, service)
        except TooManySockets as refusal:
            await refuse_socket(ws, refusal)

    return api


async def _stream(ws: WebSocket, service: NodeService) -> None:
    """Send ``service``'s events to ``ws`` until the client leaves or falls behind."""
    await ws.accept()
    async with service.events.subscribe() as subscription:
        receiver = asyncio.create_task(_until_disconnect(ws))
        receiver.add_done_callback(lambda _: subscription.wake())
        try:
            while not receiver.done():
                for event in await subscription.get():
                    if receiver.done():
                        break
                    await ws.send_text(msgspec.json.encode(wire_event(event)).decode())
                    if event is LAGGED:
                        await ws.close(TRY_AGAIN_LATER)
                        return
        except (WebSocketDisconnect, RuntimeError):
            pass  # client went away mid-send
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver
