"""Mutual-TLS connections to the other validators, with a Hello that binds each
connection to a validator index ([NET-AUTH.1]).

Connection rule: validator i dials every validator j > i and accepts
connections from j < i; a new authenticated connection to an index replaces
the old one. Dials retry with exponential back-off (0.2 s doubling to 10 s).
Each link has a bounded send queue (back-pressure: when it is full new
frames to that peer are dropped and counted, consensus retransmits via
timeouts) and an inbound token bucket; a peer that sends undecodable frames
or exceeds its rate persistently is disconnected ([NET-BYZ.1]).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from consortia.codec import CodecError
from consortia.consensus.validators import Committee
from consortia.crypto import PrivateKey
from consortia.network.certs import TlsFiles, fingerprint, pem_fingerprint
from consortia.network.errors import HandshakeFailed, NetworkError
from consortia.network.framing import encode_frame, read_frame
from consortia.network.messages import (
    Hello,
    HelloData,
    WireMessage,
    decode_message,
    encode_message,
    hello_signing_bytes,
)

log = logging.getLogger(__name__)

SEND_QUEUE: Final = 8_192
HANDSHAKE_TIMEOUT_S: Final = 5.0
MAX_BAD_FRAMES: Final = 20
RATE_FRAMES_PER_S: Final = 50_000.0
RATE_BURST: Final = 100_000.0

Handler = Callable[[int, WireMessage], None]
"""Called on the event loop with (peer index, message) for every decoded message."""


@dataclass(frozen=True, slots=True)
class PeerAddress:
    """Where validator ``index`` listens."""

    index: int
    name: str
    host: str
    port: int


@dataclass
class LinkStats:
    """Counters of one link (immutable snapshots are taken by ``P2PNetwork.stats``)."""

    sent: int = 0
    received: int = 0
    dropped_send: int = 0
    bad_frames: int = 0
    rate_limited: int = 0


@dataclass
class _Link:
    index: int
    writer: asyncio.StreamWriter
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(SEND_QUEUE))
    stats: LinkStats = field(default_factory=LinkStats)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    tokens: float = RATE_BURST
    stamp: float = field(default_factory=time.monotonic)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.writer.close()


def _contexts(tls: TlsFiles) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for ctx in (server, client):
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=str(tls.ca_bundle))
        ctx.load_cert_chain(str(tls.cert), str(tls.key))
    # Peers are identified by their Hello (bound to the certificate), not by host name.
    client.check_hostname = False
    return server, client


class P2PNetwork:
    """Authenticated links to the other validators of a committee."""

    def __init__(
        self,
        *,
        me: int,
        node_name: str,
        committee: Committee,
        identity: PrivateKey,
        tls: TlsFiles,
        listen: tuple[str, int],
        peers: list[PeerAddress],
        handler: Handler,
        on_connect: Callable[[int], None],
    ) -> None:
        self.me = me
        self._committee = committee
        self._identity = identity
        self._server_ctx, self._client_ctx = _contexts(tls)
        self._listen = listen
        self._peers = {p.index: p for p in peers if p.index != me}
        self._handler = handler
        self._on_connect = on_connect
        self._links: dict[int, _Link] = {}
        self._server: asyncio.Server | None = None
        self._dialers: list[asyncio.Task[None]] = []
        hello_data = HelloData(
            chain_id=committee.chain_id,
            genesis_id=committee.genesis_id,
            node_name=node_name,
            validator_index=me,
            cert_fingerprint=pem_fingerprint(tls.cert.read_bytes()),
        )
        self._hello = Hello(
            data=hello_data,
            public_key=identity.public_key().to_bytes(),
            signature=identity.sign(hello_signing_bytes(hello_data)),
        )

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen and start dialing higher-indexed peers."""
        host, port = self._listen
        try:
            self._server = await asyncio.start_server(
                self._accept, host, port, ssl=self._server_ctx, limit=2**16
            )
        except OSError as exc:
            raise NetworkError(
                f"cannot listen for peers on {host}:{port}: {exc.strerror}"
            ) from None
        for peer in self._peers.values():
            if peer.index > self.me:
                self._dialers.append(asyncio.create_task(self._dial_forever(peer)))

    async def close(self) -> None:
        """Stop listening, dialing and every link (idempotent)."""
        for task in self._dialers:
            task.cancel()
        self._dialers.clear()
        for link in list(self._links.values()):
            link.close()
        self._links.clear()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def connected(self) -> list[int]:
        """Indices of peers with a live link."""
        return sorted(self._links)

    def stats(self) -> dict[int, LinkStats]:
        """Per-peer counters (copies)."""
        return {i: LinkStats(**vars(link.stats)) for i, link in self._links.items()}

    # ------------------------------------------------------------------ sending

    def send(self, index: int, message: WireMessage) -> bool:
        """Queue ``message`` for peer ``index``; False if not connected or queue full."""
        link = self._links.get(index)
        if link is None:
            return False
        return self._enqueue(link, encode_frame(encode_message(message)))

    def broadcast(self, message: WireMessage) -> None:
        """Queue ``message`` for every connected peer (encoded once)."""
        frame = encode_frame(encode_message(message))
        for link in list(self._links.values()):
            self._enqueue(link, frame)

    @staticmethod
    def _enqueue(link: _Link, frame: bytes) -> bool:
        try:
            link.queue.put_nowait(frame)
        except asyncio.QueueFull:
            link.stats.dropped_send += 1
            return False
        return True

    # ------------------------------------------------------------- connections

    async def _dial_forever(self, peer: PeerAddress) -> None:
        delay = 0.2
        while True:
            if peer.index not in self._links:
                try:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(
                            peer.host, peer.port, ssl=self._client_ctx, limit=2**16
                        ),
                        HANDSHAKE_TIMEOUT_S,
                    )
                    await self._handshake(reader, writer, expected=peer.index)
                    delay = 0.2
                except (OSError, TimeoutError, NetworkError, ssl.SSLError, CodecError) as exc:
                    log.debug("dial %s failed: %s", peer.name, exc)
                    delay = min(delay * 2, 10.0)
            await asyncio.sleep(delay)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._handshake(reader, writer, expected=None)
        except (OSError, TimeoutError, NetworkError, ssl.SSLError, CodecError) as exc:
            log.info("refused an incoming connection: %s", exc)
            writer.close()

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, expected: int | None
    ) -> None:
        writer.write(encode_frame(encode_message(self._hello)))
        await writer.drain()
        raw = await asyncio.wait_for(read_frame(reader, limit=4096), HANDSHAKE_TIMEOUT_S)
        hello = decode_message(raw)
        if not isinstance(hello, Hello):
            raise HandshakeFailed("first message was not a Hello")
        index = self._check_hello(hello, writer)
        if expected is not None and index != expected:
            raise HandshakeFailed(f"dialed validator {expected}, answered as {index}")
        if expected is None and index >= self.me:
            raise HandshakeFailed(f"validator {index} must be dialed by us, not dial us")
        old = self._links.pop(index, None)
        if old is not None:
            old.close()
        link = _Link(index=index, writer=writer)
        self._links[index] = link
        link.tasks = [
            asyncio.create_task(self._read_loop(link, reader)),
            asyncio.create_task(self._write_loop(link)),
        ]
        log.info("connected to validator %d (%s)", index, hello.data.node_name)
        self._on_connect(index)

    def _check_hello(self, hello: Hello, writer: asyncio.StreamWriter) -> int:
        data = hello.data
        if (
            data.chain_id != self._committee.chain_id
            or data.genesis_id != self._committee.genesis_id
        ):
            raise HandshakeFailed(f"peer is on chain {data.chain_id!r} with another genesis")
        index = data.validator_index
        if index >= self._committee.size or index == self.me:
            raise HandshakeFailed(f"peer claims validator index {index}")
        if self._committee.validator_set.validators[index].public_key != hello.public_key:
            raise HandshakeFailed(f"peer's key is not validator {index}'s key")
        if not self._committee.public_keys[index].verify(
            hello_signing_bytes(data), hello.signature
        ):
            raise HandshakeFailed("peer's Hello signature does not verify")
        ssl_object = writer.get_extra_info("ssl_object")
        peer_der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not peer_der or fingerprint(peer_der) != data.cert_fingerprint:
            raise HandshakeFailed("peer's Hello is not bound to its TLS certificate")
        return int(index)

    async def _write_loop(self, link: _Link) -> None:
        try:
            while True:
                frame = await link.queue.get()
                link.writer.write(frame)
                link.stats.sent += 1
                if link.queue.empty():
                    await link.writer.drain()
        except (OSError, ConnectionError):
            self._drop(link)

    async def _read_loop(self, link: _Link, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                raw = await read_frame(reader)
                now = time.monotonic()
                link.tokens = min(RATE_BURST, link.tokens + (now - link.stamp) * RATE_FRAMES_PER_S)
                link.stamp = now
                if link.tokens < 1:
                    link.stats.rate_limited += 1
                    continue
                link.tokens -= 1
                try:
                    message = decode_message(raw)
                except CodecError as exc:
                    link.stats.bad_frames += 1
                    log.warning("validator %d sent an undecodable frame: %s", link.index, exc)
                    if link.stats.bad_frames > MAX_BAD_FRAMES:
                        raise NetworkError("too many undecodable frames") from None
                    continue
                link.stats.received += 1
                if isinstance(message, Hello):
                    continue
                self._handler(link.index, message)
        except (OSError, asyncio.IncompleteReadError, NetworkError, ConnectionError) as exc:
            log.info("link to validator %d closed: %s", link.index, exc)
        finally:
            self._drop(link)

    def _drop(self, link: _Link) -> None:
        if self._links.get(link.index) is link:
            del self._links[link.index]
        link.close()
