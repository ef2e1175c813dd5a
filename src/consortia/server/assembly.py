"""The composition root: builds a running node from its home directory.

This is the one place that wires the layers together (DESIGN.md §1):
ledger and state on one LMDB environment, consensus storage on another, the
execution thread, the mempool, the consensus core and its driver, the API.
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
from typing import TYPE_CHECKING

import lmdb
import msgspec

from consortia.consensus.blocktree import BlockTree, CommittedBlock
from consortia.consensus.core import Commit
from consortia.consensus.pacemaker import PacemakerConfig
from consortia.consensus.storage import ConsensusStorage
from consortia.crypto import PrivateKey, get_suite
from consortia.execution.executor import Runtime
from consortia.execution.transition import Executed
from consortia.genesis import Genesis, default_runtime, install_genesis
from consortia.ledger.store import BlockStore
from consortia.ledger.types import Hasher, block_id
from consortia.mempool import Mempool, MempoolConfig
from consortia.mempool.journal import MempoolJournal
from consortia.network.certs import TlsFiles
from consortia.network.transport import P2PNetwork
from consortia.node.config import LEDGER_MAP_SIZE, ConfigError, NodeConfig, NodeHome
from consortia.node.driver import ConsensusDriver, LocalNetwork
from consortia.node.epochs import CoreFactory, cut_at_epoch_end
from consortia.node.events import EventBus, block_events
from consortia.node.execution_service import ExecutionService
from consortia.node.genesis_file import load_genesis
from consortia.node.membership import Membership, dial_targets, org_ca_pems
from consortia.node.proposals import BlockProposer, ProposalChecker
from consortia.node.read_pool import CallLimits, CallPool
from consortia.node.reader import LedgerReader
from consortia.node.router import Router
from consortia.node.service import NodeService
from consortia.state import StateTree

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)

API_SHUTDOWN_GRACE_S = 2
"""How long a stopping node lets API clients finish before it closes their connections."""


async def _shut_down(server: uvicorn.Server) -> None:
    """uvicorn's graceful shutdown, then close whatever a client kept open past it."""
    await server.shutdown()
    for connection in list(server.server_state.connections):
        transport = getattr(connection, "transport", None)
        if isinstance(transport, asyncio.BaseTransport):
            transport.close()


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
class Node:
    """A node's parts, wired; :meth:`run` serves until cancelled."""

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
    _loop: asyncio.AbstractEventLoop = field(init=False, repr=False)
    _main: asyncio.Task[None] = field(init=False, repr=False)
    _closed: bool = field(default=False, init=False, repr=False)
    _epoch_ended: bool = field(default=False, init=False, repr=False)
    """The current epoch's last block is committed; later commits of it are dropped."""
    _height_waiters: list[tuple[int, asyncio.Future[None]]] = field(
        default_factory=list, init=False, repr=False
    )
    router: Router | None = field(default=None, init=False, repr=False)
    _members: Membership = field(init=False, repr=False)

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
        runtime = default_runtime()
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
        execution = ExecutionService(
            env=env,
            store=store,
            tree=tree,
            runtime=runtime,
            hash_fn=hash_fn,
            executed_height=height,
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
        driver = ConsensusDriver(
            cores.core_for_tip(),
            LocalNetwork(),
            lambda commit: None,
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
        )
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
        )
        service.calls = CallPool(
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
        driver.on_commit = node._on_commit
        execution.on_executed = node.after_execution
        execution.on_failed = node.after_failure
        committee = driver.core.committee
        if config.peers or committee.size > 1 or driver.core.me is None:
            node._attach_network(hash_fn)
        node._recover_pending()
        return node

    # ------------------------------------------------------------------ epochs

    @property
    def genesis_id(self) -> bytes:
        """Id of the genesis block."""
        return self.driver.core.committee.genesis_id

    def _on_commit(self, commit: Commit) -> None:
        """Execute what consensus committed, up to the end of the epoch ([CONS-EPOCH.1])."""
        if self._epoch_ended:
            return
        blocks, self._epoch_ended = cut_at_epoch_end(
            commit.blocks, self.driver.core.committee.epoch
        )
        self.execution.submit(blocks)

    def _enter_next_epoch(self) -> None:
        """The epoch-ending block is executed: hand consensus to the next validator set."""
        old = self.driver.core
        self.consensus_storage.reset()
        core = self.cores.core_for_tip()
        core.evidence = old.evidence
        self._epoch_ended = False
        log.info(
            "entering epoch %d with %d validators (this node: %s)",
            core.committee.epoch,
            core.committee.size,
            f"validator {core.me}" if core.me is not None else "observer",
        )
        self.driver.switch(core)
        if self.router is not None:
            self.router.new_epoch()
            self._update_peers()

    # ----------------------------------------------------------------- network

    def _attach_network(self, hash_fn: Hasher) -> None:
        """Replace the local network by authenticated links to the other members."""
        config = self.config
        router = Router(
            driver=self.driver,
            reader=self.reader,
            hash_fn=hash_fn,
            wait_executed=self.wait_executed,
            admit_gossip=lambda raws: self.service.submit_many(raws, gossip=False),
            execution_wait_s=config.base_timeout_ms / 1000,
        )
        router.p2p = P2PNetwork(
            node_name=config.name,
            chain_id=self.genesis.chain_id,
            genesis_id=self.genesis_id,
            key_type=get_suite(self.genesis.suite).consensus_key_type,
            identity=self.key,
            tls=TlsFiles(self.home.root),
            listen=(config.p2p_host, config.p2p_port),
            handler=router.handle,
            on_connect=router.on_connect,
            admit=self._admit,
        )
        self._members = Membership(
            lambda: org_ca_pems(self.reader), TlsFiles(self.home.root).ca_bundle
        )
        self.driver.network = router
        self.service.on_admitted = router.gossip
        self.service.peer_stats = router.p2p.stats
        self.service.dropped = lambda: (router.dropped_gossip, router.dropped_inbound)
        self.router = router
        router.p2p.trust(self._members.ca_pems())
        self._update_peers()

    def _admit(self, key: bytes, cert_der: bytes) -> None:
        """Accept a peer whose certificate a member organisation's CA issued."""
        self._members.admit(cert_der)

    def _update_peers(self) -> None:
        """Dial the peers this node is responsible for in the current epoch."""
        assert self.router is not None and self.router.p2p is not None
        self.router.p2p.set_targets(
            dial_targets(self.config, self.driver.core.committee, self.driver.core.me)
        )

    async def wait_executed(self, height: int, timeout_s: float) -> bool:
        """True once ``height`` is executed locally, False after ``timeout_s``."""
        if self.execution.executed_height >= height:
            return True
        future: asyncio.Future[None] = self._loop.create_future()
        self._height_waiters.append((height, future))
        try:
            await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            return False
        return True

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
            self._on_commit(Commit(tuple(recommitted)))

    # ---------------------------------------------------------------- running

    def after_execution(self, executed: Executed) -> None:
        """Called on the execution thread; continue on the event loop."""
        self._loop.call_soon_threadsafe(self._executed_on_loop, executed)

    def after_failure(self, exc: BaseException) -> None:
        """Called on the execution thread: a committed block cannot be executed, so stop
        the node (it must never go on without that block's state)."""
        self._loop.call_soon_threadsafe(self._main.cancel)

    def _executed_on_loop(self, executed: Executed) -> None:
        if self._closed:
            return
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
        if block.header.next_validators is not None and self._epoch_ended:
            self._enter_next_epoch()
        if self.router is not None and any(
            tx.body.module == "governance" for tx in block.transactions
        ):
            self._refresh_members()
        still_waiting = []
        for wanted, future in self._height_waiters:
            if wanted <= height:
                if not future.done():
                    future.set_result(None)
            else:
                still_waiting.append((wanted, future))
        self._height_waiters = still_waiting
        if service.events.subscriber_count:
            service.events.publish(block_events(executed))
        self.driver.poke()

    def _refresh_members(self) -> None:
        """Governance may have admitted an organisation: trust its CA from now on."""
        assert self.router is not None and self.router.p2p is not None
        self.router.p2p.trust(self._members.ca_pems())

    async def run(self, *, serve_api: bool = True) -> None:
        """Run consensus, execution and the API until cancelled, then close cleanly."""
        self._loop = asyncio.get_running_loop()
        current = asyncio.current_task()
        assert current is not None
        self._main = current
        self.home.pid_file.write_text(f"{os.getpid()}\n")
        self.execution.start()
        tasks = [asyncio.create_task(self.driver.run(), name="consensus")]
        if self.router is not None and self.router.p2p is not None:
            await self.router.p2p.start()
            tasks.append(asyncio.create_task(self.router.run(), name="network"))
        try:
            await self.service.replay_journal()  # before clients: what a 202 promised
            if serve_api:
                assert self.service.calls is not None
                self.service.calls.start()  # open for the API's calls (workers spawn on the first)
                tasks.append(asyncio.create_task(self._serve_api(), name="api"))
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.router is not None and self.router.p2p is not None:
                await self.router.p2p.close()
            self.close()

    async def _serve_api(self) -> None:
        import uvicorn

        from consortia.api import create_app
        from consortia.api.rpc import MAX_REQUEST_BYTES

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
