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
from typing import Any

import httpx
from tests.support.ports import free_block

from consortia.crypto import PrivateKey
from consortia.execution.policy import ChainPolicy
from consortia.node.init import init_network
from consortia.server.assembly import Node


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


class ThreadNode:
    """A one-validator network whose node runs on a background thread and can be restarted.

    ``stop()`` cancels the node (API, consensus, store closed); ``start()`` opens
    the same home again, so the API comes back on the same port with the same chain.
    """

    def __init__(self, root: Path, policy: ChainPolicy | None = None, suite: str = "sm") -> None:
        base = free_block(2)
        entry = init_network(
            root,
            validators=1,
            orgs=1,
            suite=suite,
            base_api_port=base,
            base_p2p_port=base + 1,
            policy=policy,
        )[0]
        self.root = root
        self.home = entry.home
        self.url = entry.api
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.node: Node | None = None
        """The running node (None while stopped)."""

    def key(self, name: str) -> PrivateKey:
        """A key ``init_network`` wrote: ``alice``, ``bob``, or an admin such as ``org1-admin``."""
        return PrivateKey.from_pem((self.root / "keys" / f"{name}.pem").read_bytes())

    def status(self) -> dict[str, Any]:
        """``GET /v1/status``."""
        body = httpx.get(f"{self.url}/v1/status", timeout=2).json()
        assert isinstance(body, dict)
        return body

    def start(self, timeout_s: float = 20.0) -> None:
        """Open the node's home and serve until :meth:`stop`; returns once the API answers."""
        assert self._thread is None, "already running"
        node = self.node = Node.open(self.home)
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            self._task = loop.create_task(node.run(serve_api=True))
            ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="node", daemon=True)
        self._thread.start()
        ready.wait(timeout_s)
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/v1/status", timeout=1).status_code == 200:
                    return
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("in-process node did not start serving")
            time.sleep(0.02)

    def stop(self, timeout_s: float = 20.0) -> None:
        """Cancel the node and wait for its thread (idempotent)."""
        if self._thread is None:
            return
        assert self._loop is not None and self._task is not None
        self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "node thread did not stop"
        self._thread = self._loop = self._task = self.node = None


@contextlib.contextmanager
def node_in_thread(
    root: Path, *, suite: str = "sm", timeout_s: float = 20.0, policy: ChainPolicy | None = None
) -> Iterator[InProcessNode]:
    """Initialise a one-validator network in ``root`` and run it until the block exits."""
    running = ThreadNode(root, policy, suite)
    running.start(timeout_s)
    try:
        assert running.node is not None
        yield InProcessNode(root=root, url=running.url, node=running.node, suite=suite)
    finally:
        running.stop(timeout_s)


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
