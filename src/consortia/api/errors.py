"""API-level errors and the one JSON error body every failure is rendered as ([API-ERR.1]).

Tree::

    NodeError
     └── ApiError                API_ERROR
          ├── BadRequest         API_BAD_REQUEST        400 malformed request (field, problem)
          │    └── MalformedJson API_BAD_REQUEST        400 not JSON, not UTF-8, wrong shape
          ├── BadHex             API_BAD_HEX            400 a hex field is not hex
          ├── JsonTooDeep        API_JSON_TOO_DEEP      400 arrays/objects nest too deep
          ├── JsonTooComplex     API_JSON_TOO_COMPLEX   400 too many arrays/objects
          ├── BodyTooLarge       API_BODY_TOO_LARGE     413 body above the endpoint's limit
          ├── RouteNotFound      API_NOT_FOUND          404 no such route
          ├── MethodNotAllowed   API_METHOD_NOT_ALLOWED 405 route exists, method does not
          └── Internal           INTERNAL               500 unexpected; logged by the node

Every other :class:`NodeError` keeps its own ``code`` and ``http_status``
(codec, admission, ledger, state, module errors).
"""

from __future__ import annotations

import logging
from typing import Any, Final

import msgspec
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from consortia.api.schemas import ErrorDetail, ErrorResponse
from consortia.errors import NodeError

log = logging.getLogger(__name__)


class ApiError(NodeError):
    """The request itself is wrong, independent of chain state."""

    code = "API_ERROR"


class BadRequest(ApiError):
    """The request is malformed; the message names the field and the problem."""

    code = "API_BAD_REQUEST"


class MalformedJson(BadRequest):
    """A JSON body or frame is not JSON, not UTF-8, or not of the expected shape."""


class JsonTooDeep(ApiError):
    """A JSON body or frame nests arrays/objects deeper than the decoder's limit."""

    code = "API_JSON_TOO_DEEP"


class JsonTooComplex(ApiError):
    """A JSON body or frame holds more arrays/objects than the decoder builds for one request."""

    code = "API_JSON_TOO_COMPLEX"


class BadHex(ApiError):
    """A field that must be hex is not."""

    code = "API_BAD_HEX"


class BodyTooLarge(ApiError):
    """The request body exceeds this endpoint's limit."""

    code = "API_BODY_TOO_LARGE"
    http_status = 413


class RouteNotFound(ApiError):
    """No route matches the path."""

    code = "API_NOT_FOUND"
    http_status = 404


class MethodNotAllowed(ApiError):
    """The route exists but not with this HTTP method."""

    code = "API_METHOD_NOT_ALLOWED"
    http_status = 405


class Internal(ApiError):
    """An unexpected failure inside the node (logged there)."""

    code = "INTERNAL"
    http_status = 500


def error_response(code: str, message: str, status: int) -> Response:
    """The JSON error body with its HTTP status."""
    body = ErrorResponse(error=ErrorDetail(code=code, message=message))
    return Response(msgspec.json.encode(body), status_code=status, media_type="application/json")


def node_error_response(exc: NodeError) -> Response:
    """Render a :class:`NodeError` with its code and status."""
    return error_response(exc.code, exc.message, exc.http_status)


def validation_message(errors: Any) -> str:
    """One line naming each offending field and what is wrong with it."""
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


async def _on_node_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NodeError)
    return node_error_response(exc)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(BadRequest.code, validation_message(exc.errors()), 400)


_HTTP_CODES: Final = {404: RouteNotFound, 405: MethodNotAllowed}


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    known = _HTTP_CODES.get(exc.status_code)
    if known is not None:
        message = f"no route {request.method} {request.url.path}"
        if known is MethodNotAllowed:
            message = f"{request.method} is not allowed on {request.url.path}"
        return error_response(known.code, message, exc.status_code)
    return error_response(f"API_HTTP_{exc.status_code}", str(exc.detail), exc.status_code)


EXCEPTION_HANDLERS: Final = {
    NodeError: _on_node_error,
    RequestValidationError: _on_validation,
    HTTPException: _on_http,
}
"""Handlers installed on the app (unexpected exceptions: see limits.GuardMiddleware)."""


def documented(*codes: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error codes an endpoint can return."""
    by_status: dict[int, list[str]] = {}
    for status, code in (
        *codes,
        (400, "API_BAD_REQUEST"),
        (400, "API_JSON_TOO_DEEP"),
        (400, "API_JSON_TOO_COMPLEX"),
        (413, "API_BODY_TOO_LARGE"),
        (500, "INTERNAL"),
    ):
        by_status.setdefault(status, [])
        if code not in by_status[status]:
            by_status[status].append(code)
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    return {
        status: {
            "description": "Error codes: " + ", ".join(f"`{c}`" for c in sorted(names)),
            "content": {"application/json": {"schema": ref}},
        }
        for status, names in sorted(by_status.items())
    }
