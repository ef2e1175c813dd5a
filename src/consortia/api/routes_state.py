"""``/v1/accounts``, ``/v1/assets`` (list, one, holders) and ``/v1/state``: executed state."""

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
MAX_PAGE: Final = 1_000
"""Most assets or holders one page lists."""
HOLDER_SCAN: Final = 10_000
"""Most balance entries one ``GET /v1/assets/{symbol}/holders`` page reads."""
SYMBOL_PATTERN: Final = r"^[A-Z][A-Z0-9._-]{0,31}$"


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
        "/assets",
        summary="Asset definitions with their supply, by symbol",
        description=(
            "A page of at most `limit` assets in symbol order; `next` (null on the last "
            "page) is the `after` of the next page."
        ),
        responses={
            **documented_ok(s.AssetListJson, "A page of assets."),
            **documented(),
        },
    )
    async def assets(
        after: Annotated[
            str | None,
            Query(pattern=SYMBOL_PATTERN, description="List symbols after this one."),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Most assets.")] = 100,
    ) -> Response:
        return json_response(render.asset_list_json(reader.assets(after or "", limit)))

    @api.get(
        "/assets/{symbol}/holders",
        summary="Accounts holding an asset, by address",
        description=(
            "Balances are stored by holder, so each page reads at most 10,000 balance "
            "entries (of every asset) and may list fewer than `limit` holders; follow "
            "`next` (the `after` of the next page) until it is null."
        ),
        responses={
            **documented_ok(s.HoldersJson, "A page of holders."),
            **documented((404, "ASSET_NOT_FOUND"), (400, "API_BAD_HEX")),
        },
    )
    async def holders(
        symbol: Annotated[str, Path(description="Asset symbol.")],
        after: Annotated[
            str | None, Query(description="List holders after this address (hex).")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Most holders.")] = 100,
    ) -> Response:
        start = None if after is None else hex_bytes(after, "after", length=20)
        if reader.asset(symbol) is None:
            raise AssetNotFound(f"no asset {symbol!r}")
        page = reader.holders(symbol, start, limit, HOLDER_SCAN)
        return json_response(render.holders_json(page))

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
