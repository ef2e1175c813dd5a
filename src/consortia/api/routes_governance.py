"""``/v1/governance``: proposals with votes and history, organisations, roles (read-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from consortia.api import schemas as s
from consortia.api.errors import documented
from consortia.api.jsonable import to_plain
from consortia.api.params import U64_MAX, documented_ok, hex_bytes, json_response
from consortia.api.schemas import to_hex
from consortia.codec import CodecError
from consortia.execution.errors import ExecutionError
from consortia.modules.governance import effective_status, tally
from consortia.modules.governance.effects import decode_payload
from consortia.modules.governance.errors import ProposalNotFound
from consortia.modules.governance.types import (
    COMMITTEE_KEY,
    ORG_PREFIX,
    PROPOSAL_PREFIX,
    THRESHOLDS_KEY,
    Committee,
    Member,
    Organisation,
    Proposal,
    Status,
    Thresholds,
    member_key,
    proposal_key,
)
from consortia.node.reader import LedgerReader
from consortia.node.service import NodeService

MAX_LIST = 1_000
"""Most proposals one list answer carries."""


def proposal_json(
    proposal: Proposal, committee: Committee, thresholds: Thresholds, height: int
) -> s.ProposalJson:
    """API document of a proposal read at ``height`` (status ``expired`` derived)."""
    yes, no, abstain = tally(committee, proposal.votes)
    threshold = thresholds.for_proposal(proposal.kind, proposal.payload)
    try:
        decoded = to_plain(decode_payload(proposal.kind, proposal.payload))
    except (ExecutionError, CodecError):
        decoded = None
    part, appr = threshold.participation, threshold.approval
    return s.ProposalJson(
        id=proposal.id,
        kind=proposal.kind.value,
        payload=to_hex(proposal.payload),
        payload_decoded=decoded,
        proposer=to_hex(proposal.proposer),
        created_height=proposal.created_height,
        deadline_height=proposal.deadline_height,
        status=effective_status(proposal, height).value,
        outcome=proposal.outcome,
        closed_height=proposal.closed_height,
        votes=[
            s.VoteJson(
                voter=to_hex(v.voter),
                choice=v.choice.value,
                weight=committee.weight_of(v.voter),
                height=v.height,
            )
            for v in proposal.votes
        ],
        tally=s.TallyJson(
            yes=yes,
            no=no,
            abstain=abstain,
            total=committee.total,
            participation=f"{part.numerator}/{part.denominator}",
            approval=f"{appr.numerator}/{appr.denominator}",
        ),
        history=[
            s.HistoryJson(height=h.height, action=h.action, actor=to_hex(h.actor), detail=h.detail)
            for h in proposal.history
        ],
        height=height,
    )


def _rules(reader: LedgerReader) -> tuple[Committee, Thresholds]:
    committee = reader.struct(COMMITTEE_KEY, Committee)[1] or Committee(governors=())
    thresholds = reader.struct(THRESHOLDS_KEY, Thresholds)[1] or Thresholds(entries=())
    return committee, thresholds


def router(service: NodeService) -> APIRouter:
    """Routes bound to ``service``."""
    api = APIRouter(prefix="/v1/governance", tags=["governance"])
    reader = service.reader

    @api.get(
        "/proposals",
        summary="Proposals, newest first, with votes, tally and history",
        responses={**documented_ok(s.ProposalListJson, "The proposals."), **documented()},
    )
    async def proposals(
        status: Annotated[
            Status | None,
            Query(description="Only this status: open, executed, failed, expired (else 400)."),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIST, description="Most to return.")] = 100,
    ) -> Response:
        height, found = reader.structs(PROPOSAL_PREFIX, Proposal)
        committee, thresholds = _rules(reader)
        docs = [proposal_json(p, committee, thresholds, height) for _, p in reversed(found)]
        if status is not None:
            docs = [d for d in docs if d.status == status.value]
        return json_response(s.ProposalListJson(proposals=docs[:limit], height=height))

    @api.get(
        "/proposals/{proposal_id}",
        summary="One proposal with its votes, tally and history",
        responses={
            **documented_ok(s.ProposalJson, "The proposal."),
            **documented((404, "GOV_PROPOSAL_NOT_FOUND")),
        },
    )
    async def proposal(
        proposal_id: Annotated[int, Path(ge=0, le=U64_MAX, description="Proposal id.")],
    ) -> Response:
        height, found = reader.struct(proposal_key(proposal_id), Proposal)
        if found is None:
            raise ProposalNotFound(f"no proposal {proposal_id}")
        committee, thresholds = _rules(reader)
        return json_response(proposal_json(found, committee, thresholds, height))

    @api.get(
        "/organisations",
        summary="Member organisations and the governing committee",
        responses={**documented_ok(s.OrganisationsJson, "Organisations and committee.")},
    )
    async def organisations() -> Response:
        height, found = reader.structs(ORG_PREFIX, Organisation)
        committee, _ = _rules(reader)
        return json_response(
            s.OrganisationsJson(
                organisations=[
                    s.OrganisationJson(
                        name=o.name,
                        admins=[to_hex(a) for a in o.admins],
                        ca_cert=o.ca_cert.decode("utf-8", "replace"),
                    )
                    for _, o in found
                ],
                committee=[
                    s.GovernorJson(address=to_hex(g.address), weight=g.weight)
                    for g in committee.governors
                ],
                height=height,
            )
        )

    @api.get(
        "/roles/{address}",
        summary="An account's roles, organisation and committee weight",
        responses={
            **documented_ok(s.RolesJson, "Roles (empty if none)."),
            **documented((400, "API_BAD_HEX")),
        },
    )
    async def roles(
        address: Annotated[str, Path(description="20-byte account address (hex).")],
    ) -> Response:
        raw = hex_bytes(address, "address", length=20)
        height, member = reader.struct(member_key(raw), Member)
        committee, _ = _rules(reader)
        return json_response(
            s.RolesJson(
                address=to_hex(raw),
                roles=[] if member is None else [str(r) for r in member.roles],
                organisation="" if member is None else member.organisation,
                weight=committee.weight_of(raw),
                height=height,
            )
        )

    return api
