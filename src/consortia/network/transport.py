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

An accepted connection is held unread until this module runs its TLS
handshake (:class:`_TlsGate`), so every refusal, TLS ones included, is seen
here and logged with the peer's address and a reason code, rate-limited
([NET-REJECT-LOG.1], :mod:`consortia.network.rejections`).
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, cast

from consortia.codec import CodecError
from consortia.crypto import KeyType, PrivateKey, PublicKey
from consortia.crypto.errors import CryptoError
from consortia.network.certs import TlsFiles, fingerprint, pem_fingerprint
from consortia.network.errors import (
    BadHello,
    FrameTooLarge,
    HandshakeFailed,
    HandshakeTimeout,
    NetworkError,
    NotMember,
    TlsFailed,
    WrongChainPeer,
)
from consortia.network.framing import encode_frame, read_frame
from consortia.network.messages import (
    Hello,
    HelloData,
    WireMessage,
    decode_message,
    encode_message,
    hello_signing_bytes,
)
from consortia.network.rejections import RejectionLog

log = logging.getLogger(__name__)

SEND_QUEUE: Final = 8_192
HANDSHAKE_TIMEOUT_S: Final = 5.0
MAX_DIAL_BACKOFF_S: Final = 2.0
MAX_BAD_FRAMES: Final = 20
RATE_FRAMES_PER_S: Final = 50_000.0
RATE_BURST: Final = 100_000.0
_LINK_ERRORS: Final = (
    OSError,
    TimeoutError,
    NetworkError,
    ssl.SSLError,
    CodecError,
    asyncio.IncompleteReadError,
)
"""What dialing or accepting a link may raise: the peer, the network or its bytes failed."""

PeerKey = bytes
"""A peer's identity: the public key its Hello is signed with."""
Handler = Callable[[PeerKey, WireMessage], None]
"""Called on the event loop with (peer key, message) for every decoded message."""
Admit = Callable[[PeerKey, bytes], None]
"""Raises HandshakeFailed unless (node key, DER certificate) belongs to a member."""


class Spawn(Protocol):
    """Starts a long-lived task under its owner's supervision (``TaskGroup.create_task``
    fits): the owner learns when it dies, instead of the task failing unseen."""

    def __call__(
        self, coro: Coroutine[Any, Any, None], *, name: str | None = None
    ) -> asyncio.Task[None]:
        """Start ``coro`` as a task named ``name``."""
        ...


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


def _ssl_protocol_class(loop: asyncio.AbstractEventLoop) -> Any:
    """The loop's own TLS-over-transport protocol (uvloop has its own copy of asyncio's)."""
    if type(loop).__module__.startswith("uvloop"):
        import uvloop.loop

        return uvloop.loop.SSLProtocol  # type: ignore[attr-defined]  # not in its stub
    return asyncio.sslproto.SSLProtocol


@dataclass
class _Incoming:
    """An accepted connection in its TLS handshake: what :meth:`P2PNetwork._accept_tls`
    waits on and, if TLS succeeds, reads the Hello from."""

    transport: asyncio.Transport
    handshake: asyncio.Future[None]
    """Resolved by the TLS layer: done, or the handshake's failure."""
    writer: asyncio.Future[asyncio.StreamWriter]
    reader: asyncio.StreamReader


class _TlsGate(asyncio.Protocol):
    """Puts TLS on a fresh TCP connection before a byte is read, as ``ssl=`` on the
    server would, but keeps the handshake's outcome, so a refusal can be logged
    ([NET-REJECT-LOG.1]; asyncio and uvloop drop TLS failures of servers silently)."""

    def __init__(self, network: P2PNetwork) -> None:
        self._network = network

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport, though uvloop's does not subclass asyncio.Transport.
        stream = cast(asyncio.Transport, transport)
        loop = asyncio.get_running_loop()
        incoming = _Incoming(
            transport=stream,
            handshake=loop.create_future(),
            writer=loop.create_future(),
            reader=asyncio.StreamReader(limit=2**16),
        )

        def tls_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if not incoming.writer.done():
                incoming.writer.set_result(writer)

        app = asyncio.StreamReaderProtocol(incoming.reader, tls_up)
        tls = _ssl_protocol_class(loop)(
            loop,
            app,
            self._network._server_ctx,
            incoming.handshake,
            server_side=True,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S,
        )
        # Synchronously, before the loop reads: every byte goes to the TLS layer.
        stream.set_protocol(tls)
        tls.connection_made(stream)
        self._network._adopt_connection(incoming)


def _peer_address(transport: asyncio.BaseTransport) -> str:
    """``host:port`` of the remote end (``?`` once the socket is gone)."""
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = f"[{peer[0]}]" if ":" in str(peer[0]) else str(peer[0])
        return f"{host}:{peer[1]}"
    return "?"


