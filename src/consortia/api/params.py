"""Reading requests: JSON bodies into API documents, hex parameters into bytes."""

from __future__ import annotations

from typing import Any, Final, TypeVar

import msgspec
from fastapi import Request
from starlette.responses import Response

from consortia.api.errors import BadHex, BadRequest, MalformedJson
from consortia.api.json_body import decode_json
from consortia.api.jsonable import parse_hex
from consortia.api.limits import body_limit
from consortia.api.schemas import Document

D = TypeVar("D", bound=Document)

U64_MAX: Final = 2**64 - 1


async def read_json(request: Request, type_: type[D]) -> D:
    """Decode the request body as ``type_`` with the one JSON decoder ([API-JSON.1]).

    Raises:
        BadRequest: the body is empty.
        MalformedJson: not JSON, not UTF-8, or not a valid ``type_`` (names the field).
        JsonTooDeep: nesting deeper than the decoder's limit.
        BodyTooLarge: above this path's body limit.
    """
    body = await request.body()
    if not body:
        raise BadRequest(f"request body must be a JSON {type_.__name__} object; it is empty")
    try:
        return decode_json(body, max_bytes=body_limit(request.url.path), type_=type_)
    except MalformedJson as exc:
        raise MalformedJson(f"request body: {exc.message}") from None


def hex_bytes(value: str, field: str, *, length: int | None = None) -> bytes:
    """Bytes of a hex field (``0x`` optional); raises BadHex or BadRequest (wrong length)."""
    try:
        data = parse_hex(value)
    except ValueError as exc:
        raise BadHex(f"{field} is not hex: {exc}") from None
    if length is not None and len(data) != length:
        raise BadRequest(f"{field} must be {length} bytes, got {len(data)}")
    return data


def json_response(document: Any, status: int = 200) -> Response:
    """A JSON response of an API document."""
    return Response(
        msgspec.json.encode(document), status_code=status, media_type="application/json"
    )


def documented_ok(
    type_: type[Document], description: str, status: int = 200, *, many: bool = False
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entry of a successful answer (``many``: a JSON array of them)."""
    ref: dict[str, Any] = {"$ref": f"#/components/schemas/{type_.__name__}"}
    schema = {"type": "array", "items": ref} if many else ref
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def documented_body(type_: type[Document]) -> dict[str, Any]:
    """OpenAPI ``openapi_extra`` declaring a JSON request body of ``type_``."""
    ref = {"$ref": f"#/components/schemas/{type_.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}
