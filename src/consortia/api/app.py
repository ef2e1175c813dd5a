"""Builds the node's HTTP application: routes, error handlers, limits, OpenAPI."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from consortia import __version__
from consortia.api import (
    events,
    routes_chain,
    routes_contracts,
    routes_event_log,
    routes_governance,
    routes_state,
    routes_transactions,
    rpc,
)
from consortia.api.client_limits import ClientIdentityMiddleware, SocketLimits, call_limits
from consortia.api.errors import EXCEPTION_HANDLERS, node_error_response
from consortia.api.limits import BodyLimitMiddleware, GuardMiddleware
from consortia.api.schemas import ALL_DOCUMENTS
from consortia.console import routes as console_routes
from consortia.node.service import NodeService

DESCRIPTION = """\
REST API of a Consortia node. Bytes are `0x`-prefixed lowercase hex (inputs
accept hex with or without `0x`); integers are JSON numbers. Every error is
`{"error": {"code": "<STABLE_CODE>", "message": "..."}}` with the HTTP status
of its code; see docs/api.md for the code table. Events stream over the
WebSocket `/v1/events`.
"""


def create_app(service: NodeService) -> FastAPI:
    """The HTTP application serving ``service`` (the node's public operations)."""
    app = FastAPI(
        title="Consortia node API",
        version=__version__,
        description=DESCRIPTION,
        exception_handlers=dict(EXCEPTION_HANDLERS),  # type: ignore[arg-type]
        docs_url="/docs",
        redoc_url=None,
    )
    app.include_router(routes_transactions.router(service))
    app.include_router(routes_chain.router(service))
    app.include_router(routes_state.router(service))
    app.include_router(routes_governance.router(service))
    sockets = SocketLimits()  # one budget over both WebSocket routes
    app.include_router(events.router(service, sockets))
    app.include_router(rpc.router(service, sockets, call_limits(service)))
    app.include_router(routes_contracts.router(service))
    app.include_router(routes_event_log.router(service))
    console_routes.mount(app, render_error=node_error_response)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(ClientIdentityMiddleware)
    app.add_middleware(GuardMiddleware)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with msgspec's schemas of the API documents merged in."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    _, components = msgspec.json.schema_components(
        ALL_DOCUMENTS, ref_template="#/components/schemas/{name}"
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(components)
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    app.openapi_schema = doc
    return doc
