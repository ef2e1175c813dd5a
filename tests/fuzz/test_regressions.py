"""Shrunk findings of the fuzzers, each pinned as a plain test against a live node.

Each test names the fuzzer and check that found it and the minimal input.
"""

from __future__ import annotations

from typing import Any

import pytest
from schemathesis import checks
from schemathesis.specs.openapi.schemas import OpenApiSchema
from tests.fuzz.conftest import FuzzNode

pytestmark = [pytest.mark.xdist_group("fuzz-node")]


def _operation(openapi: OpenApiSchema, method: str, path: str) -> Any:
    operation = openapi.find_operation_by_label(f"{method} {path}")
    assert operation is not None, f"{method} {path} is not in the OpenAPI document"
    return operation


def test_evidence_answer_matches_its_documented_schema(
    node: FuzzNode, openapi: OpenApiSchema
) -> None:
    """test_openapi (positive, response_schema_conformance): ``GET /v1/evidence`` answers a
    JSON array of evidence items, but its OpenAPI document declares a single
    ``EvidenceJson`` object, so ``[]`` (no evidence) violates the document."""
    operation = _operation(openapi, "GET", "/v1/evidence")
    case = operation.Case()
    response = case.call(base_url=node.url, timeout=10)
    assert response.status_code == 200 and response.json() == []
    case.validate_response(response, checks=[checks.response_schema_conformance])


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/governance/proposals", {"limit": 0}),
        ("/v1/governance/proposals", {"limit": "x"}),
        ("/v1/contracts", {"limit": 0}),
        ("/v1/contracts", {"limit": 1001}),
    ],
)
def test_query_errors_are_documented(
    node: FuzzNode, openapi: OpenApiSchema, path: str, query: dict[str, Any]
) -> None:
    """test_openapi (negative, status_code_conformance): a ``limit`` out of range gets 400
    ``API_BAD_REQUEST`` (right), but these operations document only 200, so clients
    generated from the document do not expect it."""
    operation = _operation(openapi, "GET", path)
    case = operation.Case(query=query)
    response = case.call(base_url=node.url, timeout=10)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "API_BAD_REQUEST"
    case.validate_response(response, checks=[checks.status_code_conformance])
