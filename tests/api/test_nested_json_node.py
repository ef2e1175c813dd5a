"""Issue #16, Found 1, against a real node process: nested JSON must not kill a validator.

A 200 KB body of nested arrays (``'['*100000 + ']'*100000``) sent to ``/rpc``
over HTTP or WebSocket segfaulted the node in ``_json``, and two of them froze
the chain. Here the same bodies go to a node started as its own process
(``python -m consortia.server.runner``), which must answer each with a parse
error, stay alive, keep committing blocks, and log no traceback. The same node
shows that each client gone mid-body is one log line.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from pathlib import Path

import httpx
import pytest
from tests.support.network import LiveNetwork, live_network
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.slow

NESTED_200_KB = b"[" * 100_000 + b"]" * 100_000
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")
"""The start of every line the node's logging writes (runner.py); traceback lines lack it."""


def rpc_over_websocket(url: str, frame: bytes) -> tuple[dict[str, object], int | None]:
    """Send ``frame`` as text to ``WS /rpc``: the answer and the close frame's code."""

    async def scenario() -> tuple[dict[str, object], int | None]:
        async with connect(url.replace("http://", "ws://", 1) + "/rpc", max_size=None) as ws:
            await ws.send(frame.decode())
            async with asyncio.timeout(30):
                answer = json.loads(await ws.recv())
                try:
                    await ws.recv()
                except ConnectionClosed as closed:
                    return answer, None if closed.rcvd is None else closed.rcvd.code
        raise AssertionError("the socket stayed open after a frame that is not a request")

    return asyncio.run(scenario())


def half_sent(url: str, path: str) -> None:
    """A raw client announcing 10,000 bytes of body, sending 10, then closing."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(
            f"POST {path} HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n"
            "Content-Length: 10000\r\n\r\n".encode()
            + b'{"tx": "00'
        )
        time.sleep(0.2)


def log_lines(net: LiveNetwork) -> list[str]:
    return (
        (Path(net.home(0)) / "node.log").read_text(encoding="utf-8", errors="replace").splitlines()
    )


def wait_for_lines(net: LiveNetwork, text: str, count: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while sum(text in line for line in log_lines(net)) < count:
        assert time.monotonic() < deadline, f"{count} lines with {text!r} not logged"
        time.sleep(0.1)


def test_nested_json_leaves_the_node_alive_and_committing(tmp_path: Path) -> None:
    with live_network(tmp_path, validators=1) as net:
        url, name = net.api(0), net.names[0]
        before = net.wait_height(0, 1)
        for _ in range(2):  # two such requests froze the chain
            answer = httpx.post(
                f"{url}/rpc",
                content=NESTED_200_KB,
                headers={"content-type": "application/json"},
                timeout=30,
            ).json()
            assert answer["error"] == {
                "code": -32700,
                "message": "parse error: JSON nests arrays/objects deeper than 64 levels",
                "data": {"code": "API_JSON_TOO_DEEP"},
            }
            frame_answer, close_code = rpc_over_websocket(url, NESTED_200_KB)
            assert frame_answer["error"]["code"] == -32700  # type: ignore[index]
            assert close_code == 1008
            rest = httpx.post(
                f"{url}/v1/transactions",
                content=NESTED_200_KB,
                headers={"content-type": "application/json"},
                timeout=30,
            )
            assert rest.status_code == 400
            assert rest.json()["error"]["code"] == "API_JSON_TOO_DEEP"
        assert net.processes.pid(name) is not None, "the node process died"
        after = net.height(0)
        net.wait_height(0, after + 3)  # and it keeps committing
        assert after >= before

        # Each client that goes away mid-body is one line, not a traceback.
        paths = ["/v1/transactions", "/rpc", "/v1/transactions/batch"]
        for path in paths:
            half_sent(url, path)
        wait_for_lines(net, "went away mid-request", len(paths))
        assert net.processes.pid(name) is not None
        lines = log_lines(net)
        gone = [line for line in lines if "went away mid-request" in line]
        assert [line.rsplit(" ", 1)[1] for line in gone] == paths
        assert all(" INFO consortia.api.limits: client 127.0.0.1:" in line for line in gone)
        assert [line for line in lines if not LOG_LINE.match(line)] == []  # no traceback
        assert not any("Traceback" in line or " ERROR " in line for line in lines)
