"""JSON-RPC errors on a live node: params refused by their spec (-32602, naming the param),
and an internal bug answered -32603 with a request id that the log line carries too.

Issue #17, item 2: the old dispatcher turned any KeyError/TypeError/ValueError/
IndexError raised by a handler into -32602 "invalid params", so a bug in the
node looked like the client's mistake.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from tests.support.node import InProcessNode
from websockets.sync.client import connect

from consortia.api.rpc_eth_objects import EthObjects

ADDRESS = "0x" + "11" * 20
HASH = "0x" + "22" * 32


def rpc(live: InProcessNode, method: str, params: Any) -> httpx.Response:
    request = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
    return httpx.post(f"{live.url}/rpc", json=request, timeout=30)


# (method, params, index of the refused param or None for a count refusal, text in the message)
REFUSALS: list[tuple[str, list[Any], int | None, str]] = [
    # no-param methods
    ("eth_chainId", [1], None, "expected 0 params (none), got 1"),
    ("eth_blockNumber", ["latest"], None, "got 1"),
    # blocks
    ("eth_getBlockByNumber", ["latest", False, 1], None, "expected 0 to 2 params"),
    ("eth_getBlockByNumber", ["LATEST"], 0, "param 0 (block): must be a block number or one of"),
    ("eth_getBlockByNumber", ["0xzz"], 0, "param 0 (block): is not hex"),
    ("eth_getBlockByNumber", ["latest", "yes"], 1, "param 1 (fullTransactions): must be true"),
    ("eth_getBlockByNumber", [{"blockHash": HASH}], 0, "param 0 (block): as an object"),
    ("eth_getBlockByHash", [], None, "expected 1 to 2 params (blockHash, [fullTransactions])"),
    ("eth_getBlockByHash", ["0x" + "22" * 31], 0, "param 0 (blockHash): must be 32 bytes, got 31"),
    ("eth_getBlockByHash", [5], 0, "param 0 (blockHash): must be a 0x-prefixed hex string"),
    ("eth_getBlockTransactionCountByNumber", ["pendingg"], 0, "param 0 (block)"),
    # transactions
    ("eth_getTransactionByHash", [], None, "expected 1 params (transactionHash), got 0"),
    ("eth_getTransactionByHash", ["0x" + "gg" * 32], 0, "param 0 (transactionHash): is not hex"),
    ("eth_getTransactionReceipt", [HASH[:-2]], 0, "must be 32 bytes, got 31"),
    ("eth_getTransactionReceipt", [None], 0, "got null"),
    # accounts and state
    ("eth_getBalance", ["0x" + "11" * 19], 0, "param 0 (address): must be 20 bytes, got 19"),
    ("eth_getBalance", [ADDRESS, "newest"], 1, "param 1 (block): must be a block number"),
    ("eth_getCode", [ADDRESS, "latest", 1], None, "expected 1 to 2 params"),
    ("eth_getTransactionCount", [1234], 0, "param 0 (address): must be a 0x-prefixed hex"),
    ("eth_getStorageAt", [ADDRESS], None, "expected 2 to 3 params (address, slot, [block])"),
    ("eth_getStorageAt", [ADDRESS, "0x1x"], 1, "param 1 (slot): is not hex"),
    ("eth_getStorageAt", [ADDRESS, hex(2**256)], 1, "param 1 (slot): exceeds 2**256 - 1"),
    ("eth_getProof", [ADDRESS, "0x1"], 1, "param 1 (storageKeys): must be an array"),
    ("eth_getProof", [ADDRESS, ["0x1", True]], 1, "param 1 (storageKeys)[1]: must be a quantity"),
    # calls
    ("eth_call", [], None, "expected 1 to 2 params (transaction, [block])"),
    ("eth_call", ["0x00"], 0, "param 0 (transaction): must be an object, got string"),
    ("eth_call", [{"to": "0x" + "11" * 21}], 0, "param 0 (transaction).to: must be 20 bytes"),
    ("eth_call", [{"to": ADDRESS, "data": "0xabc-"}], 0, "(transaction).data: is not hex"),
    ("eth_estimateGas", [{"to": ADDRESS}, "Latest"], 1, "param 1 (block)"),
    ("eth_estimateGas", [{"gas": -1}], 0, "(transaction).gas: must not be negative"),
    # sending
    ("eth_sendRawTransaction", [], None, "expected 1 params (transaction), got 0"),
    ("eth_sendRawTransaction", ["f86c"], 0, "param 0 (transaction): must be a 0x-prefixed"),
    ("eth_sendRawTransaction", [["0x00"]], 0, "got array"),
    # logs
    ("eth_getLogs", [{"address": "0x" + "11" * 19}], 0, "(filter).address[0]: must be 20 bytes"),
    ("eth_getLogs", [{"topics": ["0x12"]}], 0, "(filter).topics[0][0]: must be 32 bytes, got 1"),
    ("eth_getLogs", [{"fromBlock": "first"}], 0, "(filter).fromBlock: must be a block number"),
    ("eth_getLogs", [{"blockHash": HASH, "toBlock": "latest"}], 0, "not both"),
    ("eth_getLogs", [{}, {}], None, "expected 0 to 1 params"),
    # fee history
    ("eth_feeHistory", [-1], 0, "param 0 (blockCount): must not be negative"),
    ("eth_feeHistory", ["0x1", "latest", [50, 101]], 2, "(rewardPercentiles)[1]: must be"),
    ("eth_feeHistory", ["0x1", "last"], 1, "param 1 (newestBlock)"),
]


@pytest.mark.parametrize(
    ("method", "params", "index", "text"),
    REFUSALS,
    ids=[f"{m}-{i}" for i, (m, *_) in enumerate(REFUSALS)],
)
def test_params_are_refused_by_their_spec_naming_the_param(
    live: InProcessNode, method: str, params: list[Any], index: int | None, text: str
) -> None:
    answer = rpc(live, method, params).json()
    error = answer["error"]
    assert error["code"] == -32602, answer
    assert text in error["message"], error["message"]
    if index is None:
        assert "data" not in error, error
    else:
        assert error["data"]["param"] == index, error
        assert error["message"].startswith(f"invalid params: param {index} ("), error


def test_params_that_are_not_an_array_are_an_invalid_request(live: InProcessNode) -> None:
    error = rpc(live, "eth_getBalance", {"address": ADDRESS}).json()["error"]
    assert error["code"] == -32600


def test_valid_params_of_each_shape_are_answered(live: InProcessNode) -> None:
    """The specs accept what standard clients send: tags, numbers, hex, null for a default."""
    for method, params in [
        ("eth_getBlockByNumber", ["0x0", True]),
        ("eth_getBlockByNumber", [0, None]),
        ("eth_getBlockByNumber", [{"blockNumber": "0x0"}]),
        ("eth_getBalance", [ADDRESS, "pending"]),
        ("eth_getTransactionCount", [ADDRESS, None]),
        ("eth_getStorageAt", [ADDRESS, "0x0", "earliest"]),
        ("eth_getProof", [ADDRESS, ["0x0", 1], "latest"]),
        ("eth_getLogs", [{"fromBlock": "0x0", "topics": [None, [HASH, None]]}]),
        ("eth_getLogs", []),
        ("eth_feeHistory", ["0x2", "latest", [25, 75.5]]),
        ("eth_getTransactionReceipt", [HASH]),
    ]:
        answer = rpc(live, method, params).json()
        assert "result" in answer, (method, params, answer)


def test_every_http_answer_carries_a_fresh_request_id(live: InProcessNode) -> None:
    first = rpc(live, "eth_blockNumber", [])
    second = rpc(live, "eth_getBalance", ["0x12"])
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2 and all(len(i) == 16 for i in ids), ids


def _plant_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """A KeyError deep in a real handler path: every block's logs bloom."""

    def broken(self: EthObjects, receipts: list[Any]) -> str:
        return {}["logsBloom"]  # type: ignore[no-any-return]

    monkeypatch.setattr(EthObjects, "bloom", broken)


