"""Commit times of the load's transactions, from one node's event stream.

The time a transaction commits is the time its block's event arrived at the
load generator. When the node drops the stream for lagging, the listener
rejoins and reads the blocks it missed over REST.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import websockets

from consortia.bench.report import Observations

__all__ = ["CommitListener"]


class CommitListener:
    """Commits from one node's event stream; rejoins when dropped and reads missed blocks.

    A node drops a subscriber whose backlog passes its bound (65,536 events,
    whole blocks at a time): a busy load generator can fall that far behind.
    So on rejoining, and at the end, every height not streamed in full is read
    over REST; a
    transaction first seen that way commits at its block's event time, or at
    the first streamed transaction of that block, or (only when neither
    arrived) at the time of reading, which is then marked as an estimate.
    """

    def __init__(self, api: str, obs: Observations, client: httpx.AsyncClient) -> None:
        self._api = api
        self._url = api.replace("http://", "ws://").replace("https://", "wss://") + "/v1/events"
        self._obs = obs
        self._client = client
        self._block_time: dict[int, float] = {}
        self._expected: dict[int, int] = {}
        self._seen: dict[int, int] = {}
        self._verified = 0
        """Every height up to this one was streamed in full or read back."""
        self._rejoined = False
        self._backfills: set[asyncio.Task[None]] = set()

    async def run(self, height: int, ready: asyncio.Event) -> None:
        """Listen until cancelled; ``ready`` is set once the first subscription is open."""
        self._verified = height
        while True:
            try:
                async with websockets.connect(self._url, max_size=None) as ws:
                    ready.set()
                    async for message in ws:
                        event = json.loads(message)
                        if event["type"] == "block":
                            self._on_block(event)
                        elif event["type"] == "tx":
                            self._on_tx(event)
            except (websockets.ConnectionClosed, websockets.InvalidHandshake, OSError):
                await asyncio.sleep(0.05)
            if ready.is_set():
                self._obs.ws_reconnects += 1
                self._rejoined = True

    def _complete(self, height: int) -> bool:
        return height in self._expected and self._seen.get(height, 0) >= self._expected[height]

    def _unverified(self, top: int) -> range:
        while self._verified < top and self._complete(self._verified + 1):
            self._verified += 1
        return range(self._verified + 1, top + 1)

    def _on_block(self, event: dict[str, Any]) -> None:
        now = time.perf_counter()
        height = int(event["height"])
        self._block_time[height] = now
        self._expected[height] = int(event["tx_count"])
        if self._rejoined:
            self._rejoined = False
            self._backfill(self._unverified(height - 1))
        self._obs.blocks.append((now, height, int(event["tx_count"])))

    def _on_tx(self, event: dict[str, Any]) -> None:
        height = int(event["height"])
        self._seen[height] = self._seen.get(height, 0) + 1
        at = self._block_time.setdefault(height, time.perf_counter())
        self._obs.commit(bytes.fromhex(event["tx_id"].removeprefix("0x")), at, event["status"])

    def _backfill(self, heights: range) -> None:
        if heights:
            self._backfills.add(asyncio.create_task(self._read_blocks(heights)))

    async def _read_blocks(self, heights: range) -> None:
        for height in heights:
            if self._complete(height):
                continue
            for attempt in range(5):
                try:
                    response = await self._client.get(f"{self._api}/v1/blocks/{height}", timeout=30)
                    response.raise_for_status()
                    break
                except httpx.HTTPError:
                    if attempt == 4:
                        raise
                    await asyncio.sleep(1.0)
            known = self._block_time.get(height)
            at = time.perf_counter() if known is None else known
            transactions = response.json()["transactions"]
            for text in transactions:
                identifier = bytes.fromhex(text.removeprefix("0x"))
                self._obs.commit(identifier, at, None, estimated=known is None)
            self._expected[height] = self._seen[height] = len(transactions)

    async def flush(self) -> None:
        """Read every block not streamed in full, and wait for all reads (raising their errors)."""
        response = await self._client.get(f"{self._api}/v1/status", timeout=30)
        self._backfill(self._unverified(int(response.json()["height"])))
        while self._backfills:
            done = list(self._backfills)
            self._backfills.clear()
            await asyncio.gather(*done)
