"""Issue #16's request-parsing findings against a live node (in-process, real sockets).

Found 1 (nested JSON, here in-process; the real-process version is
test_nested_json_node.py) and the small ones of Found 7: invalid UTF-8 in a
body, a slot of 2**256, ``eth_subscribe`` with ``"params": 5``, a client gone
mid-body, ``proposals?status=bogus``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.support.node import InProcessNode
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.slow

NESTED_200_KB = b"[" * 100_000 + b"]" * 100_000
ADDRESS = "0x" + "11" * 20


def rpc(live: InProcessNode, method: str, params: Any) -> dict[str, Any]:
    request = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
    answer = httpx.post(f"{live.url}/rpc", json=request, timeout=10)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    return body


def error_code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


# -- REST bodies ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/transactions", "/v1/transactions/batch"])
def test_invalid_utf8_body_is_400(live: InProcessNode, path: str) -> None:
    """Found 7: invalid UTF-8 in a ``POST /v1/transactions`` body was a 500 with a traceback."""
    field = b"tx" if path.endswith("transactions") else b"txs"
    value = b'"\xff\xfe"' if field == b"tx" else b'["\xff\xfe"]'
    response = httpx.post(
        f"{live.url}{path}",
        content=b'{"' + field + b'": ' + value + b"}",
        headers={"content-type": "application/json"},
    )
    assert error_code(response) == (400, "API_BAD_REQUEST")
    assert "not UTF-8" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/transactions", "/v1/transactions/batch"])
def test_nested_rest_body_is_400_too_deep(live: InProcessNode, path: str) -> None:
    response = httpx.post(
        f"{live.url}{path}", content=NESTED_200_KB, headers={"content-type": "application/json"}
    )
    assert error_code(response) == (400, "API_JSON_TOO_DEEP")


MANY_LISTS = b"[" + b",".join([b"[]"] * 100_000) + b"]"
"""Depth 2, 300 KB, but 100,001 lists: past MAX_JSON_CONTAINERS."""


def test_too_many_containers_are_refused_over_rest_and_rpc(live: InProcessNode) -> None:
    headers = {"content-type": "application/json"}
    rest = httpx.post(f"{live.url}/v1/transactions/batch", content=MANY_LISTS, headers=headers)
    assert error_code(rest) == (400, "API_JSON_TOO_COMPLEX")
    answer = httpx.post(f"{live.url}/rpc", content=MANY_LISTS, headers=headers).json()
    assert answer["error"]["code"] == -32700
    assert answer["error"]["data"] == {"code": "API_JSON_TOO_COMPLEX"}


# -- JSON-RPC params -----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("eth_getStorageAt", [ADDRESS, hex(2**256), "latest"]),
        ("eth_getStorageAt", [ADDRESS, 2**256, "latest"]),
        ("eth_getProof", [ADDRESS, [hex(2**256)], "latest"]),
        ("eth_getBalance", [ADDRESS, hex(2**256)]),
        ("eth_getLogs", [{"address": 5}]),
        ("eth_getLogs", [{"address": ["0x12"]}]),
        ("eth_getLogs", [{"topics": [5]}]),
        ("eth_getLogs", [{"topics": "0x00"}]),
    ],
)
def test_out_of_range_params_are_32602(live: InProcessNode, method: str, params: Any) -> None:
    """Found 7: slot 2**256 was -32603 with a traceback; quantities are uint256."""
    answer = rpc(live, method, params)
    assert answer["error"]["code"] == -32602, answer


def deep_rlp(depth: int) -> bytes:
    """An RLP list nesting ``depth`` lists (no transaction nests more than 3)."""
    item = b"\xc0"
    for _ in range(depth):
        size = len(item)
        if size <= 55:
            item = bytes([0xC0 + size]) + item
        else:
            length = size.to_bytes((size.bit_length() + 7) // 8, "big")
            item = bytes([0xF7 + len(length)]) + length + item
    return item


@pytest.mark.parametrize("prefix", [b"", b"\x02"])
def test_deeply_nested_raw_transaction_is_invalid_not_internal(
    live: InProcessNode, prefix: bytes
) -> None:
    """A raw transaction of 100,000 nested RLP lists was -32603 (RecursionError in rlp)."""
    answer = rpc(live, "eth_sendRawTransaction", ["0x" + (prefix + deep_rlp(100_000)).hex()])
    assert answer["error"]["code"] == -32000, answer
    assert answer["error"]["data"] == {"code": "EVM_ETH_TX_INVALID"}
    assert "nest too deep" in answer["error"]["message"]


def test_largest_slot_is_still_read(live: InProcessNode) -> None:
    answer = rpc(live, "eth_getStorageAt", [ADDRESS, hex(2**256 - 1), "latest"])
    assert answer["result"] == "0x" + "00" * 32


def test_nested_rpc_over_http_is_a_parse_error(live: InProcessNode) -> None:
    answer = httpx.post(
        f"{live.url}/rpc", content=NESTED_200_KB, headers={"content-type": "application/json"}
    ).json()
    assert answer["error"]["code"] == -32700
    assert answer["error"]["data"] == {"code": "API_JSON_TOO_DEEP"}
    assert answer["id"] is None


# -- JSON-RPC over WebSocket ---------------------------------------------------


def ws_url(live: InProcessNode) -> str:
    return live.url.replace("http://", "ws://", 1) + "/rpc"


async def exchange(live: InProcessNode, frames: list[str | bytes]) -> tuple[list[Any], Any]:
    """Send each frame and read its answer (skipping subscription notes); then either the
    close frame the server sent (the socket dropped without one: None), or, if it is still
    open, the string "open" once an ``eth_chainId`` after the frames is answered."""
    answers: list[Any] = []

    async def answer_of(ws: Any) -> Any:
        async with asyncio.timeout(20):
            while True:
                answer = json.loads(await ws.recv())
                if not isinstance(answer, dict) or answer.get("method") != "eth_subscription":
                    return answer

    async with connect(ws_url(live), max_size=None) as ws:
        try:
            for frame in frames:
                await ws.send(frame)
                answers.append(await answer_of(ws))
            await ws.send(request(99, "eth_chainId", []))
            assert (await answer_of(ws))["id"] == 99
            return answers, "open"
        except ConnectionClosed as closed:
            return answers, closed.rcvd


def request(ident: int, method: str, params: Any) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})


@pytest.mark.parametrize("method", ["eth_subscribe", "eth_unsubscribe"])
def test_subscribe_with_params_5_gets_an_error_then_a_close_frame(
    live: InProcessNode, method: str
) -> None:
    """Found 7: ``eth_subscribe`` with ``"params": 5`` dropped the socket with no close."""
    answers, close = asyncio.run(exchange(live, [request(1, method, 5)]))
    assert [a["error"]["code"] for a in answers] == [-32600]
    assert answers[0]["id"] == 1
    assert close is not None and close.code == 1008


def test_bad_params_keep_the_socket_open(live: InProcessNode) -> None:
    frames: list[str | bytes] = [
        request(1, "eth_subscribe", ["logs", {"address": 5}]),
        request(2, "eth_subscribe", ["logs", 5]),
        request(3, "eth_subscribe", ["pendingTransactions"]),
        request(4, "eth_getStorageAt", [ADDRESS, hex(2**256)]),
        json.dumps([json.loads(request(5, "eth_chainId", [])), {"jsonrpc": "2.0", "id": 6}]),
        request(7, "eth_subscribe", ["newHeads"]),
    ]
    answers, close = asyncio.run(exchange(live, frames))
    assert [a["error"]["code"] for a in answers[:4]] == [-32602] * 4
    assert [a["id"] for a in answers[4]] == [5, 6] and "result" in answers[4][0]
    assert answers[4][1]["error"]["code"] == -32600
    assert answers[5]["result"].startswith("0x")
    assert close == "open"


@pytest.mark.parametrize(
    ("frame", "code", "close_code"),
    [
        (NESTED_200_KB.decode(), -32700, 1008),
        ("{not json", -32700, 1008),
        (json.dumps({"jsonrpc": "2.0", "id": 1}), -32600, 1008),
        ("[]", -32600, 1008),
        (b"\x00binary", -32600, 1003),
        ('"' + "a" * (5 * 1024 * 1024 + 1024) + '"', -32600, 1009),
    ],
)
def test_frames_that_are_not_requests_get_an_error_then_a_close(
    live: InProcessNode, frame: str | bytes, code: int, close_code: int
) -> None:
    answers, close = asyncio.run(exchange(live, [frame]))
    assert [a["error"]["code"] for a in answers] == [code]
    assert close is not None and close.code == close_code
    assert httpx.get(f"{live.url}/v1/status").status_code == 200


def test_a_frame_far_past_the_limit_is_refused_before_it_is_buffered(
    live: InProcessNode,
) -> None:
    """uvicorn's frame cap (5 MiB + 64 KiB) closes with 1009 before the app sees the frame."""
    answers, close = asyncio.run(exchange(live, ['"' + "a" * (6 * 1024 * 1024) + '"']))
    assert answers == []
    assert close is not None and close.code == 1009
    assert httpx.get(f"{live.url}/v1/status").status_code == 200