def _internal_error(error: dict[str, Any]) -> str:
    """The request id of a -32603 answer (checked to be in its message and data)."""
    assert error["code"] == -32603, error
    request_id = error["data"]["requestId"]
    assert error["message"] == f"internal error (request id {request_id})", error
    assert error["data"]["code"] == "INTERNAL"
    return str(request_id)


def _logged(caplog: pytest.LogCaptureFixture, request_id: str, method: str) -> None:
    """Exactly one ERROR record for ``request_id``, naming the method, with the traceback."""
    records = [r for r in caplog.records if request_id in r.getMessage()]
    assert len(records) == 1, [r.getMessage() for r in caplog.records]
    record = records[0]
    assert record.levelno == logging.ERROR
    assert method in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is KeyError


def test_an_internal_bug_is_32603_with_the_request_id_in_answer_header_and_log(
    live: InProcessNode, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _plant_bug(monkeypatch)
    caplog.set_level(logging.ERROR, logger="consortia.api.rpc_envelope")
    response = rpc(live, "eth_getBlockByNumber", ["0x0", False])
    request_id = _internal_error(response.json()["error"])
    assert response.headers["x-request-id"] == request_id
    _logged(caplog, request_id, "eth_getBlockByNumber")
    # the node still answers, and params errors are still -32602
    assert rpc(live, "eth_blockNumber", []).json()["result"].startswith("0x")
    assert rpc(live, "eth_getBlockByNumber", ["bad"]).json()["error"]["code"] == -32602


def test_an_internal_bug_in_a_batch_fails_only_its_request(
    live: InProcessNode, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _plant_bug(monkeypatch)
    caplog.set_level(logging.ERROR, logger="consortia.api.rpc_envelope")
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_getBlockByNumber", "params": ["latest"]},
    ]
    response = httpx.post(f"{live.url}/rpc", json=batch, timeout=30)
    first, second = response.json()
    assert "result" in first
    request_id = _internal_error(second["error"])
    assert response.headers["x-request-id"] == request_id
    _logged(caplog, request_id, "eth_getBlockByNumber")


def test_an_internal_bug_over_websocket_keeps_the_socket_and_names_the_request(
    live: InProcessNode, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _plant_bug(monkeypatch)
    caplog.set_level(logging.ERROR, logger="consortia.api.rpc_envelope")
    url = live.url.replace("http://", "ws://", 1) + "/rpc"
    with connect(url, open_timeout=10) as socket:
        ids = []
        for ident in (1, 2):
            request = {"jsonrpc": "2.0", "id": ident, "method": "eth_getBlockByNumber"}
            socket.send(json.dumps({**request, "params": ["0x0"]}))
            answer = json.loads(socket.recv(timeout=30))
            assert answer["id"] == ident
            ids.append(_internal_error(answer["error"]))
        assert ids[0] != ids[1], "one request id per WebSocket frame"
        socket.send(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "eth_chainId"}))
        assert "result" in json.loads(socket.recv(timeout=30))
    for request_id in ids:
        _logged(caplog, request_id, "eth_getBlockByNumber")


@pytest.mark.parametrize(
    ("params", "text"),
    [
        (["newBlocks"], "param 0 (subscription): must be one of newHeads, logs"),
        ([], "expected 1 to 2 params (subscription, [filter])"),
        (["logs", {"address": "0x12"}], "param 1 (filter).address[0]: must be 20 bytes"),
        (["logs", 5], "param 1 (filter): must be an object"),
    ],
)
def test_subscribe_params_are_refused_by_their_spec(
    live: InProcessNode, params: list[Any], text: str
) -> None:
    url = live.url.replace("http://", "ws://", 1) + "/rpc"
    with connect(url, open_timeout=10) as socket:
        request = {"jsonrpc": "2.0", "id": 5, "method": "eth_subscribe", "params": params}
        socket.send(json.dumps(request))
        error = json.loads(socket.recv(timeout=30))["error"]
        assert error["code"] == -32602 and text in error["message"], error
        socket.send(json.dumps({"jsonrpc": "2.0", "id": 6, "method": "eth_unsubscribe"}))
        error = json.loads(socket.recv(timeout=30))["error"]
        assert error["code"] == -32602 and "(subscriptionId)" in error["message"], error
