"""Posting transactions to a node: REST batches (native) and JSON-RPC batches (Ethereum).

Each post answers per transaction None (admitted) or the node's refusal code;
:data:`RETRYABLE` says which refusals the load resends at the sender's next
slot, :data:`ADMITTED_BEFORE` which answers to a resend mean the first
request got through.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Final

import httpx

__all__ = [
    "ADMITTED_BEFORE",
    "RETRYABLE",
    "TRANSPORT_ERROR",
    "post_evm",
    "post_guarded",
    "post_native",
]

RPC_BATCH: Final = 100
"""Requests per JSON-RPC batch (the node's limit)."""
TRANSPORT_ERROR: Final = "BENCH_TRANSPORT_ERROR"
"""Code counted when a batch's HTTP request itself failed (nothing known about its items)."""
RETRYABLE: Final = frozenset(
    {"MEMPOOL_FULL", "TX_RATE_LIMITED", "TX_SENDER_LIMIT", TRANSPORT_ERROR}
)
"""Refusals after which the same transaction is sent again at its sender's next slot."""
ADMITTED_BEFORE: Final = frozenset({"TX_DUPLICATE", "TX_NONCE_PENDING"})
"""Answers to a resend after a failed request that mean the first request got through."""


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


async def post_native(client: httpx.AsyncClient, api: str, raws: list[bytes]) -> list[str | None]:
    """Submit a batch over REST: per item None (admitted) or the refusal code."""
    response = await client.post(
        f"{api}/v1/transactions/batch", json={"txs": [r.hex() for r in raws]}, timeout=60
    )
    response.raise_for_status()
    return [
        (item.get("error") or {}).get("code") if item.get("error") else None
        for item in response.json()["results"]
    ]


async def post_evm(client: httpx.AsyncClient, api: str, raws: list[bytes]) -> list[str | None]:
    """Send raw Ethereum transactions as JSON-RPC batches (of at most the node's 100):
    per item None or the Consortia refusal code."""
    codes: list[str | None] = []
    for start in range(0, len(raws), RPC_BATCH):
        chunk = raws[start : start + RPC_BATCH]
        requests = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [_hex(r)]}
            for i, r in enumerate(chunk)
        ]
        response = await client.post(f"{api}/rpc", json=requests, timeout=60)
        response.raise_for_status()
        answers = {a["id"]: a for a in response.json()}
        for i in range(len(chunk)):
            error = answers[i].get("error")
            if error is None:
                codes.append(None)
            else:
                codes.append((error.get("data") or {}).get("code", f"RPC_{error['code']}"))
    return codes


async def post_guarded(
    post: Callable[[httpx.AsyncClient, str, list[bytes]], Coroutine[Any, Any, list[str | None]]],
    client: httpx.AsyncClient,
    api: str,
    raws: list[bytes],
) -> list[str | None]:
    """``post`` that answers a failed request with :data:`TRANSPORT_ERROR` for every item."""
    if not raws:
        return []
    try:
        return await post(client, api, raws)
    except httpx.HTTPError:
        return [TRANSPORT_ERROR] * len(raws)