def test_events_socket_ignores_binary_client_frames(
    live: InProcessNode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="consortia.api")

    async def scenario() -> dict[str, Any]:
        async with connect(live.url.replace("http://", "ws://", 1) + "/v1/events") as ws:
            await ws.send(b"\x00\x01 not text")
            await ws.send("text is ignored too")
            async with asyncio.timeout(20):
                event: dict[str, Any] = json.loads(await ws.recv())
            return event

    assert asyncio.run(scenario())["type"] in ("block", "tx")
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


# -- query enums ---------------------------------------------------------------


@pytest.mark.parametrize("status", ["bogus", "OPEN", ""])
def test_unknown_proposal_status_is_400(live: InProcessNode, status: str) -> None:
    """Found 7: ``proposals?status=bogus`` answered 200 with an empty list."""
    response = httpx.get(f"{live.url}/v1/governance/proposals", params={"status": status})
    assert error_code(response) == (400, "API_BAD_REQUEST")
    assert "status" in response.json()["error"]["message"]


@pytest.mark.parametrize("status", ["open", "executed", "failed", "expired"])
def test_known_proposal_status_is_listed(live: InProcessNode, status: str) -> None:
    response = httpx.get(f"{live.url}/v1/governance/proposals", params={"status": status})
    assert response.status_code == 200
    assert all(p["status"] == status for p in response.json()["proposals"])


