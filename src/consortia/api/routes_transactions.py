"""``/v1/transactions``: submit one or many signed transactions, look one up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from consortia.api import render
from consortia.api import schemas as s
from consortia.api.errors import documented
from consortia.api.params import (
    documented_body,
    documented_ok,
    hex_bytes,
    json_response,
    read_json,
)
from consortia.errors import NodeError
from consortia.ledger.errors import TransactionNotFound
from consortia.node.service import NodeService

ADMISSION_ERRORS = (
    (400, "CODEC_MALFORMED"),
    (400, "CODEC_NON_CANONICAL"),
    (400, "TX_WRONG_CHAIN"),
    (400, "TX_BAD_SIGNATURE"),
    (400, "TX_KEY_TYPE_NOT_ALLOWED"),
    (413, "TX_TOO_LARGE"),
    (400, "TX_GAS_LIMIT_TOO_HIGH"),
    (400, "TX_EXPIRED"),
    (400, "TX_EXPIRY_TOO_FAR"),
    (400, "TX_STALE_NONCE"),
    (400, "TX_FUTURE_NONCE"),
    (403, "TX_UNAUTHORIZED"),
    (403, "TX_ACCOUNT_FROZEN"),
    (409, "TX_DUPLICATE"),
    (409, "TX_NONCE_PENDING"),
    (429, "TX_SENDER_LIMIT"),
    (429, "TX_RATE_LIMITED"),
    (503, "MEMPOOL_FULL"),
    (400, "API_BAD_HEX"),
)
"""Codes a submission can be rejected with (the mempool's admission checks)."""


def router(service: NodeService) -> APIRouter:
    """Routes bound to ``service``."""
    api = APIRouter(prefix="/v1/transactions", tags=["transactions"])

    @api.post(
        "",
        summary="Submit a signed transaction",
        description=(
            "Body: the hex of one canonical `Transaction`. Answers 202 once the mempool "
            "admits it; with `wait` (seconds, 0-60) answers 200 with the committed record "
            "if it commits in time, else 202. Limit: 256 KiB."
        ),
        responses={
            **documented_ok(s.Submitted, "Admitted; not yet committed.", 202),
            **documented_ok(s.TransactionJson, "Committed within `wait` seconds."),
            **documented(*ADMISSION_ERRORS),
        },
        openapi_extra=documented_body(s.SubmitRequest),
    )
    async def submit(
        request: Request,
        wait: Annotated[
            float | None, Query(ge=0, le=60, description="Seconds to wait for the commit.")
        ] = None,
    ) -> Response:
        body = await read_json(request, s.SubmitRequest)
        identifier = await service.submit(hex_bytes(body.tx, "tx"))
        if wait:
            record = await service.wait_committed(identifier, wait)
            if record is not None:
                return json_response(render.committed_json(record, service.runtime))
        return json_response(s.Submitted(tx_id=s.to_hex(identifier)), 202)

    @api.post(
        "/batch",
        summary="Submit up to 10,000 signed transactions",
        description=(
            "Admits each transaction in order; each result is `{tx_id}` or `{error}` with "
            "the same codes as single submission. Limit: 64 MiB."
        ),
        responses={
            **documented_ok(s.BatchResponse, "One result per transaction, in order."),
            **documented(),
        },
        openapi_extra=documented_body(s.BatchRequest),
    )
    async def submit_batch(request: Request) -> Response:
        body = await read_json(request, s.BatchRequest)
        raws: list[bytes] = []
        slots: list[int] = []
        results: list[s.BatchItem] = []
        for i, text in enumerate(body.txs):
            try:
                raws.append(hex_bytes(text, f"txs[{i}]"))
                slots.append(i)
                results.append(s.BatchItem())
            except NodeError as exc:
                results.append(s.BatchItem(error=s.ErrorDetail(code=exc.code, message=exc.message)))
        outcomes = await service.submit_many(raws) if raws else []
        for slot, outcome in zip(slots, outcomes, strict=True):
            if isinstance(outcome, NodeError):
                detail = s.ErrorDetail(code=outcome.code, message=outcome.message)
                results[slot] = s.BatchItem(error=detail)
            else:
                results[slot] = s.BatchItem(tx_id=s.to_hex(outcome))
        return json_response(s.BatchResponse(results=results))

    @api.get(
        "/{tx_id}",
        summary="A transaction by id",
        description=(
            "`status`: `committed` (with receipt; a failed receipt is still committed), "
            "`pending` in this node's mempool, or `dropped` from it uncommitted, with a "
            "`reason` (`expired`, `nonce_gap_timeout`, `replaced`). This node remembers its "
            "last 65,536 drops; 404 means it does not know the transaction (never admitted "
            "here, a drop long ago, or admitted before a restart without the journal)."
        ),
        responses={
            **documented_ok(s.TransactionJson, "Committed, pending or dropped."),
            **documented((404, "LEDGER_TX_NOT_FOUND"), (400, "API_BAD_HEX")),
        },
    )
    async def transaction(
        tx_id: Annotated[str, Path(description="Transaction id (32-byte hex).")],
    ) -> Response:
        identifier = hex_bytes(tx_id, "tx_id", length=32)
        try:
            return json_response(
                render.committed_json(service.transaction(identifier), service.runtime)
            )
        except TransactionNotFound:
            if identifier in service.mempool:
                return json_response(
                    s.TransactionJson(tx_id=s.to_hex(identifier), status="pending")
                )
            dropped = service.mempool.dropped(identifier)
            if dropped is None:
                raise
            return json_response(
                s.TransactionJson(
                    tx_id=s.to_hex(identifier),
                    status="dropped",
                    height=dropped.height,
                    reason=dropped.reason.value,
                    message=dropped.message,
                )
            )

    return api


__all__ = ["ADMISSION_ERRORS", "router"]
