"""Fuzzing every REST route of a live node from its own OpenAPI document.

schemathesis reads ``/openapi.json`` from the node (loopback only) and, for
each operation, generates requests that fit the schema and requests that
break it. Each answer must pass:

* ``not_a_server_error``: no 5xx, whatever the input;
* ``status_code_conformance``: the status is one the operation documents;
* ``content_type_conformance`` and ``response_schema_conformance``: the body
  is what the document says;
* ``negative_data_rejection``: a request that breaks the schema gets a 4xx.

The failures of all operations are gathered and reported together, each with
its shrunk example and the curl command that reproduces it. Raw bodies that
are not JSON at all, and query values outside a documented set, are fuzzed
separately below: schemathesis only sends what JSON Schema can describe.
"""

from __future__ import annotations

import json
from typing import Any, Final

import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.schemas import OpenApiSchema
from tests.fuzz.conftest import FuzzNode, budget, fuzz_settings

pytestmark = [pytest.mark.xdist_group("fuzz-node")]

CHECKS: Final = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
NEGATIVE_CHECKS: Final = [*CHECKS, checks.negative_data_rejection]


def _fuzz_operation(
    node: FuzzNode,
    operation: APIOperation[Any, Any, Any, Any],
    mode: schemathesis.GenerationMode,
    examples: int,
) -> str | None:
    """Run one operation in one generation mode; the failure report, or None if it held."""
    chosen = NEGATIVE_CHECKS if mode is schemathesis.GenerationMode.NEGATIVE else CHECKS

    @fuzz_settings(examples)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case[Any]) -> None:
        # A fresh connection each time (see FuzzNode.http).
        response = case.call(base_url=node.url, timeout=30, headers={"Connection": "close"})
        case.validate_response(response, checks=chosen)

    try:
        run()
    except Unsatisfiable:
        return None  # no parameter of this operation can be made invalid (e.g. none at all)
    except (AssertionError, BaseExceptionGroup) as exc:
        return f"{operation.label} [{mode.value}]:\n{_describe(exc)}"
    return None


def _describe(exc: BaseException) -> str:
    """The failure and every sub-failure (a flaky one hides the first failure inside)."""
    text = str(exc)
    if isinstance(exc, BaseExceptionGroup):
        text += "".join(f"\n  - {_describe(sub)}" for sub in exc.exceptions)
    return text


def test_every_route_against_its_schema(node: FuzzNode, openapi: OpenApiSchema) -> None:
    operations = []
    for result in openapi.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document is invalid: {result.err()}"
        operations.append(result.ok())
    assert len(operations) >= 20, "the OpenAPI document lost its routes"
    failures = []
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            failure = _fuzz_operation(node, operation, mode, budget(20))
            if failure is not None:
                failures.append(failure)
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)


def _check_error_body(response: Any, sent: object) -> None:
    """A refused request: 4xx with the API's one error body ([API-ERR.1])."""
    assert 400 <= response.status_code < 500, (
        f"{response.status_code} {response.text[:300]} for {sent!r:.300}"
    )
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert isinstance(body["error"].get("code"), str) and body["error"]["code"], body
    assert isinstance(body["error"].get("message"), str), body


_NOT_JSON = st.one_of(
    st.binary(max_size=300),
    st.binary(min_size=1, max_size=40).map(lambda b: b'{"tx": "' + b + b'"}'),
    st.sampled_from([b"\xff\xfe", b'{"tx": "\xc3\x28"}', b"\xed\xa0\x80", b"{", b"[]", b"null"]),
    st.text(max_size=100).map(lambda t: t.encode("utf-16")),
)


@fuzz_settings(60)
@given(path=st.sampled_from(["/v1/transactions", "/v1/transactions/batch"]), body=_NOT_JSON)
def test_post_bodies_that_are_not_json(node: FuzzNode, path: str, body: bytes) -> None:
    """Issue #16, Found 7: invalid UTF-8 in a body got a 500 with a traceback."""
    response = node.http.post(
        f"{node.url}{path}", content=body, headers={"content-type": "application/json"}
    )
    _check_error_body(response, (path, body))


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize("path", ["/v1/transactions", "/v1/transactions/batch"])
def test_post_bodies_nested_deeply(node: FuzzNode, path: str, depth: int) -> None:
    """Issue #16, Found 1, on the REST side: one decoder with a depth limit for every body."""
    body = ('{"tx":' + "[" * depth + "]" * depth + "}").encode()
    response = node.http.post(
        f"{node.url}{path}", content=body, headers={"content-type": "application/json"}
    )
    _check_error_body(response, (path, depth))


def _documented_values(node: FuzzNode, path: str, name: str) -> set[str]:
    """The values the description of query parameter ``name`` lists (after its colon)."""
    document = json.loads(node.http.get(f"{node.url}/openapi.json").text)
    for parameter in document["paths"][path]["get"]["parameters"]:
        if parameter["name"] == name:
            listed = parameter["description"].split(":", 1)[1].rstrip(".")
            return {v.strip() for v in listed.split(",")}
    raise AssertionError(f"{path} documents no {name} parameter")


@fuzz_settings(30)
@given(status=st.text(min_size=1, max_size=12))
def test_proposal_status_outside_its_set(node: FuzzNode, status: str) -> None:
    """Issue #16, Found 7: ``proposals?status=bogus`` answered 200 with an empty list."""
    known = _documented_values(node, "/v1/governance/proposals", "status")
    assert known >= {"open", "executed"}, known
    response = node.http.get(f"{node.url}/v1/governance/proposals", params={"status": status})
    if status in known:
        assert response.status_code == 200, response.text
    else:
        _check_error_body(response, status)
