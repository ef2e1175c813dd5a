"""The one JSON decoder ([API-JSON.1]) and the pinned recursion limit ([API-JSON.2]), no node.

Issue #16, Found 1: a 200 KB body of nested arrays segfaulted a validator,
because py_ecc had raised the recursion limit to 100,000 and the JSON-RPC
decoded with the standard library's recursive decoder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consortia.api.errors import BodyTooLarge, JsonTooComplex, JsonTooDeep, MalformedJson
from consortia.api.json_body import (
    MAX_JSON_CONTAINERS,
    MAX_JSON_DEPTH,
    decode_json,
    nesting_depth_exceeds,
)
from consortia.api.schemas import SubmitRequest
from consortia.recursion import RECURSION_LIMIT

NESTED_200_KB = b"[" * 100_000 + b"]" * 100_000
"""The issue's reproduction: ``'['*100000 + ']'*100000``."""


def depth_of(value: Any) -> int:
    """Nesting depth of a decoded JSON value, iteratively (the reference)."""
    deepest, stack = 0, [(value, 1)] if isinstance(value, list | dict) else []
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item
        stack += [(c, level + 1) for c in children if isinstance(c, list | dict)]
    return deepest


def nested(depth: int, opener: str = "[") -> bytes:
    closer = {"[": "]", "{": "}"}[opener]
    inner = '{"a": 1}' if opener == "{" else "1"
    text = ('{"k": ' * (depth - 1) + inner + "}" * (depth - 1)) if opener == "{" else None
    if text is None:
        text = opener * depth + inner + closer * depth
    return text.encode()


def test_the_issue_body_is_refused_before_decoding() -> None:
    with pytest.raises(JsonTooDeep, match="deeper than 64 levels") as caught:
        decode_json(NESTED_200_KB, max_bytes=5 * 2**20)
    assert caught.value.code == "API_JSON_TOO_DEEP" and caught.value.http_status == 400


@pytest.mark.parametrize("opener", ["[", "{"])
def test_depth_limit_is_exact(opener: str) -> None:
    assert depth_of(decode_json(nested(MAX_JSON_DEPTH, opener), max_bytes=2**20)) == 64
    with pytest.raises(JsonTooDeep):
        decode_json(nested(MAX_JSON_DEPTH + 1, opener), max_bytes=2**20)


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps(["[" * 1000, '"\\[{', {"k[": "]]]" * 500}]).encode()
    assert decode_json(text, max_bytes=2**20)[0] == "[" * 1000


def test_container_count_is_limited() -> None:
    """5 MiB of ``[[],[],...]`` within the depth limit took ~3 s of msgspec on the loop."""
    flat = b"[" + b",".join([b"[]"] * (MAX_JSON_CONTAINERS - 1)) + b"]"
    assert len(decode_json(flat, max_bytes=2**20)) == MAX_JSON_CONTAINERS - 1
    with pytest.raises(JsonTooComplex, match="more than 10000 arrays/objects") as caught:
        decode_json(flat.replace(b"[]", b"{}", 1)[:-1] + b",[]]", max_bytes=2**20)
    assert caught.value.code == "API_JSON_TOO_COMPLEX"
    in_strings = json.dumps(["[]{}" * 20_000, {"k": "[" * 20_000}]).encode()
    assert decode_json(in_strings, max_bytes=2**20)[1] == {"k": "[" * 20_000}


def test_unclosed_nesting_is_refused_as_too_deep() -> None:
    with pytest.raises(JsonTooDeep):
        decode_json(b"[" * 100_000, max_bytes=2**20)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"tx": "\xff\xfe"}', "a string is not UTF-8"),
        (b"\xc3", "not valid JSON"),
        (b"{not json", "not valid JSON"),
        (b"[" + b"1" * 5000 + b"]", "out of range"),
        (b"[1, 2", "not valid JSON"),
    ],
)
def test_malformed_bodies_are_one_error(data: bytes, message: str) -> None:
    with pytest.raises(MalformedJson, match=message) as caught:
        decode_json(data, max_bytes=2**20)
    assert caught.value.code == "API_BAD_REQUEST"


def test_typed_decoding_names_the_field() -> None:
    with pytest.raises(MalformedJson, match=r"invalid SubmitRequest: .*\$\.tx"):
        decode_json(b'{"tx": 5}', max_bytes=2**20, type_=SubmitRequest)


def test_size_limit_counts_utf8_bytes() -> None:
    decode_json('"' + "é" * 10 + '"', max_bytes=22)
    with pytest.raises(BodyTooLarge):
        decode_json('"' + "é" * 10 + '"', max_bytes=21)


json_values = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ax', max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=40,
)


@given(value=json_values, limit=st.integers(min_value=0, max_value=8))
def test_depth_scan_agrees_with_the_decoded_depth(value: Any, limit: int) -> None:
    data = json.dumps(value).encode()
    assert nesting_depth_exceeds(data, limit) == (depth_of(value) > limit)


STACK_IMPORTS = (
    "import consortia.server.runner, consortia.server.assembly, consortia.api.app, "
    "consortia.api.rpc, consortia.cli.main, consortia.sdk, consortia.evm.reader, "
    "eth, py_ecc.bn128, eth_account, web3"
)


def test_recursion_limit_is_pinned_after_the_whole_stack_is_imported() -> None:
    """py_ecc raises the limit to 100,000 at import and py-evm to 12,288; the node, the
    CLI and the SDK all import consortia, which pins it after py_ecc has run."""
    out = subprocess.run(
        [sys.executable, "-c", f"{STACK_IMPORTS}; import sys; print(sys.getrecursionlimit())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert int(out.stdout) == RECURSION_LIMIT == 12_288


def test_py_ecc_alone_would_raise_the_limit() -> None:
    """The hazard the pin guards against is real (so the test above can fail)."""
    out = subprocess.run(
        [sys.executable, "-c", "import sys, py_ecc; print(sys.getrecursionlimit())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert int(out.stdout) == 100_000


def test_stdlib_json_survives_the_issue_body_at_the_pinned_limit() -> None:
    """Even a decoder that skipped decode_json fails cleanly in the node's stack: the
    issue's body raises RecursionError instead of overflowing the C stack (exit -11)."""
    code = (
        "import consortia.server.assembly, json, sys\n"
        "try:\n    json.loads('['*100000 + ']'*100000)\n"
        "except RecursionError:\n    print('refused', sys.getrecursionlimit())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and out.stdout.split() == ["refused", str(RECURSION_LIMIT)]


def test_no_request_path_decodes_client_json_another_way() -> None:
    """Every route reads client JSON through decode_json: no stdlib ``json`` (recursive, no
    depth limit), no framework body parsing, no ``receive_json``/``receive_text``."""
    import consortia.api
    import consortia.console

    forbidden = (
        "json.loads",
        "json.load(",
        "import json",
        "request.json(",
        "receive_json(",
        "receive_text(",
        "msgspec.json.decode",
    )
    roots = [Path(consortia.api.__file__).parent, Path(consortia.console.__file__).parent]
    offenders = [
        f"{path.name}: {needle}"
        for root in roots
        for path in sorted(root.glob("*.py"))
        if path.name != "json_body.py"
        for needle in forbidden
        if needle in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
