"""The event stream resumes from a cursor with no gap and no duplicate ([API-EVENTS.2], issue #17).

Real node processes, real WebSockets. The node proposes an empty block every
100 ms, so blocks keep committing between any snapshot and the subscribe that
follows it, and while a socket is down; transactions are sent alongside, so
blocks also carry ``tx`` frames. Every check is on the frames themselves: the
block frames' heights are consecutive, and every block's ``tx`` frames match
its ``tx_count`` and arrive once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.faultproxy import FaultProxy
from tests.support.network import LiveNetwork, live_network
from tests.support.node import signed_tx
from tests.support.ports import free_block
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from consortia.api.events import (
    BadCursor,
    CursorAhead,
    CursorTooOld,
    parse_cursor,
)
from consortia.crypto import KeyType, PrivateKey
from consortia.modules.assets.types import Create, SupplyRule
from consortia.sdk import ApiError, AsyncClient

pytestmark = pytest.mark.slow

FAST = {"idle_block_interval_ms": 100}


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNetwork]:
    with live_network(tmp_path_factory.mktemp("cursor"), timing=FAST) as running:
        yield running


def ws_url(api: str, after: int | str | None = None) -> str:
    base = api.replace("http://", "ws://") + "/v1/events"
    return base if after is None else f"{base}?after={quote(str(after), safe='')}"


class Sender:
    """Sends one asset-creating transaction at a time from a fresh key (so blocks carry txs)."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.key = PrivateKey.generate(KeyType.SM2)
        self.nonce = 0
        self.sent: set[str] = set()

    async def send(self, client: httpx.AsyncClient) -> None:
        create = Create(f"C{id(self) % 10_000}N{self.nonce}", "c", 0, SupplyRule.UNLIMITED, 0)
        raw = signed_tx(self.key, self.nonce, "assets", "create", create)
        response = await client.post(f"{self.api}/v1/transactions", json={"tx": raw.hex()})
        assert response.status_code in {200, 202}, response.text
        self.sent.add(response.json()["tx_id"])
        self.nonce += 1

    async def run(self, every_s: float = 0.05) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                with contextlib.suppress(httpx.TransportError):  # the node is restarting
                    await self.send(client)
                await asyncio.sleep(every_s)


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait until it has closed what it opened."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _runs(task: asyncio.Task[Any], qualname: str) -> bool:
    return getattr(task.get_coro(), "__qualname__", "") == qualname


async def close_proxy(proxy: FaultProxy) -> None:
    """Close ``proxy`` and wait until its connections have wound down (no leaked sockets)."""
    await proxy.close()
    deadline = time.monotonic() + 10
    while any(_runs(task, "FaultProxy._serve") for task in asyncio.all_tasks()):
        assert time.monotonic() < deadline, "the proxy's connections did not close"
        await asyncio.sleep(0.01)


def check_exactly_once(frames: list[dict[str, Any]], after: int) -> list[int]:
    """Fail unless ``frames`` hold every block above ``after`` once, each with all its
    transactions once, in order; returns the block heights."""
    heights: list[int] = []
    txs: dict[int, list[int]] = {}
    counts: dict[int, int] = {}
    seen_tx: set[str] = set()
    for frame in frames:
        assert frame["type"] in {"block", "tx"}, frame
        if frame["type"] == "block":
            heights.append(frame["height"])
            counts[frame["height"]] = frame["tx_count"]
            txs[frame["height"]] = []
        else:
            assert heights and frame["height"] == heights[-1], f"tx outside its block: {frame}"
            assert frame["tx_id"] not in seen_tx, f"duplicate tx {frame['tx_id']}"
            seen_tx.add(frame["tx_id"])
            txs[frame["height"]].append(frame["index"])
    assert heights == list(range(after + 1, after + 1 + len(heights))), (
        f"block heights not consecutive after {after}: {heights}"
    )
    for height in heights[:-1]:  # the last block may still be arriving
        assert txs[height] == list(range(counts[height])), f"block {height}: {txs[height]}"
    return heights


