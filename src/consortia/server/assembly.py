"""The composition root: builds a running node from its home directory.

This is the one place that wires the layers together (DESIGN.md §1):
ledger and state on one LMDB environment, consensus storage on another, the
execution thread, the mempool, the consensus core and its driver, the peer
links, the API. Each part is built with its collaborators, in dependency
order; where two parts need each other, a small object built first carries
between them (the epoch gate, the execution results, the peer inbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import lmdb
import msgspec
import uvicorn

from consortia.api import create_app
from consortia.api.rpc import MAX_REQUEST_BYTES
from consortia.consensus.blocktree import BlockTree, CommittedBlock
from consortia.consensus.core import Commit
from consortia.consensus.pacemaker import PacemakerConfig
from consortia.consensus.storage import ConsensusStorage
from consortia.crypto import PrivateKey, get_suite
from consortia.errors import NodeError
from consortia.execution.executor import Runtime
from consortia.execution.transition import Executed
from consortia.genesis import Genesis, install_genesis, runtime_for
from consortia.ledger.store import BlockStore
from consortia.ledger.types import Hasher, block_id
from consortia.mempool import Mempool, MempoolConfig
from consortia.mempool.journal import MempoolJournal
from consortia.network.certs import TlsFiles
from consortia.network.transport import P2PNetwork
from consortia.node.config import LEDGER_MAP_SIZE, ConfigError, NodeConfig, NodeHome
from consortia.node.driver import ConsensusDriver, LocalNetwork
from consortia.node.epochs import CoreFactory, EpochGate
from consortia.node.events import EventBus, block_events
from consortia.node.execution_service import ExecutedHeights, ExecutionService, ResultsToLoop
from consortia.node.genesis_file import load_genesis
from consortia.node.membership import Membership, dial_targets, org_ca_pems
from consortia.node.proposals import BlockProposer, ProposalChecker
from consortia.node.read_pool import CallLimits, CallPool
from consortia.node.reader import LedgerReader
from consortia.node.router import Inbox, PeerLinks, Router
from consortia.node.service import NodeService
from consortia.server.supervisor import Supervisor
from consortia.state import StateTree

log = logging.getLogger(__name__)


class ApiUnavailable(NodeError):
    """The API server could not start (its address is taken or not this host's)."""

    code = "NODE_API_UNAVAILABLE"


API_SHUTDOWN_GRACE_S = 2
"""How long a stopping node lets API clients finish before it closes their connections."""


async def _shut_down(server: uvicorn.Server) -> None:
    """uvicorn's graceful shutdown, then close whatever a client kept open past it."""
    await server.shutdown()
    for connection in list(server.server_state.connections):
        transport = getattr(connection, "transport", None)
        if isinstance(transport, asyncio.BaseTransport):
            transport.close()


def _nobody(raws: list[bytes]) -> None:
    """Where admitted transactions go on a node without peers: nowhere."""


def _open_ledger(path: Path) -> lmdb.Environment:
    return lmdb.open(str(path), max_dbs=32, map_size=LEDGER_MAP_SIZE)


def _holds_genesis(ledger: Path) -> bool:
    if not (ledger / "data.mdb").exists():
        return False
    env = _open_ledger(ledger)
    try:
        store = BlockStore(env)
        with env.begin() as txn:
            return store.latest_height(txn) is not None
    finally:
        env.close()


def _install_genesis_once(
    home: NodeHome, genesis: Genesis, runtime: Runtime, hash_fn: Hasher
) -> None:
    """Write the genesis into a ledger that holds none.

    The install writes a staging directory that becomes the ledger, by an
    atomic rename, only when complete: a crash part-way leaves no partial
    ledger, and the next start begins again. Its environment is closed
    afterwards (LMDB keeps a write transaction's page buffers until then).
    """
    ledger = home.ledger_dir
    if _holds_genesis(ledger):
        return
    staging = ledger.with_name(ledger.name + ".installing")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    env = _open_ledger(staging)
    try:
        install_genesis(env, BlockStore(env), StateTree(env, hash_fn), genesis, runtime)
    finally:
        env.close()
    if ledger.exists():
        shutil.rmtree(ledger)  # holds no block: an install that an older release left unfinished
    staging.replace(ledger)
    directory = os.open(ledger.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # make the rename durable
    finally:
        os.close(directory)


@dataclass
class PeerParts:
    """The parts of a node that talk to other members (absent on a lone validator)."""

    p2p: P2PNetwork
    links: PeerLinks
    router: Router
    members: Membership


@dataclass
class Node:
    """A node's parts, each built with its collaborators; :meth:`run` serves until cancelled."""

    home: NodeHome
    config: NodeConfig
    genesis: Genesis
    env: lmdb.Environment
    consensus_storage: ConsensusStorage
    service: NodeService
    driver: ConsensusDriver
    execution: ExecutionService
    reader: LedgerReader
    key: PrivateKey
    """This node's key: its identity on the network, and its vote when a validator."""
    cores: CoreFactory = field(repr=False)
    gate: EpochGate = field(repr=False)
    """Passes commits to execution up to the end of the running epoch."""
    results: ResultsToLoop = field(repr=False)
    """Executed blocks (and a failure), from the execution thread to the loop."""
    heights: ExecutedHeights = field(repr=False)
    """Heights whose results the loop has handled (the router waits on these)."""
    supervisor: Supervisor = field(repr=False)
    """Owns every background task of :meth:`run`, dialers included."""
    peers: PeerParts | None = field(default=None, repr=False)
    _closed: bool = field(default=False, init=False, repr=False)

    @classmethod
    def open(cls, root: Path) -> Node:
        """Open (or initialise from genesis) the node at ``root`` and recover its state."""
        home = NodeHome(root)
        config = home.load_config()
        genesis = load_genesis(home)
        if config.chain_id != genesis.chain_id:
            raise ConfigError(
                f"node.toml chain_id {config.chain_id!r} differs from genesis {genesis.chain_id!r}"
            )
        suite = get_suite(genesis.suite)
        hash_fn = suite.hash
        runtime = runtime_for(genesis)
        _install_genesis_once(home, genesis, runtime, hash_fn)
        # Only the genesis block's fields are needed from here on: drop the accounts,
        # which a large genesis (a million of them) would otherwise keep in memory.
        genesis = msgspec.structs.replace(genesis, accounts=())
        gc.collect()  # and give back the install's freed objects (free lists pin arenas)
        env = _open_ledger(home.ledger_dir)
        store = BlockStore(env)
        tree = StateTree(env, hash_fn)
        with env.begin() as txn:
            height = store.latest_height(txn)
            assert height is not None
        try:
            key = PrivateKey.from_pem(home.validator_key.read_bytes())
        except FileNotFoundError:
            raise ConfigError(f"no node key at {home.validator_key}") from None
        if key.key_type is not suite.consensus_key_type:
            raise ConfigError(
                f"{home.validator_key} is a {key.key_type.value} key; "
                f"the {genesis.suite} suite needs {suite.consensus_key_type.value}"
            )
        consensus_storage = ConsensusStorage(home.consensus_dir)
        reader = LedgerReader(env, store, tree)
        mempool = Mempool(
            chain_id=genesis.chain_id,
            policy=genesis.policy,
            hash_fn=hash_fn,
            config=MempoolConfig(
                max_txs=config.mempool_max_txs,
                max_bytes=config.mempool_max_mib * 1024 * 1024,
                nonce_gap_timeout_blocks=config.mempool_gap_timeout_blocks,
            ),
        )
        results = ResultsToLoop()
        execution = ExecutionService(
            env=env,
            store=store,
            tree=tree,
            runtime=runtime,
            hash_fn=hash_fn,
            executed_height=height,
            results=results,
        )
        checker = ProposalChecker(
            hash_fn=hash_fn,
            mempool=mempool,
            reader=reader,
            max_clock_skew_ms=config.max_clock_skew_ms,
        )

        def new_proposer(epoch: int, me: int, tree: BlockTree) -> BlockProposer:
            return BlockProposer(
                chain_id=genesis.chain_id,
                epoch=epoch,
                me=me,
                hash_fn=hash_fn,
                tree=tree,
                mempool=mempool,
                reader=reader,
                execution=execution,
                min_interval_ms=config.min_block_interval_ms,
                idle_interval_ms=config.idle_block_interval_ms,
            )

        cores = CoreFactory(
            env=env,
            store=store,
            chain_id=genesis.chain_id,
            hash_fn=hash_fn,
            key=key,
            storage=consensus_storage,
            checker=checker,
            new_proposer=new_proposer,
            pacemaker=PacemakerConfig(base_timeout_s=config.base_timeout_ms / 1000),
        )
        core = cores.core_for_tip()
        gate = EpochGate(execution.submit, core.committee.epoch)
        supervisor = Supervisor()
        heights = ExecutedHeights(height)
        calls = CallPool(
            home.ledger_dir,
            genesis.suite,
            CallLimits(
                workers=config.evm_call_workers,
                queue=config.evm_call_queue,
                gas_cap=config.evm_call_gas_cap,
                timeout_s=config.evm_call_timeout_ms / 1000,
                idle_priority=config.evm_call_priority == "idle",
                client_rate=config.evm_call_client_rate,
                client_in_flight=config.evm_call_client_in_flight,
            ),
            clear_stale_readers=env.reader_check,
        )
        networked = bool(config.peers) or core.committee.size > 1 or core.me is None
        inbox = Inbox()
        links: PeerLinks | None = None
        members: Membership | None = None
        if networked:
            tls = TlsFiles(home.root)
            members = Membership(lambda: org_ca_pems(reader), tls.ca_bundle)
            admit = members.admit
            p2p = P2PNetwork(
                node_name=config.name,
                chain_id=genesis.chain_id,
                genesis_id=core.committee.genesis_id,
                key_type=suite.consensus_key_type,
                identity=key,
                tls=tls,
                listen=(config.p2p_host, config.p2p_port),
                handler=inbox.handle,
                on_connect=inbox.connected,
                spawn=supervisor.spawn,
                admit=lambda _key, cert_der: admit(cert_der),
            )
            p2p.trust(members.ca_pems())
            links = PeerLinks(p2p, core.committee)
        driver = ConsensusDriver(
            core,
            links if links is not None else LocalNetwork(),
            gate,
            tick_s=max(config.min_block_interval_ms, 10) / 1000,
        )
        service = NodeService(
            name=config.name,
            chain_id=genesis.chain_id,
            suite=genesis.suite,
            genesis_file=home.genesis_file,
            reader=reader,
            mempool=mempool,
            driver=driver,
            events=EventBus(),
            on_new_transactions=driver.poke,
            runtime=runtime,
            journal=MempoolJournal(home.mempool_journal) if config.mempool_journal else None,
            on_admitted=links.gossip if links is not None else _nobody,
            peer_stats=links.p2p.stats if links is not None else dict,
            dropped=inbox.dropped,
            calls=calls,
        )
        peers = None
        if links is not None:
            assert members is not None
            router = Router(
                driver=driver,
                links=links,
                inbox=inbox,
                reader=reader,
                hash_fn=hash_fn,
                wait_executed=heights.wait,
                admit_gossip=lambda raws: service.submit_many(raws, gossip=False),
                execution_wait_s=config.base_timeout_ms / 1000,
            )
            peers = PeerParts(p2p=links.p2p, links=links, router=router, members=members)
        node = cls(
            home=home,
            config=config,
            genesis=genesis,
            env=env,
            consensus_storage=consensus_storage,
            service=service,
            driver=driver,
            execution=execution,
            reader=reader,
            key=key,
            cores=cores,
            gate=gate,
            results=results,
            heights=heights,
            supervisor=supervisor,
            peers=peers,
        )
        node._update_peers()
        node._recover_pending()
        return node

    # ------------------------------------------------------------------ epochs

    @property
    def genesis_id(self) -> bytes:
        """Id of the genesis block."""
        return self.driver.core.committee.genesis_id

    def _enter_next_epoch(self) -> None:
        """The epoch-ending block is executed: hand consensus to the next validator set."""
        evidence = self.driver.core.evidence
        self.consensus_storage.reset()
        core = self.cores.core_for_tip(evidence)
        log.info(
            "entering epoch %d with %d validators (this node: %s)",
            core.committee.epoch,
            core.committee.size,
            f"validator {core.me}" if core.me is not None else "observer",
        )
        self.gate.enter(core.committee.epoch)
        self.driver.switch(core)
        if self.peers is not None:
            self.peers.router.new_epoch()
            self._update_peers()

    # ----------------------------------------------------------------- network

    def _update_peers(self) -> None:
        """Dial the peers this node is responsible for in the current epoch."""
        if self.peers is not None:
            self.peers.p2p.set_targets(
                dial_targets(self.config, self.driver.core.committee, self.driver.core.me)
            )

    async def wait_executed(self, height: int, timeout_s: float) -> bool:
        """True once ``height`` is executed locally, False after ``timeout_s``."""
        return await self.heights.wait(height, timeout_s)

    # ---------------------------------------------------------------- recovery

    def _recover_pending(self) -> None:
        """Re-insert stored uncommitted blocks and certificates; re-commit what they commit."""
        core = self.driver.core
        tree = core.tree
        blocks, highest_qc, highest_tc = self.consensus_storage.load()
        epoch = core.committee.epoch
        blocks = [b for b in blocks if b.header.epoch == epoch]
        if highest_qc is not None and highest_qc.epoch != epoch:
            highest_qc = None
        if highest_tc is not None and highest_tc.epoch != epoch:
            highest_tc = None
        root_height = tree.root.header.height
        hash_fn = get_suite(self.genesis.suite).hash
        recommitted: list[CommittedBlock] = []
        for block in sorted(blocks, key=lambda b: b.header.height):
            if block.header.height <= root_height:
                continue
            bid = block_id(hash_fn, block.header)
            if block.header.parent_id not in tree:
                continue
            tree.insert_block(block, bid)
            if block.header.justify.block_id in tree:
                recommitted += tree.insert_qc(block.header.justify)
        if highest_qc is not None and highest_qc.block_id in tree:
            recommitted += tree.insert_qc(highest_qc)
        if highest_tc is not None:
            tree.insert_tc(highest_tc)
        stale = [block_id(hash_fn, b.header) for b in blocks if b.header.height <= root_height]
        self.consensus_storage.prune_blocks(stale)
        if recommitted:
            log.info("recovered %d committed blocks from consensus storage", len(recommitted))
            self.gate(Commit(tuple(recommitted)))

    # ---------------------------------------------------------------- running

    async def _follow_execution(self) -> None:
        """Handle each executed block on the loop; raise the execution's failure (a
        committed block that cannot be executed stops the node: it must never go on
        without that block's state)."""
        while True:
            self._executed_on_loop(await self.results.next())

    def _executed_on_loop(self, executed: Executed) -> None:
        block = executed.committed.block
        height = block.header.height
        service = self.service
        with service.reader.begin() as txn:
            service.mempool.remove_committed(
                block.transactions, service.reader.nonce_lookup(txn), height=height
            )
        service.mempool.evict_expired(height)
        ids = [receipt.tx_id for receipt in executed.receipts]
        service.notify_committed(ids)
        self.consensus_storage.prune_blocks([executed.committed.block_id])
        if block.header.next_validators is not None and self.gate.ended:
            self._enter_next_epoch()
        if self.peers is not None and any(
            tx.body.module == "governance" for tx in block.transactions
        ):
            # Governance may have admitted an organisation: trust its CA from now on.
            self.peers.p2p.trust(self.peers.members.ca_pems())
        self.heights.reached(height)
        if service.events.subscriber_count:
            service.events.publish(block_events(executed))
        self.driver.poke()

    async def run(self, *, serve_api: bool = True) -> None:
        """Run consensus, execution and the API until cancelled, then close cleanly.

        Raises:
            BackgroundTaskFailed: a background task died (logged with its
                traceback); the others were stopped and storage closed.
        """
        self.home.pid_file.write_text(f"{os.getpid()}\n")
        self.execution.start()
        try:
            async with self.supervisor as tasks:
                tasks.spawn(self.driver.run(), name="consensus")
                tasks.spawn(self._follow_execution(), name="execution")
                if self.peers is not None:
                    await self.peers.p2p.start()
                    tasks.spawn(self.peers.router.run(), name="network")
                await self.service.replay_journal()  # before clients: what a 202 promised
                if serve_api:
                    assert self.service.calls is not None
                    self.service.calls.start()  # open for the API (workers spawn on the first)
                    tasks.spawn(self._serve_api(), name="api")
        finally:
            if self.peers is not None:
                await self.peers.p2p.close()
            self.close()

    async def _serve_api(self) -> None:
        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield  # the node's runner owns signals

        server = Server(
            uvicorn.Config(
                create_app(self.service),
                host=self.config.api_host,
                port=self.config.api_port,
                log_level="warning",
                lifespan="off",
                # Events are small JSON; compressing each costs more CPU than it saves
                # on the loopback and LAN links a node serves (profiled: 3.6%).
                ws_per_message_deflate=False,
                # uvicorn buffers a WebSocket frame whole before the app sees it (16 MiB
                # by default); cap it just above the largest frame /rpc answers itself.
                ws_max_size=MAX_REQUEST_BYTES + 64 * 1024,
                timeout_graceful_shutdown=API_SHUTDOWN_GRACE_S,
            )
        )
        try:
            await server.serve()
        except SystemExit:  # uvicorn's answer to a port it cannot bind (logged by it)
            host, port = self.config.api_host, self.config.api_port
            raise ApiUnavailable(f"the API cannot serve on {host}:{port}") from None
        except asyncio.CancelledError:
            server.should_exit = True
            # Run's cleanup cancels this task again; a shutdown cut short would leave
            # clients' connections open past the loop (a WebSocket client that never
            # answers the close, a request still in flight), so it runs to the end.
            closing = asyncio.ensure_future(_shut_down(server))
            while not closing.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(closing)
            raise

    def close(self) -> None:
        """Stop execution and close storage (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.service.calls is not None:
            self.service.calls.close()
        self.execution.stop()
        self.service.close_journal()
        self.consensus_storage.close()
        self.env.close()
        self.home.pid_file.unlink(missing_ok=True)
