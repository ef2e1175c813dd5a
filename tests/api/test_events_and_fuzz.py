"""WebSocket events, and hypothesis fuzzing of every endpoint: never a 5xx, never a crash."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.node import InProcessNode, signed_tx
from websockets.asyncio.client import connect

from consortia.crypto import KeyType, PrivateKey
from consortia.modules.assets.types import Create, SupplyRule

pytestmark = pytest.mark.slow

POSTS = ["/v1/transactions", "/v1/transactions/batch", "/v1/transactions?wait=0.01"]
GETS = [
    "/v1/transactions/{}",
    "/v1/blocks/{}",
    "/v1/blocks/by-id/{}",
    "/v1/blocks/{}/raw",
    "/v1/accounts/{}",
    "/v1/assets/{}",
    "/v1/state/{}",
    "/v1/state/00?version={}",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"tx": json_values}).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"txs": st.lists(st.text(max_size=30), max_size=5)}).map(
        lambda v: json.dumps(v).encode()
    ),
    st.text(alphabet="0123456789abcdefxX", max_size=200).map(
        lambda h: json.dumps({"tx": h}).encode()
    ),
)
segments = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=""),
    min_size=1,
    max_size=80,
) | st.integers(min_value=-(2**70), max_value=2**70).map(str)


def assert_error_document(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body["error"]["code"], str) and body["error"]["code"]
        assert isinstance(body["error"]["message"], str)


def test_fuzz_posts_and_gets(live: InProcessNode) -> None:
    with httpx.Client(base_url=live.url, timeout=10) as client:

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(path=st.sampled_from(POSTS), body=bodies)
        def posts(path: str, body: bytes) -> None:
            response = client.post(path, content=body, headers={"content-type": "application/json"})
            assert_error_document(response)

        @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
        @given(template=st.sampled_from(GETS), segment=segments)
        def gets(template: str, segment: str) -> None:
            assert_error_document(client.get(template.format(quote(segment, safe=""))))

        posts()
        gets()
        huge = client.post("/v1/transactions/batch", content=b"[" * (65 * 1024 * 1024))
        assert huge.status_code == 413
        for path in POSTS:
            assert_error_document(client.post(path, content=b'{"tx": "' + b"ab" * 200_000 + b'"}'))
    alice = PrivateKey.generate(KeyType.SM2)
    raw = signed_tx(alice, 0, "assets", "create", Create("FUZZ", "f", 0, SupplyRule.UNLIMITED, 0))
    after = httpx.post(f"{live.url}/v1/transactions", params={"wait": 10}, json={"tx": raw.hex()})
    assert after.status_code == 200 and after.json()["receipt"]["status"] == "OK"


async def test_events_stream_blocks_and_transactions(live: InProcessNode) -> None:
    key = PrivateKey.generate(KeyType.SECP256K1)
    raw = signed_tx(key, 0, "assets", "create", Create("EVT", "e", 0, SupplyRule.UNLIMITED, 0))
    ws_url = live.url.replace("http://", "ws://") + "/v1/events"
    seen: list[dict[str, Any]] = []
    async with connect(ws_url) as ws, httpx.AsyncClient() as client:
        response = await client.post(f"{live.url}/v1/transactions", json={"tx": raw.hex()})
        tx_id = response.json()["tx_id"]

        async def until_tx() -> None:
            async for frame in ws:
                event = json.loads(frame)
                seen.append(event)
                if event["type"] == "tx" and event["tx_id"] == tx_id:
                    return

        await asyncio.wait_for(until_tx(), 10)
    blocks = [e for e in seen if e["type"] == "block"]
    assert blocks and blocks[0]["id"].startswith("0x")
    assert seen[-1]["status"] == "OK"
    assert seen[-1]["events"][0]["name"] == "created"


async def test_a_block_of_more_than_1024_transactions_keeps_its_subscriber(
    live: InProcessNode,
) -> None:
    """A block's events travel as one batch: a large block does not drop a reader."""
    keys = [PrivateKey.generate(KeyType.SM2) for _ in range(60)]
    raws = [
        signed_tx(
            key, n, "assets", "create", Create(f"BIG{k}N{n}", "b", 0, SupplyRule.UNLIMITED, 0)
        )
        for k, key in enumerate(keys)
        for n in range(25)
    ]
    ws_url = live.url.replace("http://", "ws://") + "/v1/events"
    seen: list[dict[str, Any]] = []
    async with connect(ws_url) as ws, httpx.AsyncClient(timeout=60) as client:
        response = await client.post(
            f"{live.url}/v1/transactions/batch", json={"txs": [r.hex() for r in raws]}
        )
        ids = {r["tx_id"] for r in response.json()["results"] if r.get("tx_id")}
        assert len(ids) == len(raws) == 1_500

        async def until_all() -> None:
            waiting = set(ids)
            async for frame in ws:
                event = json.loads(frame)
                seen.append(event)
                assert event["type"] != "lagged"
                if event["type"] == "tx":
                    waiting.discard(event["tx_id"])
                if not waiting:
                    return

        await asyncio.wait_for(until_all(), 60)
    assert max(e["tx_count"] for e in seen if e["type"] == "block") > 1_024