# -- clients that go away --------------------------------------------------------


def half_sent(live: InProcessNode, path: str) -> None:
    """A raw client announcing 10,000 bytes of body, sending 10, then closing."""
    host, port = live.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(
            f"POST {path} HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n"
            "Content-Length: 10000\r\n\r\n".encode()
            + b'{"tx": "00'
        )
        time.sleep(0.2)  # the server is now waiting for the rest


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_each_client_gone_mid_body_is_one_log_line(
    live: InProcessNode, caplog: pytest.LogCaptureFixture
) -> None:
    """Found 7: each client that disconnected mid-body logged about 50 traceback lines."""
    caplog.set_level(logging.INFO, logger="consortia.api")
    paths = ["/v1/transactions", "/rpc", "/v1/transactions/batch"]
    for path in paths:
        half_sent(live, path)

    def api_records() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name.startswith("consortia.api")]

    wait_for(lambda: len(api_records()) >= len(paths))
    assert httpx.get(f"{live.url}/v1/status").status_code == 200  # later requests unaffected
    records = api_records()
    assert len(records) == len(paths), [r.getMessage() for r in records]
    for record in records:
        assert record.levelno == logging.INFO and record.exc_info is None
        assert "went away mid-request: POST /" in record.getMessage()
        assert "\n" not in record.getMessage()
    assert sorted(r.getMessage().rsplit(" ", 1)[1] for r in records) == sorted(paths)
