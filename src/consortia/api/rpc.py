"""Ethereum JSON-RPC at ``POST /rpc`` and ``WS /rpc``, for web3.py, ethers and wallets as they are.

This module is the transport: bytes and frames in, JSON-RPC 2.0 answers out.
The rest of the JSON-RPC room, one concept per module:

* :mod:`consortia.api.rpc_envelope`: request/response objects, batches,
  dispatch and the error codes ([API-RPC-ERR.1]); an unexpected exception is
  -32603 with a request id, never "invalid params";
* :mod:`consortia.api.rpc_params`: the typed param specs checked before a
  method runs ([API-RPC-PARAMS.1]);
* :mod:`consortia.api.rpc_methods`: the method table (spec and handler);
* :mod:`consortia.api.rpc_eth_objects`: the chain as Ethereum's objects;
* :mod:`consortia.api.rpc_eth_chain`, :mod:`consortia.api.rpc_eth_state`,
  :mod:`consortia.api.rpc_eth_send`: the ``eth_*`` handlers;
* :mod:`consortia.api.rpc_subscriptions`: ``eth_subscribe`` over WebSocket.

Each HTTP request and each WebSocket frame gets a request id; HTTP returns it
in ``X-Request-Id`` ([API-RPC-ERR.2]).
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import Message

from consortia.api.client_limits import (
    ClientLimits,
    SocketLimits,
    TooManySockets,
    current_client,
    refuse_socket,
)
from consortia.api.errors import BodyTooLarge, JsonTooComplex, JsonTooDeep, MalformedJson
from consortia.api.json_body import decode_json
from consortia.api.rpc_envelope import (
    INVALID_REQUEST,
    PARSE_ERROR,
    REQUEST_ID_HEADER,
    Dispatcher,
    RpcError,
    error_answer,
    new_request_id,
)
from consortia.api.rpc_methods import method_table
from consortia.api.rpc_subscriptions import Subscriptions
from consortia.node.events import LAGGED
from consortia.node.service import NodeService

MAX_REQUEST_BYTES: Final = 5 * 1024 * 1024
"""Largest request body or WebSocket frame (the HTTP body is also capped by limits.RPC_LIMIT)."""
MAX_BATCH: Final = 100
CLOSE_UNSUPPORTED: Final = 1003
"""WebSocket close code for a binary frame (JSON-RPC frames are text)."""
CLOSE_PROTOCOL: Final = 1008
"""WebSocket close code after a frame that is not a JSON-RPC request (-32700, -32600)."""
CLOSE_TOO_BIG: Final = 1009


def router(service: NodeService, sockets: SocketLimits, clients: ClientLimits | None) -> APIRouter:
    """``POST /rpc`` and the same over ``WS /rpc`` with ``eth_subscribe``.

    WebSockets count against their client's budget in ``sockets``
    ([API-CLIENT-LIMIT.2]); EVM calls against ``clients`` ([API-CLIENT-LIMIT.1];
    None when the node serves no calls).
    """
    api = APIRouter(tags=["json-rpc"])
    objects, methods = method_table(service, clients)
    rpc = Dispatcher(methods)

    @api.post(
        "/rpc",
        summary="Ethereum JSON-RPC 2.0 (docs/contracts.md)",
        description="eth_*, net_* and web3_* methods for standard Ethereum clients.",
    )
    async def json_rpc(request: Request) -> Response:
        request_id = new_request_id()
        headers = {REQUEST_ID_HEADER: request_id}
        try:
            payload = _decode_request(await request.body())
        except RpcError as exc:
            return JSONResponse(error_answer(None, exc), headers=headers)
        if isinstance(payload, list):
            return JSONResponse(await rpc.handle_batch(payload, request_id), headers=headers)
        answer = await rpc.handle(payload, request_id)
        if answer is None:
            return Response(status_code=204, headers=headers)
        return JSONResponse(answer, headers=headers)

    @api.websocket("/rpc")
    async def json_rpc_socket(socket: WebSocket) -> None:
        try:
            with sockets.hold(current_client.get()):
                await _serve_socket(socket, rpc, Subscriptions(objects), service)
        except TooManySockets as refusal:
            await refuse_socket(socket, refusal)

    return api


async def _serve_socket(
    socket: WebSocket, rpc: Dispatcher, subscriptions: Subscriptions, service: NodeService
) -> None:
    """Answer JSON-RPC frames on ``socket`` and push its subscriptions' notifications."""
    await socket.accept()
    async with service.events.subscribe() as subscription:
        receive: asyncio.Task[Message] = asyncio.ensure_future(socket.receive())
        event: asyncio.Task[Any] = asyncio.ensure_future(subscription.get())
        try:
            while True:
                done, _ = await asyncio.wait({receive, event}, return_when=asyncio.FIRST_COMPLETED)
                if event in done:
                    for item in event.result():
                        if item is LAGGED:
                            await socket.close(code=1013, reason="subscriber fell behind")
                            return
                        if item.get("type") == "block":
                            for note in subscriptions.notifications(int(item["height"])):
                                await socket.send_json(note)
                    event = asyncio.ensure_future(subscription.get())
                if receive in done:
                    message = receive.result()
                    if message["type"] == "websocket.disconnect":
                        return
                    answer, close = await _socket_answer(
                        rpc, subscriptions, message, new_request_id()
                    )
                    if answer is not None:
                        await socket.send_json(answer)
                    if close is not None:
                        await socket.close(code=close[0], reason=close[1])
                        return
                    receive = asyncio.ensure_future(socket.receive())
        except WebSocketDisconnect:
            return
        finally:
            receive.cancel()
            event.cancel()


