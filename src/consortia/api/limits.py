"""ASGI middleware: request body limits counted as bytes arrive, and the last-resort guard.

[API-LIMIT.1] A body larger than its endpoint's limit is refused with 413
``API_BODY_TOO_LARGE``: at once when ``Content-Length`` announces it, else as
soon as the streamed bytes pass the limit (chunked uploads cannot slip by).

[API-GUARD.1] Anything unexpected becomes a logged 500 ``INTERNAL``; input
never takes the node down. A client that goes away mid-request (before its
whole body arrived, or while a WebSocket answer is sent) is logged as one
INFO line, never a traceback: it is the client's doing, and a flood of them
must not flood the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from consortia.api.errors import (
    BadRequest,
    BodyTooLarge,
    Internal,
    error_response,
    node_error_response,
)
from consortia.errors import NodeError

log = logging.getLogger(__name__)

KIB: Final = 1024
SINGLE_TX_LIMIT: Final = 256 * KIB
BATCH_LIMIT: Final = 64 * KIB * KIB
DEFAULT_LIMIT: Final = 64 * KIB
RPC_LIMIT: Final = 5 * 1024 * KIB
"""JSON-RPC: a batch of 100 raw transactions, each up to a 48 KiB contract creation in hex."""


def body_limit(path: str) -> int:
    """Largest request body accepted on ``path``."""
    normalised = path.rstrip("/")
    if normalised == "/v1/transactions/batch":
        return BATCH_LIMIT
    if normalised == "/v1/transactions":
        return SINGLE_TX_LIMIT
    if normalised == "/rpc":
        return RPC_LIMIT
    return DEFAULT_LIMIT


class BodyLimitMiddleware:
    """Refuses bodies above ``limit_for(path)`` bytes."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int] = body_limit) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    announced = int(value)
                except ValueError:
                    response = error_response(
                        BadRequest.code, "Content-Length header is not an integer", 400
                    )
                    await response(scope, receive, send)
                    return
                if announced > limit:
                    response = error_response(
                        BodyTooLarge.code, _too_large(announced, limit), BodyTooLarge.http_status
                    )
                    await response(scope, receive, send)
                    return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(_too_large(received, limit))
            return message

        await self.app(scope, counting_receive, send)


def _too_large(size: int, limit: int) -> str:
    return f"request body of {size}+ bytes exceeds this endpoint's limit of {limit} bytes"


class GuardMiddleware:
    """Turns any exception that escaped the handlers into a logged 500 ``INTERNAL``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept"):
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except (ClientDisconnect, WebSocketDisconnect, ConnectionError):
            client = scope.get("client") or ("?", 0)
            log.info(
                "client %s:%s went away mid-request: %s %s",
                client[0],
                client[1],
                scope.get("method", "WEBSOCKET"),
                scope.get("path"),
            )
        except NodeError as exc:  # raised outside a route (e.g. a body read by the framework)
            if scope["type"] == "http" and not started:
                await node_error_response(exc)(scope, receive, send)
        except Exception:
            log.exception("unexpected error serving %s %s", scope["type"], scope.get("path"))
            if scope["type"] == "http" and not started:
                response = error_response(Internal.code, "internal error (logged by the node)", 500)
                await response(scope, receive, send)
