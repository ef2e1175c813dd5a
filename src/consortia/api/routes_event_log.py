"""``GET /v1/event-log``: module events of committed transactions, newest first.

The WebSocket ``/v1/events`` streams events as they commit; this is the
history a client (the console's explorer) reads back, page by page. There is
no event index: each page walks at most :data:`MAX_SCAN_BLOCKS` blocks'
receipts down from the tip or the cursor ([API-EVENT-LOG.1],
``node/event_log.py``).
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query
from starlette.responses import Response

from consortia.api import render
from consortia.api import schemas as s
from consortia.api.errors import BadRequest, documented
from consortia.api.params import documented_ok, json_response
from consortia.node.event_log import EventPosition
from consortia.node.service import NodeService

MAX_LIMIT: Final = 500
"""Most events one page returns."""
MAX_SCAN_BLOCKS: Final = 1_000
"""Most blocks one page reads."""
NAME_PATTERN: Final = r"^[A-Za-z0-9_.:-]{1,64}$"
"""A module or event name (``codec.Name``)."""


def router(service: NodeService) -> APIRouter:
    """Routes bound to ``service``."""
    api = APIRouter(prefix="/v1", tags=["events"])

    @api.get(
        "/event-log",
        summary="Recent module events, newest first",
        description=(
            "Events of committed transactions (height, transaction index, event index, "
            "transaction id, module, name, attributes), optionally of one `module` and "
            "`name`. A page reads at most 1,000 blocks, so it may hold fewer than `limit` "
            "events; pass `next` as `before` for older ones until `next` is null."
        ),
        responses={
            **documented_ok(s.EventLogJson, "A page of events."),
            **documented(),
        },
    )
    async def event_log(
        module: Annotated[
            str | None, Query(pattern=NAME_PATTERN, description="Only this module's events.")
        ] = None,
        name: Annotated[
            str | None, Query(pattern=NAME_PATTERN, description="Only events of this name.")
        ] = None,
        before: Annotated[
            str | None,
            Query(description="Cursor `height-index-event` from a previous page's `next`."),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Most events.")] = 100,
    ) -> Response:
        position = None
        if before is not None:
            try:
                position = EventPosition.parse(before)
            except ValueError as exc:
                raise BadRequest(f"before: {exc}") from None
        page = service.reader.event_log(
            before=position, limit=limit, max_blocks=MAX_SCAN_BLOCKS, module=module, name=name
        )
        return json_response(render.event_log_json(page))

    @api.get(
        "/event-types",
        summary="Every module's event types and their fields",
        description=(
            "What each module declares it may emit ([EXEC-EVENT.1]): the event name and its "
            "fields in attribute order, each `uint` (decimal text), `bytes` (hex text) or "
            "`string`. Clients read an event's `attributes` with these types."
        ),
        responses={
            **documented_ok(s.EventTypeJson, "A JSON array of event types.", many=True),
            **documented(),
        },
    )
    async def event_types() -> Response:
        return json_response(render.event_types_json(service.runtime))

    return api
