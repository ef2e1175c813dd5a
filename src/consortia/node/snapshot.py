"""Starting a node from a peer's state snapshot instead of replaying from genesis.

[NET-SNAPSHOT.1]: the new node asks its peers for an offer: a committed base
block at height v with its QC, and a later certified block whose header
carries ``state_height = v`` and the state root of v. It checks both QCs
against the genesis validator set, fetches every state entry of version v in
chunks, rebuilds its tree and commits only if the rebuilt root equals the
certified root. The store then holds genesis and the base block; consensus
fetches the blocks after v as usual. Nothing the serving peer says is
trusted beyond what the validators' signatures certify.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import tempfile
from pathlib import Path
from typing import TypeVar

import lmdb

from consortia.consensus.errors import ConsensusError, InvalidProposal
from consortia.consensus.validators import Committee
from consortia.crypto import PrivateKey, get_suite
from consortia.execution.transition import ExecutionRoots, genesis_epoch, record_roots
from consortia.genesis import Genesis, genesis_qc, install_genesis, runtime_for
from consortia.ledger.errors import BlockNotFound
from consortia.ledger.store import BlockStore
from consortia.ledger.types import Block, Hasher, block_id
from consortia.network.certs import TlsFiles
from consortia.network.messages import (
    MAX_SNAPSHOT_CHUNK,
    SnapshotChunk,
    SnapshotChunkRequest,
    SnapshotOffer,
    SnapshotOfferRequest,
    WireMessage,
)
from consortia.network.transport import P2PNetwork, PeerAddress, PeerKey
from consortia.node.config import LEDGER_MAP_SIZE, ConfigError, NodeConfig, NodeHome
from consortia.node.genesis_file import load_genesis
from consortia.node.reader import LedgerReader
from consortia.state import StateTree

log = logging.getLogger(__name__)

M = TypeVar("M")


def genesis_block(genesis: Genesis) -> tuple[Block, bytes]:
    """The genesis block and its id, computed in a scratch store."""
    with tempfile.TemporaryDirectory(prefix="consortia-genesis-") as tmp:
        env = lmdb.open(tmp, max_dbs=32, map_size=LEDGER_MAP_SIZE)
        try:
            tree = StateTree(env, get_suite(genesis.suite).hash)
            return install_genesis(env, BlockStore(env), tree, genesis, runtime_for(genesis))
        finally:
            env.close()


def offer(reader: LedgerReader, request_id: int) -> SnapshotOffer | None:
    """What this node can serve: its newest certified state version, if any."""
    latest = reader.block(reader.height())
    version = latest.block.header.state_height
    if version == 0 or latest.certificate is None:
        return None
    try:
        base = reader.block(version)
    except BlockNotFound:
        return None
    if base.certificate is None:
        return None
    return SnapshotOffer(
        request_id=request_id,
        base=base.block,
        base_qc=base.certificate,
        proof=latest.block,
        proof_qc=latest.certificate,
    )


def chunk(reader: LedgerReader, request: SnapshotChunkRequest) -> SnapshotChunk:
    """State entries answering ``request`` (at most MAX_SNAPSHOT_CHUNK)."""
    entries, next_start = reader.state_entries(
        request.version, request.start, min(request.limit, MAX_SNAPSHOT_CHUNK)
    )
    return SnapshotChunk(
        request_id=request.request_id,
        version=request.version,
        entries=tuple(entries),
        next_start=next_start,
    )


def check_offer(committee: Committee, hash_fn: Hasher, offer_: SnapshotOffer) -> None:
    """Raise ConsensusError unless the offer is certified by the validators."""
    base_id = block_id(hash_fn, offer_.base.header)
    proof_id = block_id(hash_fn, offer_.proof.header)
    if offer_.base_qc.block_id != base_id or offer_.proof_qc.block_id != proof_id:
        raise InvalidProposal("snapshot offer's certificates do not certify its blocks")
    if offer_.proof.header.state_height != offer_.base.header.height:
        raise InvalidProposal("snapshot proof block does not commit to the base state")
    committee.verify_qc(offer_.base_qc)
    committee.verify_qc(offer_.proof_qc)


async def sync_from_snapshot(root: Path, *, timeout_s: float = 120.0) -> int:
    """Fill the empty ledger of the node at ``root`` from a verified snapshot; returns v.

    Raises:
        ConfigError: no peer offered a verifiable snapshot in time, or the
            rebuilt state root differs from the certified one.
    """
    home = NodeHome(root)
    config: NodeConfig = home.load_config()
    genesis = load_genesis(home)
    suite = get_suite(genesis.suite)
    _, first_id = genesis_block(genesis)
    committee = Committee(genesis.chain_id, genesis.validators, first_id)
    inbox: asyncio.Queue[tuple[PeerKey, WireMessage]] = asyncio.Queue()
    connected: asyncio.Queue[PeerKey] = asyncio.Queue()
    async with asyncio.TaskGroup() as dialers:  # a dialer that dies ends the sync with it
        p2p = P2PNetwork(
            node_name=config.name,
            chain_id=genesis.chain_id,
            genesis_id=first_id,
            key_type=suite.consensus_key_type,
            identity=PrivateKey.from_pem(home.validator_key.read_bytes()),
            tls=TlsFiles(root),
            listen=(config.p2p_host, config.p2p_port),
            handler=lambda peer, message: inbox.put_nowait((peer, message)),
            on_connect=connected.put_nowait,
            spawn=dialers.create_task,
        )
        p2p.set_targets([PeerAddress(p.name, p.host, p.port) for p in config.peers])
        try:
            await p2p.start()
            return await _fetch_and_install(
                home, genesis, committee, p2p, inbox, connected, timeout_s
            )
        finally:
            await p2p.close()


async def _fetch_and_install(
    home: NodeHome,
    genesis: Genesis,
    committee: Committee,
    p2p: P2PNetwork,
    inbox: asyncio.Queue[tuple[PeerKey, WireMessage]],
    connected: asyncio.Queue[PeerKey],
    timeout_s: float,
) -> int:
    """Ask connected peers for a snapshot until one offers a verifiable one; install it."""
    suite = get_suite(genesis.suite)
    first_block, first_id = genesis_block(genesis)
    ids = itertools.count(1)
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                peer = await connected.get()
                p2p.send(peer, SnapshotOfferRequest(request_id=next(ids)))
                try:
                    offer_ = await asyncio.wait_for(_next(inbox, peer, SnapshotOffer), 2.0)
                except TimeoutError:  # nothing to offer yet (young chain): ask again later
                    asyncio.get_running_loop().call_later(1.0, connected.put_nowait, peer)
                    continue
                try:
                    check_offer(committee, suite.hash, offer_)
                except ConsensusError as exc:
                    log.warning("%s offered an unverifiable snapshot: %s", p2p.name_of(peer), exc)
                    continue
                entries = await _download(p2p, inbox, peer, offer_.base.header.height, ids)
                return _install(home, genesis, first_block, first_id, offer_, entries, suite.hash)
    except TimeoutError:
        raise ConfigError(f"no verifiable state snapshot within {timeout_s:g} s") from None


async def _next(
    inbox: asyncio.Queue[tuple[PeerKey, WireMessage]], peer: PeerKey, kind: type[M]
) -> M:
    while True:
        sender, message = await inbox.get()
        if sender == peer and isinstance(message, kind):
            return message


async def _download(
    p2p: P2PNetwork,
    inbox: asyncio.Queue[tuple[PeerKey, WireMessage]],
    peer: PeerKey,
    version: int,
    ids: itertools.count[int],
) -> dict[bytes, bytes]:
    entries: dict[bytes, bytes] = {}
    start: bytes | None = b""
    while start is not None:
        p2p.send(peer, SnapshotChunkRequest(next(ids), version, start, MAX_SNAPSHOT_CHUNK))
        piece = await _next(inbox, peer, SnapshotChunk)
        entries.update(piece.entries)
        start = piece.next_start
    return entries


def _install(
    home: NodeHome,
    genesis: Genesis,
    first_block: Block,
    first_id: bytes,
    offer_: SnapshotOffer,
    entries: dict[bytes, bytes],
    hash_fn: Hasher,
) -> int:
    version = offer_.base.header.height
    home.ledger_dir.mkdir(parents=True, exist_ok=True)
    env = lmdb.open(str(home.ledger_dir), max_dbs=32, map_size=LEDGER_MAP_SIZE)
    try:
        store, tree = BlockStore(env), StateTree(env, hash_fn)
        with env.begin(write=True) as txn:
            if store.latest_height(txn) is not None:
                raise ConfigError(f"{home.ledger_dir} is not empty; state sync starts a fresh node")
            root = tree.restore(txn, version, entries)
            if root != offer_.proof.header.state_root:
                txn.abort()
                raise ConfigError(
                    f"snapshot of height {version} rebuilds to another state root; refused"
                )
            store.append_block(txn, first_block, first_id, [])
            store.put_certificate(txn, genesis_qc(first_id, 0))
            store.put_epoch(txn, genesis_epoch(genesis.validators, first_id))
            store.install_base(txn, offer_.base, block_id(hash_fn, offer_.base.header))
            store.put_certificate(txn, offer_.base_qc)
            record_roots(
                store,
                txn,
                version,
                ExecutionRoots(state_root=root, receipts_root=offer_.proof.header.receipts_root),
                offer_.base.header.state_height,
            )
    finally:
        env.close()
    log.info(
        "state restored from a verified snapshot at height %d (%d keys)", version, len(entries)
    )
    return version
