"""Refused P2P connections are logged with the peer's address and a reason code,
rate-limited ([NET-REJECT-LOG.1]); every case over real sockets and real TLS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import uvloop
from tests.support.network import live_network
from tests.support.ports import free_block

from consortia.codec import decode
from consortia.crypto import PrivateKey, get_suite
from consortia.genesis import Genesis
from consortia.network.certs import TlsFiles
from consortia.network.errors import HandshakeFailed
from consortia.network.framing import encode_frame
from consortia.network.rejections import REJECT_LOG_BURST, RejectionLog
from consortia.network.transport import Admit, P2PNetwork, PeerAddress
from consortia.node.config import NodeHome
from consortia.node.init import init_network

LOGGER = "consortia.network.transport"
Runner = Callable[[Coroutine[Any, Any, None]], None]
RUNNERS: dict[str, Runner] = {"asyncio": asyncio.run, "uvloop": uvloop.run}
"""Tests run the node's loop (uvloop) and the standard one."""


def network(home: Path, *, chain_id: str | None = None, admit: Admit | None = None) -> P2PNetwork:
    node = NodeHome(home)
    config = node.load_config()
    genesis = decode(node.genesis_file.read_bytes(), Genesis)
    return P2PNetwork(
        node_name=config.name,
        chain_id=chain_id or genesis.chain_id,
        genesis_id=bytes(32),
        key_type=get_suite(genesis.suite).consensus_key_type,
        identity=PrivateKey.from_pem(node.validator_key.read_bytes()),
        tls=TlsFiles(home),
        listen=(config.p2p_host, config.p2p_port),
        handler=lambda key, message: None,
        on_connect=lambda key: None,
        spawn=asyncio.create_task,  # the test owns its dialers
        admit=admit,
    )


def _homes(root: Path, validators: int) -> list[Path]:
    base = free_block(2 * validators)
    entries = init_network(
        root,
        validators=validators,
        orgs=validators,
        suite="sm",
        base_api_port=base,
        base_p2p_port=base + validators,
    )
    return [e.home for e in entries]


@pytest.fixture
def homes(tmp_path: Path) -> list[Path]:
    """Two validators of two organisations, each with its own CA."""
    return _homes(tmp_path / "net", 2)


@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    """A node of another network: its certificate is from a CA nobody here trusts."""
    return _homes(tmp_path / "other", 1)[0]


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and r.getMessage().startswith("refused ")
    ]


async def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def garbage(host: str, port: int, payload: bytes = b"GET / HTTP/1.0\r\n\r\n") -> str:
    """Connect, send non-TLS bytes, wait for the hang-up; returns our ``host:port``."""
    reader, writer = await asyncio.open_connection(host, port)
    local = writer.get_extra_info("sockname")
    writer.write(payload)
    with contextlib.suppress(ConnectionError):
        await writer.drain()
        await asyncio.wait_for(reader.read(), 10)
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return f"{local[0]}:{local[1]}"


async def tls_client(
    host: str, port: int, ctx: ssl.SSLContext, then: bytes | None = None, *, wait: bool = True
) -> str:
    """Connect with ``ctx``; send ``then`` (if any) once TLS is up; wait for the node to
    hang up (``wait``) or hang up at once."""
    reader, writer = await asyncio.open_connection(host, port)
    local = writer.get_extra_info("sockname")
    with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
        await writer.start_tls(ctx)
        if then is not None:
            writer.write(then)
            await writer.drain()
        if wait:
            await asyncio.wait_for(reader.read(), 10)
    writer.close()
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        await writer.wait_closed()
    return f"{local[0]}:{local[1]}"


def client_context(home: Path, *, trust: Path | None = None) -> ssl.SSLContext:
    """A TLS client presenting ``home``'s certificate and trusting ``trust``'s CAs."""
    tls = TlsFiles(home)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(cafile=str(TlsFiles(trust or home).ca_bundle))
    ctx.load_cert_chain(str(tls.cert), str(tls.key))
    return ctx


