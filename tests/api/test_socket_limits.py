"""[API-CLIENT-LIMIT.2]: WebSockets per client and subscriptions per socket are bounded.

Each open socket and each ``eth_subscribe`` subscription is work the event loop
does at every block; without a bound one anonymous client could open thousands
and slow the loop that also runs consensus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
from tests.support.node import InProcessNode
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from consortia.api.client_limits import (
    MAX_SOCKETS_PER_CLIENT,
    ClientId,
    SocketLimits,
    TooManySockets,
)
from consortia.api.rpc_subscriptions import MAX_SUBSCRIPTIONS


def _ws(live: InProcessNode, path: str) -> str:
    return live.url.replace("http://", "ws://", 1) + path


def test_socket_limits_count_per_client_and_release() -> None:
    limits = SocketLimits(per_client=2)
    a, b = ClientId("ip:127.0.0.2"), ClientId("ip:127.0.0.3")
    with limits.hold(a), limits.hold(a):
        with contextlib.suppress(TooManySockets), limits.hold(a):
            raise AssertionError("a third socket of one client was admitted")
        with limits.hold(b):
            assert limits.open_count(b) == 1
    assert limits.open_count(a) == 0 and limits.open_count(b) == 0


def test_a_client_past_its_socket_budget_gets_a_close_with_the_code(
    live: InProcessNode,
) -> None:
    async def scenario() -> tuple[int, str, str]:
        async with contextlib.AsyncExitStack() as stack:
            for i in range(MAX_SOCKETS_PER_CLIENT):
                path = "/v1/events" if i % 2 else "/rpc"
                await stack.enter_async_context(connect(_ws(live, path)))
            extra = await stack.enter_async_context(connect(_ws(live, "/v1/events")))
            try:
                async with asyncio.timeout(20):
                    await extra.recv()
                raise AssertionError("the socket past the budget was served")
            except ConnectionClosed as closed:
                assert closed.rcvd is not None
                refused = (closed.rcvd.code, closed.rcvd.reason)
        # Every socket closed: the budget is free again.
        async with connect(_ws(live, "/rpc")) as again:
            await again.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}))
            async with asyncio.timeout(20):
                answer = json.loads(await again.recv())
        return refused[0], refused[1], answer["result"]

    code, reason, chain_id = asyncio.run(scenario())
    assert code == 1008
    assert reason.startswith("API_TOO_MANY_SOCKETS")
    assert chain_id.startswith("0x")
    assert httpx.get(f"{live.url}/v1/status").status_code == 200


def test_subscriptions_per_socket_are_bounded(live: InProcessNode) -> None:
    async def subscribe(ws: ClientConnection, ident: int) -> dict[str, Any]:
        await ws.send(
            json.dumps(
                {"jsonrpc": "2.0", "id": ident, "method": "eth_subscribe", "params": ["newHeads"]}
            )
        )
        async with asyncio.timeout(20):
            while True:
                answer: dict[str, Any] = json.loads(await ws.recv())
                if answer.get("id") == ident:
                    return answer

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with connect(_ws(live, "/rpc")) as ws:
            subs = [await subscribe(ws, i) for i in range(MAX_SUBSCRIPTIONS)]
            assert all("result" in s for s in subs)
            refused = await subscribe(ws, 1_000)
            await ws.send(
                json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "id": 1_001,
                        "method": "eth_unsubscribe",
                        "params": [subs[0]["result"]],
                    }
                )
            )
            return refused, await subscribe(ws, 1_002)

    refused, after_unsubscribe = asyncio.run(scenario())
    assert refused["error"]["code"] == -32005
    assert refused["error"]["data"]["code"] == "API_TOO_MANY_SUBSCRIPTIONS"
    assert after_unsubscribe["result"].startswith("0x")
