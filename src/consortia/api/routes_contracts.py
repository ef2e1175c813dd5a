"""``/v1/contracts``: deployed contracts, and what the audit gate knows of a code hash.

For developers, auditors and the console: the recorded audit report, the
governance approval and every recorded waiver of a finding ([EVM-GATE.1]).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from consortia.api.errors import documented
from consortia.api.jsonable import to_plain
from consortia.api.params import hex_bytes, json_response
from consortia.evm.audit.report import AuditReport
from consortia.evm.gate import audit_key
from consortia.evm.types import CONTRACT_PREFIX, ContractRecord
from consortia.modules.governance.types import (
    WAIVER_PREFIX,
    ContractApproval,
    Waiver,
    contract_key,
)
from consortia.node.service import NodeService

MAX_LIST: Final = 1_000


def router(service: NodeService) -> APIRouter:
    """Routes bound to ``service``."""
    api = APIRouter(prefix="/v1", tags=["contracts"])
    reader = service.reader

    @api.get(
        "/contracts",
        summary="Deployed contracts, most recent first",
        description="Each with its address, runtime code hash, deployer, height and transaction.",
        responses={**documented()},
    )
    async def contracts(
        limit: Annotated[int, Query(ge=1, le=MAX_LIST, description="Most records.")] = 100,
    ) -> Response:
        height, records = reader.structs(CONTRACT_PREFIX, ContractRecord)
        ordered = sorted((r for _, r in records), key=lambda r: r.height, reverse=True)
        return json_response(
            {"height": height, "contracts": [to_plain(r) for r in ordered[:limit]]}
        )

    @api.get(
        "/contracts/{code_hash}",
        summary="Audit report, approval and waivers of a runtime code hash",
        description="Keccak-256 of a contract's runtime code, as in its `contract_created` event.",
        responses=documented((400, "API_BAD_REQUEST")),
    )
    async def contract(
        code_hash: Annotated[str, Path(description="Runtime code hash (32-byte hex).")],
    ) -> Response:
        wanted = hex_bytes(code_hash, "code_hash", length=32)
        height, report = reader.struct(audit_key(wanted), AuditReport)
        _, approval = reader.struct(contract_key(wanted), ContractApproval)
        _, waivers = reader.structs(WAIVER_PREFIX + wanted, Waiver)
        body: dict[str, Any] = {
            "code_hash": "0x" + wanted.hex(),
            "height": height,
            "audit": None if report is None else to_plain(report),
            "has_high": None if report is None else report.has_high,
            "approval": None if approval is None else to_plain(approval),
            "waivers": [to_plain(w) for _, w in waivers],
        }
        return json_response(body)

    return api
