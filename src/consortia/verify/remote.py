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
from consortia.ledger.types import Block, QuorumCert


def fetch_chain(url: str) -> tuple[Genesis, Iterator[tuple[Block, QuorumCert | None]]]:
    """The genesis and a lazy iterator of (block, certificate) from ``url``."""
    client = httpx.Client(base_url=url.rstrip("/"), timeout=30)
    response = client.get("/v1/genesis/raw")
    response.raise_for_status()
    genesis = decode(bytes.fromhex(response.json()["genesis"].removeprefix("0x")), Genesis)
    top = int(client.get("/v1/status").json()["height"])

    def records() -> Iterator[tuple[Block, QuorumCert | None]]:
        with client:
            for height in range(top + 1):
                data = client.get(f"/v1/blocks/{height}/raw").raise_for_status().json()
                block = decode(bytes.fromhex(data["block"].removeprefix("0x")), Block)
                cert_hex = data.get("certificate")
                certificate = (
                    None
                    if cert_hex is None
                    else decode(bytes.fromhex(cert_hex.removeprefix("0x")), QuorumCert)
                )
                yield block, certificate

    return genesis, records()
