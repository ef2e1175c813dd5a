"""A stopping node hangs up on its API clients instead of leaving their sockets behind."""

from __future__ import annotations

import gc
import socket
import warnings
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.node import node_in_thread
from websockets.sync.client import connect


def _read_until_closed(sock: socket.socket) -> None:
    """Read until the node hangs up (EOF, or a reset)."""
    sock.settimeout(10)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass


def test_stopping_closes_idle_half_sent_and_websocket_connections(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with node_in_thread(tmp_path / "net") as running:
            url = urlsplit(running.url)
            address = (url.hostname or "127.0.0.1", url.port or 80)
            idle = socket.create_connection(address)  # keep-alive, its request answered
            idle.sendall(b"GET /v1/status HTTP/1.1\r\nHost: node\r\n\r\n")
            assert idle.recv(12) == b"HTTP/1.1 200"
            half = socket.create_connection(address)  # a request still arriving
            half.sendall(b"GET /v1/status HTTP/1.1\r\nHost: no")
            events = connect(f"ws://{address[0]}:{address[1]}/v1/events")
            silent = socket.create_connection(address)  # a WebSocket that never answers a close
            silent.sendall(
                b"GET /v1/events HTTP/1.1\r\nHost: node\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                b"Sec-WebSocket-Version: 13\r\n\r\n"
            )
            assert silent.recv(12) == b"HTTP/1.1 101"
        # The node has stopped: every connection was closed from its side.
        for sock in [idle, half, silent]:
            _read_until_closed(sock)
            sock.close()
        events.close()
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []
