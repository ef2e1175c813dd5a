"""Mutual-TLS connections between member nodes, with a Hello that binds each
connection to the node's key ([NET-AUTH.1]).

A peer is known by its node key (a validator's consensus key): the Hello is
signed with it and names the TLS certificate, and the caller's ``admit``
check decides whether that certificate's organisation is a member. Which
peers a node dials is the caller's choice (:meth:`P2PNetwork.set_targets`):
validators dial validators whose name sorts above their own, observers dial
every validator, so each pair has one dialer. A new authenticated link to a
key replaces the old one. Dials retry with exponential back-off (0.2 s
doubling to 2 s: only one side of a pair dials, so a restarted peer waits for
it, and a quorum may be waiting for that link).
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
from consortia.crypto import KeyType, PrivateKey, PublicKey
from consortia.crypto.errors import CryptoError
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
MAX_DIAL_BACKOFF_S: Final = 2.0
MAX_BAD_FRAMES: Final = 20
RATE_FRAMES_PER_S: Final = 50_000.0
RATE_BURST: Final = 100_000.0

PeerKey = bytes
"""A peer's identity: the public key its Hello is signed with."""
Handler = Callable[[PeerKey, WireMessage], None]
"""Called on the event loop with (peer key, message) for every decoded message."""
Admit = Callable[[PeerKey, bytes], None]
"""Raises HandshakeFailed unless (node key, DER certificate) belongs to a member."""


@dataclass(frozen=True, slots=True)
class PeerAddress:
    """Where a peer listens; ``key`` is checked against its Hello when known."""

    name: str
    host: str
    port: int
    key: PeerKey | None = None


@dataclass
class LinkStats:
    """Counters of one link (immutable snapshots are taken by ``P2PNetwork.stats``)."""

    sent: int = 0
    received: int = 0
    dropped_send: int = 0
    bad_frames: int = 0
    rate_limited: int = 0
    last_received: float = 0.0
    """``time.monotonic()`` of the last frame received (0: none yet)."""


