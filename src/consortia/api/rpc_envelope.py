"""The JSON-RPC 2.0 envelope: request objects in, response objects out, methods dispatched.

[API-RPC-ERR.1] Error codes, of the specification and EIP-1474:

=======  ====================================================================
-32700   parse error: not JSON, or beyond the decoder's limits
-32600   invalid request: not a JSON-RPC 2.0 request object, bad batch
-32601   method not found
-32602   invalid params, and only that: the method's param spec refused them
         (:mod:`consortia.api.rpc_params`; the message names the param)
-32603   internal error: an unexpected exception in the node while answering;
         the message and ``data.requestId`` carry the request id, and the node
         logs one ERROR line with that id, the method and the traceback
-32000   transaction rejected or call failed (Consortia code in ``data.code``)
-32001   resource not found (a block not committed yet)
-32005   limit exceeded (code in ``data.code``)
3        execution reverted (revert data in ``data``)
=======  ====================================================================

[API-RPC-ERR.2] Each HTTP request and each WebSocket frame gets a request id
(:func:`new_request_id`), which HTTP also returns in ``X-Request-Id``; a batch
shares its request's id.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from consortia.api.rpc_params import InvalidParams, ParamSpec, parse_params

log = logging.getLogger(__name__)

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
REJECTED: Final = -32000
NOT_FOUND: Final = -32001
LIMIT_EXCEEDED: Final = -32005
REVERTED: Final = 3

REQUEST_ID_HEADER: Final = "X-Request-Id"


class RpcError(Exception):
    """A JSON-RPC error answer: its code, message and optional ``data``."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def new_request_id() -> str:
    """A fresh id for one HTTP request or WebSocket frame (16 hex digits)."""
    return secrets.token_hex(8)


def error_answer(ident: Any, exc: RpcError) -> dict[str, Any]:
    """The response object of an error."""
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.data is not None:
        error["data"] = exc.data
    return {"jsonrpc": "2.0", "id": ident, "error": error}


def result_answer(ident: Any, result: Any) -> dict[str, Any]:
    """The response object of a result."""
    return {"jsonrpc": "2.0", "id": ident, "result": result}


def invalid_params(exc: InvalidParams) -> RpcError:
    """The -32602 answer of a refusal by a param spec (``data`` names the param)."""
    data = None if exc.index is None else {"param": exc.index, "name": exc.name}
    return RpcError(INVALID_PARAMS, f"invalid params: {exc.message}", data)


def is_request(request: Any) -> bool:
    """A JSON-RPC 2.0 request object with a string method and array (or absent) params."""
    return (
        isinstance(request, dict)
        and request.get("jsonrpc") == "2.0"
        and isinstance(request.get("method"), str)
        and isinstance(request.get("params", []), list)
    )


ManyHandler = Callable[[list[list[Any]]], Awaitable[list[Any]]]
"""Answers several calls of one method at once: per call its result or an RpcError."""


@dataclass(frozen=True, slots=True)
class Method:
    """A method: its param spec and its handler, which gets the parsed params positionally."""

    spec: ParamSpec
    handler: Callable[..., Any]
    """Returns the result, or an awaitable of it; raises RpcError for a chain-level refusal."""
    many: ManyHandler | None = None
    """Set for a method whose calls in one batch are cheaper answered together."""


class Dispatcher:
    """Answers request objects and batches from a method table ([API-RPC-ERR.1])."""

    def __init__(self, methods: dict[str, Method]) -> None:
        self.methods = methods

    async def handle(self, request: Any, request_id: str) -> dict[str, Any] | None:
        """Answer one request object (None for a notification)."""
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
            return error_answer(None, RpcError(INVALID_REQUEST, "not a JSON-RPC 2.0 request"))
        ident = request.get("id")
        if not is_request(request):
            return error_answer(
                ident, RpcError(INVALID_REQUEST, "method must be a string, params an array")
            )
        name: str = request["method"]
        try:
            result = await self._call(name, request.get("params", []), request_id)
        except RpcError as exc:
            return error_answer(ident, exc)
        return result_answer(ident, result) if "id" in request else None

    async def handle_batch(self, requests: list[Any], request_id: str) -> list[dict[str, Any]]:
        """Answer a batch; answers keep the batch's order (notifications get none).

        JSON-RPC 2.0 lets a server take a batch's requests in any order: the
        calls of a method with a ``many`` handler, with valid params, are
        answered first and together, in batch order.
        """
        answers: dict[int, dict[str, Any] | None] = {}
        grouped: dict[str, list[tuple[int, list[Any]]]] = {}
        for i, request in enumerate(requests):
            method = self.methods.get(request["method"]) if is_request(request) else None
            if method is None or method.many is None:
                continue
            try:
                values = parse_params(method.spec, request.get("params", []))
            except InvalidParams:
                continue  # answered one by one below, with its refusal
            grouped.setdefault(request["method"], []).append((i, values))
        for name, calls in grouped.items():
            many = self.methods[name].many
            assert many is not None
            try:
                results = await many([values for _, values in calls])
            except Exception:
                failure = _internal(name, request_id)
                results = [failure] * len(calls)
            for (i, _), result in zip(calls, results, strict=True):
                ident = requests[i].get("id")
                if "id" not in requests[i]:
                    answers[i] = None
                elif isinstance(result, RpcError):
                    answers[i] = error_answer(ident, result)
                else:
                    answers[i] = result_answer(ident, result)
        for i, request in enumerate(requests):
            if i not in answers:
                answers[i] = await self.handle(request, request_id)
        return [a for i in range(len(requests)) if (a := answers[i]) is not None]

    async def _call(self, name: str, params: list[Any], request_id: str) -> Any:
        """Check ``params`` against ``name``'s spec and run its handler.

        Raises:
            RpcError: -32601 unknown method, -32602 params refused by the spec,
                the handler's own RpcError, or -32603 for any other exception
                (logged once at ERROR with the request id, method and traceback).
        """
        method = self.methods.get(name)
        if method is None:
            raise RpcError(METHOD_NOT_FOUND, f"the method {name} does not exist/is not available")
        try:
            values = parse_params(method.spec, params)
        except InvalidParams as exc:
            raise invalid_params(exc) from None
        try:
            result = method.handler(*values)
            if hasattr(result, "__await__"):
                result = await result
        except RpcError:
            raise
        except Exception:
            raise _internal(name, request_id) from None
        return result


def _internal(method: str, request_id: str) -> RpcError:
    """Log the exception being handled (one ERROR record) and return its -32603 answer.

    Called from inside an ``except`` block, so the record carries the traceback.
    """
    log.error("JSON-RPC request %s: %s failed", request_id, method, exc_info=True)
    return RpcError(
        INTERNAL_ERROR,
        f"internal error (request id {request_id})",
        {"code": "INTERNAL", "requestId": request_id},
    )
