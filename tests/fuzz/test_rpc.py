"""Fuzzing the Ethereum JSON-RPC of a live node, over HTTP and WebSocket.

Every method of the node's method table (``SPECS`` in
src/consortia/api/rpc_methods.py, so a new method is fuzzed without touching
this file), plus unknown methods and the WebSocket-only ``eth_subscribe`` and
``eth_unsubscribe`` (``SUBSCRIPTION_SPECS``), gets params that are nested, huge
and mistyped, and params drawn from its own spec with one param spoiled now
and then. Properties:

* every answer is a well-formed JSON-RPC 2.0 response (or batch of them) with
  the request's id and exactly one of ``result`` and ``error``;
* every error carries a documented code, and never -32603 (internal error):
  bad input is the client's fault and gets a precise code (since issue #17 a
  handler's unexpected exception is -32603, so this finds params a spec lets
  through that its handler cannot take);
* the connection is never dropped: HTTP answers arrive, and a WebSocket
  either answers or closes with a close frame;
* afterwards the node process is alive, logged no traceback, and still
  commits blocks (the ``node`` fixture checks this after each test).
"""

from __future__ import annotations

import json
from typing import Any, Final

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz.conftest import FuzzNode, fuzz_settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import consortia.api.rpc as rpc_module
from consortia.api.rpc_methods import SPECS, SUBSCRIPTION_SPECS

pytestmark = [pytest.mark.xdist_group("fuzz-node")]

DOCUMENTED_CODES: Final = frozenset({-32700, -32600, -32601, -32602, -32000, -32001, -32005, 3})
"""The codes rpc.py documents for client-caused errors; -32603 is deliberately absent."""


METHODS: Final = sorted(SPECS)
WS_METHODS: Final = sorted(SUBSCRIPTION_SPECS)

# -- params -------------------------------------------------------------------

_hex_blob = st.binary(max_size=80).map(lambda b: "0x" + b.hex())
_quantity = st.one_of(
    st.integers(-(2**70), 2**300).map(lambda n: hex(n) if n >= 0 else "-" + hex(-n)),
    st.sampled_from([hex(2**256), hex(2**256 - 1), hex(2**64), "0x", "0x0", "0X1", "0xg"]),
)
_tag = st.sampled_from(["latest", "pending", "earliest", "safe", "finalized", "", "LATEST"])
_address = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**300), 2**300),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    _hex_blob,
    _quantity,
    _tag,
    _address,
)
_call_object = st.fixed_dictionaries(
    {},
    optional={
        "from": st.one_of(_address, _scalar),
        "to": st.one_of(_address, _scalar),
        "data": st.one_of(_hex_blob, _scalar),
        "input": st.one_of(_hex_blob, _scalar),
        "value": st.one_of(_quantity, _scalar),
        "gas": st.one_of(_quantity, _scalar),
        "fromBlock": st.one_of(_quantity, _tag, _scalar),
        "toBlock": st.one_of(_quantity, _tag, _scalar),
        "blockHash": st.one_of(_hex_blob, _scalar),
        "address": st.one_of(_address, st.lists(_address, max_size=3), _scalar),
        "topics": st.lists(st.one_of(st.none(), _hex_blob, st.lists(_hex_blob, max_size=2))),
    },
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # A named function, not a lambda: hypothesis checks that ``extend`` uses its
    # argument by reading its source, which for lambdas fails now and then.
    return st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner)


_json_value = st.recursive(st.one_of(_scalar, _call_object), _containers, max_leaves=12)
_params = st.one_of(
    st.lists(_json_value, max_size=4),
    st.lists(st.one_of(_address, _quantity, _tag, _call_object, st.booleans()), max_size=4),
    # mistyped: params must be an array
    _scalar,
    st.dictionaries(st.text(max_size=8), _scalar, max_size=3),
)
_huge = st.one_of(
    st.integers(1_000, 200_000).map(lambda n: ["0x" + "ab" * n]),
    st.integers(1_000, 50_000).map(lambda n: [[0] * n]),
    st.integers(1_000, 100_000).map(lambda n: ["latest", "x" * n]),
    st.just([hex(2**4096)]),
)
_ident = st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=12), st.none())


