"""``GET /v1/evidence``: the equivocations the consensus core recorded, as JSON."""

from __future__ import annotations

import httpx
import pytest
from tests.support.node import InProcessNode

from consortia.consensus.core import Equivocation, EquivocationKind

pytestmark = pytest.mark.slow


def test_evidence_lists_recorded_equivocations(live: InProcessNode) -> None:
    assert httpx.get(f"{live.url}/v1/evidence").json() == []
    item = Equivocation(
        kind=EquivocationKind.VOTE, round=7, author=0, first=b"\x01" * 32, second=b"\x02" * 32
    )
    live.node.service.core.evidence.append(item)
    try:
        body = httpx.get(f"{live.url}/v1/evidence").json()
        status = httpx.get(f"{live.url}/v1/status").json()
    finally:
        live.node.service.core.evidence.remove(item)
    assert body == [
        {
            "kind": "vote",
            "round": 7,
            "author": 0,
            "first": "0x" + "01" * 32,
            "second": "0x" + "02" * 32,
        }
    ]
    assert status["evidence"] == 1


def test_evidence_is_in_the_openapi_document(live: InProcessNode) -> None:
    doc = httpx.get(f"{live.url}/openapi.json").json()
    assert "get" in doc["paths"]["/v1/evidence"]
    assert "EvidenceJson" in doc["components"]["schemas"]
