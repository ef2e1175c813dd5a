"""The P2P transport owns every connection it accepts or dials, handshake included."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ssl
import warnings
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from tests.support.ports import free_block

from consortia.codec import decode
from consortia.crypto import PrivateKey, get_suite
from consortia.genesis import Genesis
from consortia.network.certs import TlsFiles
from consortia.network.transport import P2PNetwork
from consortia.node.config import NodeHome
from consortia.node.init import init_network


def _network(home: Path) -> P2PNetwork:
    node = NodeHome(home)
    config = node.load_config()
    genesis = decode(node.genesis_file.read_bytes(), Genesis)
    suite = get_suite(genesis.suite)
    return P2PNetwork(
        node_name=config.name,
        chain_id=genesis.chain_id,
        genesis_id=bytes(32),
        key_type=suite.consensus_key_type,
        identity=PrivateKey.from_pem(node.validator_key.read_bytes()),
        tls=TlsFiles(home),
        listen=(config.p2p_host, config.p2p_port),
        handler=lambda key, message: None,
        on_connect=lambda key: None,
        spawn=asyncio.create_task,  # the test owns its dialers
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The home of a one-validator network's node (keys, TLS files, config)."""
    base = free_block(2)
    entries = init_network(
        tmp_path, validators=1, orgs=1, suite="sm", base_api_port=base, base_p2p_port=base + 1
    )
    return entries[0].home


def _run_without_leaks(scenario: Coroutine[Any, Any, None]) -> None:
    """Run ``scenario`` and fail on any socket or transport it left for the collector."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        asyncio.run(scenario)
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == [], [str(w.message) for w in leaks]


def test_close_closes_connections_still_in_their_handshake(home: Path) -> None:
    """A peer that completes TLS and never sends its Hello must not leave a socket behind
    when the node stops (Python 3.11's Server.close() does not close accepted connections)."""

    async def scenario() -> None:
        network = _network(home)
        await network.start()
        config = NodeHome(home).load_config()
        reader, writer = await asyncio.open_connection(
            config.p2p_host, config.p2p_port, ssl=network._client_ctx
        )
        await asyncio.sleep(0.3)  # accepted: the node sent its Hello and waits for ours
        await network.close()
        # Its Hello, then EOF at once: the node hung up rather than waiting out the
        # handshake timeout with a connection nobody owns any more.
        await asyncio.wait_for(reader.read(), 2)
        assert reader.at_eof()
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()

    _run_without_leaks(scenario())


def test_a_connection_whose_tls_ends_after_close_is_not_adopted(home: Path) -> None:
    """A connection accepted while the network closes is hung up on, not made a link
    (the node runs TLS itself, so close() now cuts it during the TLS handshake)."""

    async def scenario() -> None:
        network = _network(home)
        await network.start()
        config = NodeHome(home).load_config()
        reader, writer = await asyncio.open_connection(config.p2p_host, config.p2p_port)
        await asyncio.sleep(0.1)  # accepted; the server waits for the client's TLS hello
        await network.close()
        try:
            await writer.start_tls(network._client_ctx, server_hostname=config.p2p_host)
        except (ConnectionError, ssl.SSLError):
            pass  # hung up during TLS
        else:
            await asyncio.wait_for(reader.read(), 2)
            assert reader.at_eof()
        assert network.connected() == []
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()

    _run_without_leaks(scenario())