_block = st.one_of(
    _tag, _quantity, st.integers(0, 50), st.fixed_dictionaries({"blockNumber": _quantity})
)
_hash32 = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
_filter = st.fixed_dictionaries(
    {},
    optional={
        "fromBlock": _block,
        "toBlock": _block,
        "blockHash": _hash32,
        "address": st.one_of(_address, st.lists(_address, max_size=3)),
        "topics": st.lists(
            st.one_of(st.none(), _hash32, st.lists(st.one_of(st.none(), _hash32), max_size=3)),
            max_size=5,
        ),
    },
)
PARAM_VALUES: Final[dict[str, st.SearchStrategy[Any]]] = {
    "block": _block,
    "newestBlock": _block,
    "blockCount": st.one_of(_quantity, st.integers(0, 2_000)),
    "rewardPercentiles": st.lists(st.floats(-1, 101, allow_nan=False), max_size=5),
    "fullTransactions": st.booleans(),
    "blockHash": _hash32,
    "transactionHash": _hash32,
    "address": _address,
    "slot": _quantity,
    "storageKeys": st.lists(st.one_of(_quantity, st.integers(0, 2**256)), max_size=4),
    "transaction": st.one_of(_call_object, _hex_blob),
    "filter": _filter,
    "subscription": st.sampled_from(["newHeads", "logs", "newPendingTransactions"]),
    "subscriptionId": st.one_of(st.sampled_from(["0x1", "0x2"]), _quantity),
}
"""Values near each param's kind, by the param's name in the specs (test below keeps it whole)."""


@st.composite
def _spec_request(draw: st.DrawFn, specs: dict[str, Any]) -> dict[str, Any]:
    """A request whose params follow its method's spec, one of them spoiled now and then."""
    method = draw(st.sampled_from(sorted(specs)))
    spec = specs[method]
    count = draw(st.integers(sum(1 for p in spec if p.required), len(spec)))
    params = [draw(PARAM_VALUES[p.name]) for p in spec[:count]]
    if params and draw(st.integers(0, 3)) == 0:
        params[draw(st.integers(0, len(params) - 1))] = draw(_json_value)
    return {"jsonrpc": "2.0", "id": draw(_ident), "method": method, "params": params}


@st.composite
def _request(draw: st.DrawFn, methods: list[str]) -> dict[str, Any]:
    request: dict[str, Any] = {"jsonrpc": "2.0", "id": draw(_ident)}
    request["method"] = draw(st.one_of(st.sampled_from(methods), st.text(max_size=20)))
    params = draw(st.one_of(_params, _huge) if draw(st.integers(0, 9)) == 0 else _params)
    if draw(st.integers(0, 7)) > 0:  # now and then no params at all
        request["params"] = params
    return request


def _deep(depth: int, opener: str) -> str:
    """An eth_call request whose params nest ``depth`` arrays, or ``depth`` objects."""
    head = '{"jsonrpc":"2.0","id":1,"method":"eth_call","params":'
    if opener == "[":
        return head + "[" * depth + "]" * depth + "}"
    return head + "[" + '{"a":' * depth + "1" + "}" * depth + "]}"


# -- checks -------------------------------------------------------------------


def _check_answer(answer: Any, request: Any) -> None:
    """One JSON-RPC response object, well-formed, answering ``request``."""
    assert isinstance(answer, dict), f"not a response object: {answer!r:.300}"
    assert answer.get("jsonrpc") == "2.0", answer
    assert ("result" in answer) != ("error" in answer), answer
    if (
        isinstance(request, dict)
        and "id" in request
        and isinstance(request.get("method"), str)
        and isinstance(request.get("params", []), list)
    ):
        assert answer.get("id") == request["id"], (answer, request.get("id"))
    if "error" in answer:
        error = answer["error"]
        assert isinstance(error, dict) and isinstance(error.get("message"), str), answer
        assert isinstance(error.get("code"), int), answer
        assert error["code"] in DOCUMENTED_CODES, (
            f"error code {error['code']} ({error['message']!r}) for "
            f"{json.dumps(request)[:500] if not isinstance(request, str) else request[:200]}"
        )


def _post(node: FuzzNode, body: bytes) -> Any:
    return node.http.post(
        f"{node.url}/rpc", content=body, headers={"content-type": "application/json"}
    )


def _send(node: FuzzNode, request: Any) -> None:
    response = _post(node, json.dumps(request).encode())
    if isinstance(request, dict) and "id" not in request and response.status_code == 204:
        return  # a notification: no answer is the right answer
    assert response.status_code == 200, (response.status_code, response.text[:300])
    answer = response.json()
    if isinstance(request, list):
        if 1 <= len(request) <= rpc_module.MAX_BATCH:
            assert isinstance(answer, list), answer
            assert 0 < len(answer) <= len(request)
            for item in answer:
                match = [r for r in request if isinstance(r, dict) and r.get("id") == item["id"]]
                _check_answer(item, match[0] if len(match) == 1 else None)
        else:
            _check_answer(answer, None)
            assert answer["error"]["code"] == -32600
        return
    _check_answer(answer, request)


# -- tests --------------------------------------------------------------------


def test_the_method_table_is_found() -> None:
    """The fuzzer covers the real table (an empty list would make every test vacuous)."""
    assert {"eth_call", "eth_getStorageAt", "eth_sendRawTransaction"} <= set(METHODS)
    assert len(METHODS) >= 20


@fuzz_settings(250)
@given(request=_request(METHODS))
def test_every_method_over_http(node: FuzzNode, request: dict[str, Any]) -> None:
    _send(node, request)