@dataclass
class _Link:
    key: PeerKey
    name: str
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
    """Authenticated links to the other member nodes of one chain."""

    def __init__(
        self,
        *,
        node_name: str,
        chain_id: str,
        genesis_id: bytes,
        key_type: KeyType,
        identity: PrivateKey,
        tls: TlsFiles,
        listen: tuple[str, int],
        handler: Handler,
        on_connect: Callable[[PeerKey], None],
        admit: Admit | None = None,
    ) -> None:
        self._chain_id = chain_id
        self._genesis_id = genesis_id
        self._key_type = key_type
        self._identity = identity
        self.key: PeerKey = identity.public_key().to_bytes()
        self._server_ctx, self._client_ctx = _contexts(tls)
        self._listen = listen
        self._handler = handler
        self._on_connect = on_connect
        self._admit = admit
        self._links: dict[PeerKey, _Link] = {}
        self._server: asyncio.Server | None = None
        self._dialers: dict[PeerAddress, asyncio.Task[None]] = {}
        self._opening: set[asyncio.StreamWriter] = set()
        """Connections still in their handshake: not links yet, but closed by close()."""
        self._closed = False
        self._targets: list[PeerAddress] = []
        hello_data = HelloData(
            chain_id=chain_id,
            genesis_id=genesis_id,
            node_name=node_name,
            cert_fingerprint=pem_fingerprint(tls.cert.read_bytes()),
        )
        self._hello = Hello(
            data=hello_data,
            public_key=self.key,
            signature=identity.sign(hello_signing_bytes(hello_data)),
        )

    def trust(self, ca_pems: list[bytes]) -> None:
        """Also accept TLS chains ending at these CA certificates (new members)."""
        for pem in ca_pems:
            for ctx in (self._server_ctx, self._client_ctx):
                ctx.load_verify_locations(cadata=pem.decode("ascii"))

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen, and dial the targets set so far."""
        host, port = self._listen
        try:
            self._server = await asyncio.start_server(
                self._accept, host, port, ssl=self._server_ctx, limit=2**16
            )
        except OSError as exc:
            raise NetworkError(
                f"cannot listen for peers on {host}:{port}: {exc.strerror}"
            ) from None
        self.set_targets(self._targets)

    def set_targets(self, targets: list[PeerAddress]) -> None:
        """Dial exactly these peers from now on (each until a link to it is up)."""
        self._targets = list(targets)
        if self._server is None:
            return
        wanted = set(self._targets)
        for target in list(self._dialers):
            if target not in wanted:
                self._dialers.pop(target).cancel()
        for target in self._targets:
            if target not in self._dialers:
                self._dialers[target] = asyncio.create_task(self._dial_forever(target))

    async def close(self) -> None:
        """Stop listening, dialing and every link (idempotent)."""
        self._closed = True
        for task in self._dialers.values():
            task.cancel()
        self._dialers.clear()
        for link in list(self._links.values()):
            link.close()
        self._links.clear()
        for writer in list(self._opening):
            writer.close()
        self._opening.clear()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def connected(self) -> list[PeerKey]:
        """Keys of peers with a live link."""
        return sorted(self._links)

    def name_of(self, key: PeerKey) -> str:
        """The node name a connected peer gave in its Hello ("?" if not connected)."""
        link = self._links.get(key)
        return link.name if link is not None else "?"

    def stats(self) -> dict[PeerKey, LinkStats]:
        """Per-peer counters (copies)."""
        return {k: LinkStats(**vars(link.stats)) for k, link in self._links.items()}

    def drop_unless(self, keep: Callable[[PeerKey], bool]) -> None:
        """Close the links of peers that ``keep`` no longer admits."""
        for key, link in list(self._links.items()):
            if not keep(key):
                self._drop(link)

    # ------------------------------------------------------------------ sending

    def send(self, key: PeerKey, message: WireMessage) -> bool:
        """Queue ``message`` for peer ``key``; False if not connected or queue full."""
        link = self._links.get(key)
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
        known = peer.key
        while True:
            if known is None or known not in self._links:
                try:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(
                            peer.host, peer.port, ssl=self._client_ctx, limit=2**16
                        ),
                        HANDSHAKE_TIMEOUT_S,
                    )
                    known = await self._handshake(reader, writer, expected=peer.key)
                    delay = 0.2
                except (OSError, TimeoutError, NetworkError, ssl.SSLError, CodecError) as exc:
                    log.debug("dial %s failed: %s", peer.name, exc)
                    delay = min(delay * 2, MAX_DIAL_BACKOFF_S)
            await asyncio.sleep(delay)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._handshake(reader, writer, expected=None)
        except (OSError, TimeoutError, NetworkError, ssl.SSLError, CodecError) as exc:
            log.info("refused an incoming connection: %s", exc)

    async def _handshake(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        expected: PeerKey | None,
    ) -> PeerKey:
        """Exchange Hellos and make the connection a link; a connection that fails
        (or is cancelled) here is closed, so none outlives it unowned."""
        self._opening.add(writer)
        try:
            if self._closed:  # its TLS finished after close(): nobody will own this link
                raise HandshakeFailed("the network is closed")
            return await self._exchange_hellos(reader, writer, expected)
        except BaseException:
            writer.close()
            raise
        finally:
            self._opening.discard(writer)

    async def _exchange_hellos(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, expected: PeerKey | None
    ) -> PeerKey:
        writer.write(encode_frame(encode_message(self._hello)))
        await writer.drain()
        raw = await asyncio.wait_for(read_frame(reader, limit=4096), HANDSHAKE_TIMEOUT_S)
        hello = decode_message(raw)
        if not isinstance(hello, Hello):
            raise HandshakeFailed("first message was not a Hello")
        key = self._check_hello(hello, writer)
        if expected is not None and key != expected:
            raise HandshakeFailed(f"dialed {hello.data.node_name!r}, answered with another key")
        old = self._links.pop(key, None)
        if old is not None:
            old.close()
        link = _Link(key=key, name=hello.data.node_name, writer=writer)
        self._links[key] = link
        link.tasks = [
            asyncio.create_task(self._read_loop(link, reader)),
            asyncio.create_task(self._write_loop(link)),
        ]
        log.info("connected to %s", link.name)
        self._on_connect(key)
        return key

    def _check_hello(self, hello: Hello, writer: asyncio.StreamWriter) -> PeerKey:
        data = hello.data
        if data.chain_id != self._chain_id or data.genesis_id != self._genesis_id:
            raise HandshakeFailed(f"peer is on chain {data.chain_id!r} with another genesis")
        if hello.public_key == self.key:
            raise HandshakeFailed("peer presents our own key")
        try:
            public = PublicKey.from_bytes(self._key_type, hello.public_key)
        except (CryptoError, ValueError) as exc:
            raise HandshakeFailed(
                f"peer's key is not a {self._key_type.value} key: {exc}"
            ) from None
        if not public.verify(hello_signing_bytes(data), hello.signature):
            raise HandshakeFailed("peer's Hello signature does not verify")
        ssl_object = writer.get_extra_info("ssl_object")
        peer_der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not peer_der or fingerprint(peer_der) != data.cert_fingerprint:
            raise HandshakeFailed("peer's Hello is not bound to its TLS certificate")
        if self._admit is not None:
            self._admit(hello.public_key, peer_der)
        return bytes(hello.public_key)

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
                    log.warning("%s sent an undecodable frame: %s", link.name, exc)
                    if link.stats.bad_frames > MAX_BAD_FRAMES:
                        raise NetworkError("too many undecodable frames") from None
                    continue
                link.stats.received += 1
                link.stats.last_received = now
                if isinstance(message, Hello):
                    continue
                self._handler(link.key, message)
        except (OSError, asyncio.IncompleteReadError, NetworkError, ConnectionError) as exc:
            log.info("link to %s closed: %s", link.name, exc)
        finally:
            self._drop(link)

    def _drop(self, link: _Link) -> None:
        if self._links.get(link.key) is link:
            del self._links[link.key]
        link.close()
