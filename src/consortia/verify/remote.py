"""Fetching a chain from a node's API for verification (raw canonical bytes only).

The verifier never uses the node's JSON rendering: it asks for the canonical
bytes of the genesis, of each block and of each certificate, and checks them
itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from consortia.codec import decode
from consortia.genesis import Genesis
from consortia.ledger.types import Block, EpochStart, QuorumCert


def _raw(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text.removeprefix("0x"))


def fetch_chain(
    url: str,
) -> tuple[Genesis, Iterator[tuple[Block, QuorumCert | None]], dict[int, EpochStart]]:
    """The genesis, a lazy iterator of (block, certificate), and every epoch's start."""
    client = httpx.Client(base_url=url.rstrip("/"), timeout=30)
    response = client.get("/v1/genesis/raw")
    response.raise_for_status()
    genesis = decode(_raw(response.json()["genesis"]), Genesis)
    top = int(client.get("/v1/status").json()["height"])
    epochs: dict[int, EpochStart] = {}
    while (reply := client.get(f"/v1/epochs/{len(epochs) + 1}")).status_code != 404:
        start = decode(_raw(reply.raise_for_status().json()["raw"]), EpochStart)
        epochs[start.epoch] = start

    def records() -> Iterator[tuple[Block, QuorumCert | None]]:
        try:
            for height in range(top + 1):
                data = client.get(f"/v1/blocks/{height}/raw").raise_for_status().json()
                block = decode(_raw(data["block"]), Block)
                cert_hex = data.get("certificate")
                certificate = None if cert_hex is None else decode(_raw(cert_hex), QuorumCert)
                yield block, certificate
        finally:
            client.close()

    return genesis, records(), epochs
