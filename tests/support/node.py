"""A real single-validator node running in-process on a background thread (API on loopback).

The node owns its own event loop on its own thread, so synchronous tests
(httpx, typer's CliRunner) and asynchronous ones alike talk to it over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.support.ports import free_block

from consortia.crypto import PrivateKey
from consortia.execution.policy import ChainPolicy
from consortia.node.assembly import Node
from consortia.node.init import init_network


@dataclass
class InProcessNode:
    """A running node: its network directory, API URL and the live ``Node``."""

    root: Path
    url: str
    node: Node
    suite: str

    def key(self, name: str) -> PrivateKey:
        """A demo key (``alice`` or ``bob``) written by ``init_network``."""
        return PrivateKey.from_pem((self.root / "keys" / f"{name}.pem").read_bytes())


@contextlib.contextmanager
def node_in_thread(
    root: Path, *, suite: str = "sm", timeout_s: float = 20.0, policy: ChainPolicy | None = None
) -> Iterator[InProcessNode]:
    """Initialise a one-validator network in ``root`` and run it until the block exits."""
    base = free_block(2)
    entries = init_network(
        root,
        validators=1,
        orgs=1,
        suite=suite,
        base_api_port=base,
        base_p2p_port=base + 1,
        policy=policy,
    )
    node = Node.open(entries[0].home)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    task_box: list[asyncio.Task[None]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        task = loop.create_task(node.run(serve_api=True))
        task_box.append(task)
        ready.set()
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)
        loop.close()

    thread = threading.Thread(target=run, name="node", daemon=True)
    thread.start()
    ready.wait(timeout_s)
    url = entries[0].api
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/v1/status", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("in-process node did not start serving")
        time.sleep(0.02)
    try:
        yield InProcessNode(root=root, url=url, node=node, suite=suite)
    finally:
        loop.call_soon_threadsafe(task_box[0].cancel)
        thread.join(timeout_s)


def signed_tx(
    key: PrivateKey,
    nonce: int,
    module: str,
    method: str,
    args: object,
    *,
    chain_id: str = "consortia-devnet",
    expiry_height: int = 10_000,
    gas_limit: int = 1_000_000,
) -> bytes:
    """Canonical bytes of a signed transaction."""
    from consortia.codec import encode
    from consortia.ledger.types import Transaction, TxBody, tx_signing_bytes

    body = TxBody(
        chain_id=chain_id,
        sender=key.public_key().address(),
        nonce=nonce,
        module=module,
        method=method,
        args=encode(args),
        gas_limit=gas_limit,
        expiry_height=expiry_height,
    )
    return encode(
        Transaction(
            body=body,
            key_type=key.key_type.value,
            public_key=key.public_key().to_bytes(),
            signature=key.sign(tx_signing_bytes(body)),
        )
    )
