"""``/v1/accounts``, ``/v1/assets`` and ``/v1/state``: reads of executed state."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from consortia.api import render
from consortia.api import schemas as s
from consortia.api.errors import documented
from consortia.api.params import U64_MAX, documented_ok, hex_bytes, json_response
from consortia.ledger.errors import BlockNotFound
from consortia.modules.assets.errors import AssetNotFound
from consortia.node.service import NodeService

RECENT_TRANSACTIONS: Final = 20
"""How many of an account's newest transaction ids ``GET /v1/accounts`` lists."""


def router(service: NodeService) -> APIRouter:
    """Routes bound to ``service``."""
    api = APIRouter(prefix="/v1", tags=["state"])
    reader = service.reader

    @api.get(
        "/accounts/{address}",
        summary="An account, its keys, balances and newest transactions",
        responses={
            **documented_ok(s.AccountJson, "The account (exists=false if never used)."),
            **documented((400, "API_BAD_HEX")),
        },
    )
    async def account(
        address: Annotated[str, Path(description="20-byte account address (hex).")],
    ) -> Response:
        raw = hex_bytes(address, "address", length=20)
        record = reader.account(raw)
        recent = reader.account_transactions(raw, RECENT_TRANSACTIONS)
        return json_response(render.account_json(record, recent))

    @api.get(
        "/assets/{symbol}",
        summary="An asset definition and its supply",
        responses={
            **documented_ok(s.AssetJson, "The asset."),
            **documented((404, "ASSET_NOT_FOUND")),
        },
    )
    async def asset(symbol: Annotated[str, Path(description="Asset symbol.")]) -> Response:
        found = reader.asset(symbol)
        if found is None:
            raise AssetNotFound(f"no asset {symbol!r}")
        return json_response(render.asset_json(found))

    @api.get(
        "/state/{key}",
        summary="A state value with its proof",
        description=(
            "Value of a raw state key at `version` (default: the newest certified one), "
            "the proof (hex of `StateProof.to_bytes()`) and the header of the first block "
            "committing to that state root, so the client can verify proof -> "
            "header.state_root -> QC without trusting the node."
        ),
        responses={
            **documented_ok(s.StateJson, "Value, proof and certifying header."),
            **documented(
                (400, "API_BAD_HEX"),
                (404, "LEDGER_BLOCK_NOT_FOUND"),
                (404, "STATE_VERSION_NOT_FOUND"),
            ),
        },
    )
    async def state(
        key: Annotated[str, Path(description="State key (hex).")],
        version: Annotated[
            int | None, Query(ge=0, le=U64_MAX, description="State version (a height).")
        ] = None,
    ) -> Response:
        record = reader.state(hex_bytes(key, "key"), version)
        header = None
        if record.header_height is not None:
            try:
                header = reader.block(record.header_height).block.header
            except BlockNotFound:
                header = None
        return json_response(render.state_json(record, header))

    return api