@pytest.mark.parametrize("loop", sorted(RUNNERS))
def test_garbage_and_unknown_certificates_are_logged(
    homes: list[Path], foreign: Path, caplog: pytest.LogCaptureFixture, loop: str
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    config = NodeHome(homes[0]).load_config()
    host, port = config.p2p_host, config.p2p_port

    async def scenario() -> None:
        net = network(homes[0])
        await net.start()
        try:
            plain = await garbage(host, port)
            await wait_for(lambda: net.rejections.statistics().get("NET_TLS_FAILED") == 1)
            # Trusts our CA, but its own certificate is from a CA nobody here trusts.
            stranger = await tls_client(host, port, client_context(foreign, trust=homes[0]))
            await wait_for(lambda: net.rejections.statistics().get("NET_TLS_FAILED") == 2)
            lines = refusals(caplog)
            assert lines[0].startswith(f"refused P2P connection from {plain} [NET_TLS_FAILED]:")
            assert lines[1].startswith(f"refused P2P connection from {stranger} [NET_TLS_FAILED]")
            assert "certificate verify failed" in lines[1], lines[1]
            assert net.connected() == []
        finally:
            await net.close()

    RUNNERS[loop](scenario())


def test_a_bad_or_missing_hello_is_logged(
    homes: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A member's valid certificate, then no Hello, an undecodable or oversized one,
    or silence."""
    caplog.set_level(logging.INFO, LOGGER)
    config = NodeHome(homes[0]).load_config()
    host, port = config.p2p_host, config.p2p_port
    member = client_context(homes[1], trust=homes[0])

    async def scenario() -> None:
        net = network(homes[0])
        await net.start()
        try:
            quitter = await tls_client(host, port, member, wait=False)
            await wait_for(lambda: net.rejections.statistics().get("NET_BAD_HELLO") == 1)
            noisy = await tls_client(host, port, member, then=encode_frame(b"\xc1" * 40))
            await wait_for(lambda: net.rejections.statistics().get("NET_BAD_HELLO") == 2)
            huge = await tls_client(host, port, member, then=(1 << 20).to_bytes(4, "big"))
            await wait_for(lambda: net.rejections.statistics().get("NET_BAD_HELLO") == 3)
            silent = await tls_client(host, port, member)  # the node hangs up after 5 s
            await wait_for(lambda: net.rejections.statistics().get("NET_HANDSHAKE_TIMEOUT") == 1)
        finally:
            await net.close()
        lines = refusals(caplog)
        assert lines[0] == (
            f"refused P2P connection from {quitter} [NET_BAD_HELLO]: "
            "the peer closed the connection before its Hello"
        )
        assert lines[1].startswith(f"refused P2P connection from {noisy} [NET_BAD_HELLO]: ")
        assert "undecodable Hello" in lines[1]
        assert lines[2].startswith(f"refused P2P connection from {huge} [NET_BAD_HELLO]: ")
        assert "Hello frame too large" in lines[2]
        assert lines[3] == (
            f"refused P2P connection from {silent} [NET_HANDSHAKE_TIMEOUT]: "
            "no Hello within 5 s of the TLS handshake"
        )

    asyncio.run(scenario())


def _refuse_all(key: bytes, cert_der: bytes) -> None:
    raise HandshakeFailed("CN=org2-v1 is not issued by a member CA")


@pytest.mark.parametrize("case", ["NET_WRONG_CHAIN", "NET_NOT_MEMBER"])
def test_a_peer_with_a_valid_hello_but_no_right_to_link_is_logged(
    homes: list[Path], caplog: pytest.LogCaptureFixture, case: str
) -> None:
    """A real node B dials A: another chain, or an organisation A's governance no longer lists."""
    caplog.set_level(logging.INFO, LOGGER)
    a_config = NodeHome(homes[0]).load_config()

    async def scenario() -> None:
        a = network(homes[0], admit=_refuse_all if case == "NET_NOT_MEMBER" else None)
        b = network(homes[1], chain_id="another-chain" if case == "NET_WRONG_CHAIN" else None)
        await a.start()
        await b.start()
        b.set_targets([PeerAddress("a", a_config.p2p_host, a_config.p2p_port)])
        try:
            await wait_for(lambda: a.rejections.statistics().get(case, 0) >= 1)
        finally:
            await b.close()
            await a.close()
        assert a.connected() == []
        prefix = f"refused P2P connection from {a_config.p2p_host}:"
        line = next(m for m in refusals(caplog) if f"[{case}]" in m and m.startswith(prefix))
        if case == "NET_WRONG_CHAIN":
            assert "peer is on chain 'another-chain'" in line
        else:
            assert "is not issued by a member CA" in line

    asyncio.run(scenario())


@pytest.mark.parametrize("loop", sorted(RUNNERS))
def test_a_flood_writes_a_bounded_number_of_lines(
    homes: list[Path], caplog: pytest.LogCaptureFixture, loop: str
) -> None:
    """1,000 garbage connections: all refused and counted, at most the burst logged
    one by one, and one summary line for the rest."""
    caplog.set_level(logging.INFO, LOGGER)
    config = NodeHome(homes[0]).load_config()
    host, port = config.p2p_host, config.p2p_port
    attempts = 1_000

    async def scenario() -> None:
        net = network(homes[0])
        await net.start()
        try:
            gate = asyncio.Semaphore(50)

            async def one() -> None:
                async with gate:
                    await garbage(host, port, b"\x00" * 64)

            await asyncio.gather(*(one() for _ in range(attempts)))
            await wait_for(lambda: net.rejections.statistics().get("NET_TLS_FAILED") == attempts)
            assert len(refusals(caplog)) == REJECT_LOG_BURST
        finally:
            await net.close()  # writes the summary of the open window

    RUNNERS[loop](scenario())
    lines = refusals(caplog)
    assert len(lines) == REJECT_LOG_BURST + 1
    assert lines[-1].startswith(f"refused {attempts - REJECT_LOG_BURST} more P2P connections")
    assert "[NET_TLS_FAILED]" in lines[-1]


def test_the_rate_limit_is_per_reason_and_per_window(caplog: pytest.LogCaptureFixture) -> None:
    """The limiter alone, on a clock we step: windows roll, reasons do not share a budget."""
    caplog.set_level(logging.INFO, "rejections-test")
    now = [100.0]
    rejections = RejectionLog(
        logging.getLogger("rejections-test"), burst=3, window_s=10.0, clock=lambda: now[0]
    )
    for i in range(8):
        rejections.record(f"10.0.0.1:{i}", "NET_TLS_FAILED", "bad\r\nfake line \u202e")
    rejections.record("10.0.0.2:1", "NET_BAD_HELLO", "x")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 4  # 3 TLS + 1 Hello; 5 TLS counted, not written
    assert messages[0] == (
        "refused P2P connection from 10.0.0.1:0 [NET_TLS_FAILED]: bad\\r\\nfake line \\u202e"
    )
    now[0] += 5.0
    rejections.flush()
    assert len(caplog.records) == 4  # window still open
    now[0] += 5.0
    rejections.record("10.0.0.1:9", "NET_TLS_FAILED", "again")
    messages = [r.getMessage() for r in caplog.records]
    assert messages[4] == (
        "refused 5 more P2P connections [NET_TLS_FAILED] in 10 s (not logged one by one)"
    )
    assert messages[5].startswith("refused P2P connection from 10.0.0.1:9")
    assert rejections.statistics() == {"NET_TLS_FAILED": 9, "NET_BAD_HELLO": 1}


@pytest.mark.slow
def test_a_node_process_logs_refusals_to_its_log_file(tmp_path: Path, foreign: Path) -> None:
    """The real node (uvloop, its own logging set-up): a flood of 300 and a stranger's
    certificate leave at most the burst per reason in node.log, then a summary at stop."""
    attempts = 300
    with live_network(tmp_path, validators=2) as net:
        net.wait_height(0, 1)
        config = NodeHome(net.home(0)).load_config()
        host, port = config.p2p_host, config.p2p_port
        stranger = client_context(foreign, trust=net.home(0))

        async def flood() -> None:
            gate = asyncio.Semaphore(50)

            async def one() -> None:
                async with gate:
                    await garbage(host, port, b"\x16\x03\x01\x00\x05hello")

            await asyncio.gather(*(one() for _ in range(attempts)))

        asyncio.run(tls_client(host, port, stranger))
        log_file = net.home(0) / "node.log"
        deadline = time.monotonic() + 30
        while "certificate verify failed" not in log_file.read_text(errors="replace"):
            assert time.monotonic() < deadline, "no refusal of the stranger in node.log"
            time.sleep(0.1)
        asyncio.run(flood())
        assert net.height(0) >= 1  # still serving
    lines = [
        line
        for line in log_file.read_text(errors="replace").splitlines()
        if "refused " in line and "P2P connection" in line
    ]
    one_by_one = [line for line in lines if "refused P2P connection from " in line]
    assert len(one_by_one) == REJECT_LOG_BURST, lines
    summary = [line for line in lines if "more P2P connections [NET_TLS_FAILED]" in line]
    assert len(summary) == 1 and f"refused {attempts + 1 - REJECT_LOG_BURST} more" in summary[0]