async def collect(
    frames: AsyncGenerator[dict[str, Any]], until_height: int
) -> list[dict[str, Any]]:
    """Frames until a block at ``until_height`` or above arrived whole.

    The generator is closed on the way out, so its socket closes on this event loop
    (left to the garbage collector, it leaked as a ResourceWarning in a later test).
    """
    async with contextlib.aclosing(frames):
        return await _until(frames, until_height)


async def _until(frames: AsyncGenerator[dict[str, Any]], until_height: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async for frame in frames:
        out.append(frame)
        blocks = [f for f in out if f["type"] == "block"]
        if blocks and blocks[-1]["height"] >= until_height:
            last = blocks[-1]
            tail = [f for f in out if f["type"] == "tx" and f["height"] == last["height"]]
            if len(tail) == last["tx_count"]:
                return out
    return out


async def raw_frames(url: str) -> AsyncGenerator[dict[str, Any]]:
    async with connect(url, max_size=None) as ws:
        async for text in ws:
            yield json.loads(text)


async def test_a_cursor_subscribe_replays_what_committed_since_the_snapshot(
    net: LiveNetwork,
) -> None:
    api = net.api(0)
    sender = Sender(api)
    sending = asyncio.create_task(sender.run())
    try:
        async with httpx.AsyncClient() as client:
            snapshot = (await client.get(f"{api}/v1/status")).json()["height"]
            # Blocks (with transactions) commit between the snapshot and the subscribe.
            while (await client.get(f"{api}/v1/status")).json()["height"] < snapshot + 5:
                await asyncio.sleep(0.05)
        frames = await asyncio.wait_for(
            collect(raw_frames(ws_url(api, snapshot)), snapshot + 15), 60
        )
    finally:
        await stop(sending)
    heights = check_exactly_once(frames, snapshot)
    assert heights[0] == snapshot + 1 and heights[-1] >= snapshot + 15
    streamed = {f["tx_id"].removeprefix("0x") for f in frames if f["type"] == "tx"}
    assert any(tx.removeprefix("0x") in streamed for tx in sender.sent)


async def test_a_cursor_at_the_tip_streams_only_new_blocks(net: LiveNetwork) -> None:
    api = net.api(0)
    async with connect(ws_url(api, 0), max_size=None) as ws:  # from genesis: all of history
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert first["type"] == "block" and first["height"] == 1
    tip = net.height(0)
    frames = await asyncio.wait_for(collect(raw_frames(ws_url(api, tip)), tip + 3), 30)
    assert check_exactly_once(frames, tip)[0] == tip + 1


async def test_b_a_dropped_socket_resumes_with_no_gap_and_no_duplicate(
    net: LiveNetwork,
) -> None:
    api = net.api(0)
    port = free_block(1)
    proxy = FaultProxy(port, int(api.rsplit(":", 1)[1]))
    await proxy.start()
    sender = Sender(api)
    sending = asyncio.create_task(sender.run(0.02))
    frames: list[dict[str, Any]] = []
    try:
        async with AsyncClient(f"http://127.0.0.1:{port}") as node:
            after = (await node.status()).height
            stream = node.events(after, resume=True)
            cuts: list[int] = []
            async for frame in stream:
                frames.append(frame)
                # Cut three times, at different points (mid-block when a block has txs).
                if frame["type"] == "tx" and len(cuts) < 3 and len(frames) > 20 * (len(cuts) + 1):
                    cuts.append(frame["height"])
                    proxy.cut()
                    await asyncio.sleep(0.3)  # blocks commit while the socket is down
                    proxy.heal()
                if len(cuts) == 3 and frame["type"] == "block" and frame["height"] > cuts[-1] + 5:
                    break
            await stream.aclose()
    finally:
        await stop(sending)
        await close_proxy(proxy)
    heights = check_exactly_once(frames, after)
    assert heights[-1] > cuts[-1] + 5


async def test_c_a_node_restart_resumes_with_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    with live_network(tmp_path, timing=FAST) as net:
        api = net.api(0)
        name = net.names[0]
        sender = Sender(api)
        sending = asyncio.create_task(sender.run())
        frames: list[dict[str, Any]] = []
        restarted_at: int | None = None
        try:
            async with AsyncClient(api) as node:
                after = (await node.status()).height
                stream = node.events(after, resume=True)
                async for frame in stream:
                    frames.append(frame)
                    if (
                        restarted_at is None
                        and frame["type"] == "block"
                        and frame["height"] > after + 5
                    ):
                        restarted_at = frame["height"]
                        await asyncio.to_thread(net.processes.stop, name)
                        await asyncio.to_thread(net.processes.start, name)
                    if restarted_at is not None and frame["height"] > restarted_at + 10:
                        break
                await stream.aclose()
        finally:
            await stop(sending)
        assert restarted_at is not None
        check_exactly_once(frames, after)


def test_bad_cursors_are_refused_with_a_stable_code(net: LiveNetwork) -> None:
    api = net.api(0)
    tip = net.height(0)

    async def refusal(after: str) -> tuple[int | None, str]:
        async with connect(ws_url(api, after)) as ws:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            return ws.close_code, ws.close_reason or ""

    for text, code in [
        ("-1", "EVENTS_BAD_CURSOR"),
        ("1.5", "EVENTS_BAD_CURSOR"),
        ("abc", "EVENTS_BAD_CURSOR"),
        ("", "EVENTS_BAD_CURSOR"),
        (str(2**64), "EVENTS_BAD_CURSOR"),
        (str(tip + 1_000_000), "EVENTS_CURSOR_AHEAD"),
    ]:
        close_code, reason = asyncio.run(refusal(text))
        assert close_code == 1008, (text, close_code, reason)
        assert reason.startswith(f"{code}: "), (text, reason)
    # The node goes on serving other subscribers and clients.
    assert net.wait_height(0, tip + 2) >= tip + 2


async def test_the_sdk_raises_the_refusal_code(net: LiveNetwork) -> None:
    async with AsyncClient(net.api(0)) as node:
        with pytest.raises(ApiError) as refused:
            async for _ in node.events(10**12, resume=True):
                pass
    assert refused.value.code == "EVENTS_CURSOR_AHEAD"


def test_cursor_bounds() -> None:
    assert parse_cursor("0", 0) == 0
    assert parse_cursor("7", 7) == 7
    assert parse_cursor("3", 10_003, max_replay=10_000) == 3
    with pytest.raises(CursorTooOld) as old:
        parse_cursor("2", 10_003, max_replay=10_000)
    assert old.value.code == "EVENTS_CURSOR_TOO_OLD"
    with pytest.raises(CursorAhead):
        parse_cursor("8", 7)
    for bad in ["-0", "+1", " 1", "1 ", "0x10", "1e3", "١"]:
        with pytest.raises(BadCursor):
            parse_cursor(bad, 100)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(max_size=30) | st.integers(-(2**70), 2**70).map(str))
def test_fuzz_cursor_text_is_a_height_or_a_refusal(text: str) -> None:
    tip = 1_000
    try:
        after = parse_cursor(text, tip)
    except (BadCursor, CursorAhead, CursorTooOld) as refusal:
        assert refusal.code.startswith("EVENTS_") and refusal.message
    else:
        assert after == int(text) and 0 <= after <= tip


def test_fuzz_the_event_socket_cursor_never_breaks_the_node(net: LiveNetwork) -> None:
    """Hypothesis-chosen ``after`` over a real socket: a refusal or a stream, never a crash."""
    api = net.api(0)

    async def probe(after: str) -> None:
        async with connect(ws_url(api, after), open_timeout=10) as ws:
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            except ConnectionClosed:
                assert ws.close_code == 1008 and (ws.close_reason or "").startswith("EVENTS_")
            else:
                assert frame["type"] == "block" and frame["height"] == int(after) + 1

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(after=st.integers(-5, 10**6).map(str) | st.text(alphabet="0123456789-+.e x", max_size=8))
    def fuzz(after: str) -> None:
        asyncio.run(probe(after))

    fuzz()
    started = time.monotonic()
    assert net.wait_height(0, net.height(0) + 2) and time.monotonic() - started < 30