def _decode_request(data: bytes | str) -> Any:
    """A JSON-RPC request or a 1..MAX_BATCH batch from client bytes, with the one decoder.

    Raises RpcError: -32700 not JSON, or beyond the decoder's depth or container
    limits (its code in ``data.code``), -32600 too large or an empty/oversized batch.
    """
    try:
        payload = decode_json(data, max_bytes=MAX_REQUEST_BYTES)
    except BodyTooLarge:
        raise RpcError(
            INVALID_REQUEST,
            f"request too large (limit {MAX_REQUEST_BYTES} bytes)",
            {"code": BodyTooLarge.code},
        ) from None
    except (MalformedJson, JsonTooDeep, JsonTooComplex) as exc:
        raise RpcError(PARSE_ERROR, f"parse error: {exc.message}", {"code": exc.code}) from None
    if isinstance(payload, list) and not 1 <= len(payload) <= MAX_BATCH:
        raise RpcError(INVALID_REQUEST, f"a batch holds 1 to {MAX_BATCH} requests")
    return payload


async def _socket_answer(
    rpc: Dispatcher, subscriptions: Subscriptions, message: Message, request_id: str
) -> tuple[Any, tuple[int, str] | None]:
    """The answer to one WebSocket frame, and the (code, reason) to close with after it.

    A frame that is not a JSON-RPC request (binary, not JSON, too deep, too
    large, not a request object) gets its error and then a close frame: the
    client does not speak the protocol. Errors in a valid request's params keep
    the socket open, as they keep an HTTP connection.
    """
    text = message.get("text")
    if text is None:
        error = RpcError(INVALID_REQUEST, "JSON-RPC frames are text, not binary")
        return error_answer(None, error), (CLOSE_UNSUPPORTED, "binary frame")
    try:
        request = _decode_request(text)
    except RpcError as exc:
        too_big = isinstance(exc.data, dict) and exc.data.get("code") == BodyTooLarge.code
        return error_answer(None, exc), (CLOSE_TOO_BIG if too_big else CLOSE_PROTOCOL, _reason(exc))
    if isinstance(request, list):
        return await rpc.handle_batch(request, request_id) or None, None
    answer = subscriptions.handle(request)
    if answer is None:
        answer = await rpc.handle(request, request_id)
    if answer is not None and answer.get("error", {}).get("code") in (PARSE_ERROR, INVALID_REQUEST):
        return answer, (CLOSE_PROTOCOL, _reason(answer["error"]["message"]))
    return answer, None


def _reason(error: RpcError | str) -> str:
    """A close frame's reason: the error's message within the 123 bytes a close frame holds."""
    text = error.message if isinstance(error, RpcError) else error
    return text.encode("utf-8")[:120].decode("utf-8", "ignore")
