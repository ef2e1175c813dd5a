"""The node's REST API (FastAPI): ``create_app(service)``; documents in ``schemas``.

Importing this package does not import FastAPI; the SDK uses ``schemas``
and ``jsonable`` without the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from consortia.node.service import NodeService

__all__ = ["create_app"]


def create_app(service: NodeService, **options: Any) -> FastAPI:
    """The HTTP application of a node (see :func:`consortia.api.app.create_app`)."""
    from consortia.api.app import create_app as build

    return build(service, **options)