def _refusal(exc: BaseException) -> tuple[str, str]:
    """The reason code and detail of a failed incoming handshake."""
    if isinstance(exc, NetworkError):
        return exc.code, exc.message
    if isinstance(exc, TimeoutError):
        return HandshakeTimeout.code, "no Hello within the handshake timeout"
    if isinstance(exc, asyncio.IncompleteReadError):
        return BadHello.code, "the peer closed the connection before its Hello"
    if isinstance(exc, CodecError):
        return BadHello.code, f"undecodable Hello: {exc.message}"
    return TlsFailed.code, f"{type(exc).__name__}: {exc}"


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
        spawn: Spawn,
        admit: Admit | None = None,
        rejections: RejectionLog | None = None,
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
        self._spawn = spawn
        """Starts the dialers (one per target, for as long as it is one)."""
        self._admit = admit
        self._links: dict[PeerKey, _Link] = {}
        self._server: asyncio.Server | None = None
        self._dialers: dict[PeerAddress, asyncio.Task[None]] = {}
        self._opening: set[asyncio.StreamWriter] = set()
        """Connections still in their handshake: not links yet, but closed by close()."""
        self._accepting: dict[asyncio.Task[None], asyncio.Transport] = {}
        """Accepted connections in TLS or Hello exchange, with their raw transports."""
        self.rejections = rejections if rejections is not None else RejectionLog(log)
        """Refused connections, counted by reason and logged rate-limited."""
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
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(lambda: _TlsGate(self), host, port)
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
                self._dialers[target] = self._spawn(
                    self._dial_forever(target), name=f"dial {target.name}"
                )

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
        accepting = list(self._accepting)
        for task, transport in list(self._accepting.items()):
            task.cancel()
            transport.close()
        self._accepting.clear()
        if accepting:
            await asyncio.gather(*accepting, return_exceptions=True)
        self.rejections.flush(force=True)
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
                except HandshakeFailed as exc:  # it answered, and is not who we may link to
                    if not self._closed:
                        where = f"{peer.name} ({peer.host}:{peer.port})"
                        self.rejections.record(where, *_refusal(exc), dialed=True)
                    delay = min(delay * 2, MAX_DIAL_BACKOFF_S)
                except _LINK_ERRORS as exc:
                    log.debug("dial %s failed: %s", peer.name, exc)
                    delay = min(delay * 2, MAX_DIAL_BACKOFF_S)
            await asyncio.sleep(delay)

    def _adopt_connection(self, incoming: _Incoming) -> None:
        """Own an accepted connection: its handshake runs in a task close() cancels."""
        if self._closed:
            incoming.transport.close()
            return
        task = asyncio.create_task(self._accept_tls(incoming))
        self._accepting[task] = incoming.transport
        task.add_done_callback(lambda done: self._accepting.pop(done, None))

    async def _accept_tls(self, incoming: _Incoming) -> None:
        """TLS, then Hellos, on an accepted connection; log it if refused."""
        transport = incoming.transport
        peer = _peer_address(transport)
        try:
            try:
                await incoming.handshake
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                raise TlsFailed(f"TLS handshake failed: {exc}") from None
            if not incoming.writer.done():  # closed as the handshake ended
                raise TlsFailed("the peer closed the connection during the TLS handshake")
            await self._handshake(incoming.reader, incoming.writer.result(), expected=None)
        except _LINK_ERRORS as exc:
            transport.close()
            if not self._closed:
                self.rejections.record(peer, *_refusal(exc))

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
        try:
            raw = await asyncio.wait_for(read_frame(reader, limit=4096), HANDSHAKE_TIMEOUT_S)
        except FrameTooLarge as exc:
            raise BadHello(f"Hello frame too large: {exc.message}") from None
        except TimeoutError:
            raise HandshakeTimeout(
                f"no Hello within {HANDSHAKE_TIMEOUT_S:g} s of the TLS handshake"
            ) from None
        hello = decode_message(raw)
        if not isinstance(hello, Hello):
            raise BadHello(f"first message was a {type(hello).__name__}, not a Hello")
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
            raise WrongChainPeer(
                f"peer is on chain {data.chain_id!r} with genesis {data.genesis_id.hex()[:16]}…,"
                f" not {self._chain_id!r} with {self._genesis_id.hex()[:16]}…"
            )
        if hello.public_key == self.key:
            raise BadHello("peer presents our own key")
        try:
            public = PublicKey.from_bytes(self._key_type, hello.public_key)
        except (CryptoError, ValueError) as exc:
            raise BadHello(f"peer's key is not a {self._key_type.value} key: {exc}") from None
        if not public.verify(hello_signing_bytes(data), hello.signature):
            raise BadHello("peer's Hello signature does not verify")
        ssl_object = writer.get_extra_info("ssl_object")
        peer_der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not peer_der or fingerprint(peer_der) != data.cert_fingerprint:
            raise BadHello("peer's Hello is not bound to its TLS certificate")
        if self._admit is not None:
            try:
                self._admit(hello.public_key, peer_der)
            except HandshakeFailed as exc:
                raise NotMember(exc.message) from None
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
