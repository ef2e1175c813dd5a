"""``/v1/blocks``, ``/v1/genesis/raw``, ``/v1/status`` and ``/v1/evidence``."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import Response

from consortia.api import render
from consortia.api import schemas as s
from consortia.api.errors import documented
from consortia.api.params import U64_MAX, documented_ok, hex_bytes, json_response
from consortia.codec import encode
from consortia.crypto import get_suite
from consortia.node.service import NodeService

Height = Annotated[int, Path(ge=0, le=U64_MAX, description="Block height.")]
NOT_FOUND = (404, "LEDGER_BLOCK_NOT_FOUND")


def router(service: NodeService) -> APIRouter:
    """Routes bound to ``service``."""
    api = APIRouter(prefix="/v1", tags=["chain"])
    hash_fn = get_suite(service.suite).hash

    def block_at(height: int) -> Response:
        return json_response(render.block_json(service.reader.block(height), hash_fn))

    @api.get(
        "/blocks/latest",
        summary="The latest executed block",
        responses={**documented_ok(s.BlockJson, "The block."), **documented()},
    )
    async def latest_block() -> Response:
        return block_at(service.reader.height())

    @api.get(
        "/blocks/by-id/{block_id}",
        summary="A block by id",
        responses={
            **documented_ok(s.BlockJson, "The block."),
            **documented(NOT_FOUND, (400, "API_BAD_HEX")),
        },
    )
    async def block_by_id(
        block_id: Annotated[str, Path(description="Block id (32-byte hex).")],
    ) -> Response:
        record = service.reader.block_by_id(hex_bytes(block_id, "block_id", length=32))
        return json_response(render.block_json(record, hash_fn))

    @api.get(
        "/blocks/{height}",
        summary="A block by height",
        responses={**documented_ok(s.BlockJson, "The block."), **documented(NOT_FOUND)},
    )
    async def block(height: Height) -> Response:
        return block_at(height)

    @api.get(
        "/blocks/{height}/raw",
        summary="Canonical bytes of a block and its certificate",
        description="For verifiers that trust only their own decoding (`consortia verify`).",
        responses={**documented_ok(s.RawBlockJson, "The block bytes."), **documented(NOT_FOUND)},
    )
    async def raw_block(height: Height) -> Response:
        record = service.reader.block(height)
        certificate = record.certificate
        return json_response(
            s.RawBlockJson(
                height=height,
                block=s.to_hex(encode(record.block)),
                certificate=None if certificate is None else s.to_hex(encode(certificate)),
            )
        )

    @api.get(
        "/validators/links",
        summary="This node's view of each validator of the current epoch",
        description=(
            "Whether its link is up, seconds since it last sent anything, and frame counts: "
            "the health column of the console's dashboard."
        ),
        responses=documented(),
    )
    async def validator_links() -> Response:
        return json_response({"validators": service.validator_links()})

    @api.get(
        "/epochs/current",
        summary="The epoch in force and its validator set",
        responses={**documented_ok(s.EpochJson, "The epoch."), **documented()},
    )
    async def current_epoch() -> Response:
        return json_response(render.epoch_json(service.reader.epoch()))

    @api.get(
        "/epochs/{epoch}",
        summary="Where an epoch began, its validator set and the proof of its root",
        description="Verifiers follow validator-set changes with `raw` (docs/consensus.md).",
        responses={
            **documented_ok(s.EpochJson, "The epoch."),
            **documented((404, "LEDGER_EPOCH_NOT_FOUND")),
        },
    )
    async def epoch(
        epoch: Annotated[int, Path(ge=0, le=U64_MAX, description="Epoch number.")],
    ) -> Response:
        return json_response(render.epoch_json(service.reader.epoch(epoch)))

    @api.get(
        "/genesis/raw",
        summary="Canonical bytes of the genesis",
        responses={**documented_ok(s.RawGenesisJson, "genesis.bin as hex."), **documented()},
    )
    async def raw_genesis() -> Response:
        raw = await asyncio.to_thread(service.genesis_file.read_bytes)
        return json_response(s.RawGenesisJson(genesis=s.to_hex(raw)))

    @api.get(
        "/status",
        summary="The node's status",
        responses={**documented_ok(s.StatusJson, "Status snapshot."), **documented()},
    )
    async def status() -> Response:
        return json_response(render.status_json(service.status()))

    @api.get(
        "/evidence",
        summary="Equivocation evidence this node has seen",
        description="Each item: a validator that signed two conflicting proposals or votes.",
        responses={
            **documented_ok(s.EvidenceJson, "A JSON array of evidence items.", many=True),
            **documented(),
        },
    )
    async def evidence() -> Response:
        return json_response(
            [
                s.EvidenceJson(
                    kind=item.kind,
                    round=item.round,
                    author=item.author,
                    first=s.to_hex(item.first),
                    second=s.to_hex(item.second),
                )
                for item in service.core.evidence
            ]
        )

    return api