def test_every_spec_param_has_a_fuzz_strategy() -> None:
    """A new param name in the specs needs its strategy here before it is fuzzed."""
    names = {p.name for spec in (*SPECS.values(), *SUBSCRIPTION_SPECS.values()) for p in spec}
    assert names == set(PARAM_VALUES), names ^ set(PARAM_VALUES)


@fuzz_settings(250)
@given(request=_spec_request(SPECS))
def test_every_method_with_params_from_its_spec_over_http(
    node: FuzzNode, request: dict[str, Any]
) -> None:
    """Mostly valid params reach the handlers: any exception there would be -32603."""
    _send(node, request)


@fuzz_settings(30)
@given(requests=st.lists(_spec_request({**SPECS, **SUBSCRIPTION_SPECS}), min_size=1, max_size=4))
def test_spec_params_over_websocket(node: FuzzNode, requests: list[dict[str, Any]]) -> None:
    _ws_exchange(node, [json.dumps(r) for r in requests])


def test_each_method_with_mistyped_params(node: FuzzNode) -> None:
    """Every method with each mistyped shape, so no method is left to chance."""
    shapes: list[Any] = [
        [],
        [None],
        [True, True, True],
        [-1],
        [2**256],
        [hex(2**256)],
        ["0x" + "00" * 20, hex(2**256), "latest"],
        [{"to": 5, "data": []}],
        [[[[[]]]]],
        ["x" * 10_000],
        {"a": 1},
        "0x00",
        7,
        None,
    ]
    for method in METHODS:
        for params in shapes:
            _send(node, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params})


@fuzz_settings(40)
@given(batch=st.lists(_request(METHODS), min_size=0, max_size=8))
def test_batches_over_http(node: FuzzNode, batch: list[dict[str, Any]]) -> None:
    _send(node, batch)


@fuzz_settings(60)
@given(
    body=st.one_of(
        st.binary(max_size=512),
        st.text(max_size=256).map(str.encode),
        st.lists(_scalar, max_size=4).map(lambda v: json.dumps(v).encode()),
    )
)
def test_arbitrary_bodies_over_http(node: FuzzNode, body: bytes) -> None:
    """Bytes that are not a JSON-RPC request at all get -32700 or -32600."""
    response = _post(node, body)
    if response.status_code == 204:
        return
    assert response.status_code == 200, (response.status_code, response.text[:300])
    answer = response.json()
    for item in answer if isinstance(answer, list) else [answer]:
        _check_answer(item, None)


@pytest.mark.parametrize("depth", [100, 1_000, 10_000, 100_000])
@pytest.mark.parametrize("opener", ["[", "{"])
def test_deeply_nested_params_over_http(node: FuzzNode, depth: int, opener: str) -> None:
    """Issue #16, Found 1: nesting must be refused with a code, not crash the node."""
    response = _post(node, _deep(depth, opener).encode())
    assert response.status_code == 200, (response.status_code, response.text[:300])
    _check_answer(response.json(), None)


def _ws_url(node: FuzzNode) -> str:
    return node.url.replace("http://", "ws://", 1) + "/rpc"


def _ws_exchange(node: FuzzNode, frames: list[str]) -> None:
    """Send each frame and read its answer; a close must come as a close frame."""
    with connect(_ws_url(node), open_timeout=10, max_size=None) as socket:
        for frame in frames:
            try:
                socket.send(frame)
                while True:
                    answer = json.loads(socket.recv(timeout=30))
                    if answer.get("method") != "eth_subscription":
                        break
            except ConnectionClosed as closed:
                assert closed.rcvd is not None, f"socket dropped without a close frame on {frame!r}"
                return
            try:
                request = json.loads(frame)
            except (ValueError, RecursionError):
                request = None
            if isinstance(answer, dict) and answer.get("error", {}).get("code") == -32700:
                request = None  # unparsed (e.g. too deep): JSON-RPC 2.0 answers with id null
            _check_answer(answer, request)


@fuzz_settings(30)
@given(requests=st.lists(_request(METHODS + WS_METHODS), min_size=1, max_size=4))
def test_methods_over_websocket(node: FuzzNode, requests: list[dict[str, Any]]) -> None:
    _ws_exchange(node, [json.dumps(r) for r in requests])


@pytest.mark.parametrize("method", WS_METHODS)
def test_subscriptions_with_mistyped_params(node: FuzzNode, method: str) -> None:
    """Issue #16, Found 7: ``eth_subscribe`` with ``"params": 5`` dropped the socket."""
    for params in [5, "newHeads", None, {"a": 1}, [5], [["newHeads"]], [None], [{}], ["logs", 5]]:
        request = {"jsonrpc": "2.0", "id": 9, "method": method, "params": params}
        _ws_exchange(node, [json.dumps(request)])


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_params_over_websocket(node: FuzzNode, depth: int) -> None:
    """Issue #16, Found 1, over WebSocket."""
    _ws_exchange(node, [_deep(depth, "[")])
