"""Applies committed blocks to the ledger and state, one LMDB transaction per block.

Runs on its own thread so consensus never waits for execution. For each
committed block, in one durable write transaction: append the block and its
certificate, execute its transactions, apply the state changes as version
``height``, store receipts and the execution roots. A node killed at any
instant restarts with every block either fully applied or absent
([NODE-DURABLE.1]); absent ones are re-committed from consensus storage or
peers.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import lmdb

from consortia.codec import U64, Canonical, Hash32, decode, encode
from consortia.consensus.blocktree import CommittedBlock
from consortia.execution.epochs import enter_epoch
from consortia.execution.executor import Runtime, execute_block
from consortia.execution.module import BlockContext
from consortia.execution.policy import POLICY_KEY, ChainPolicy
from consortia.execution.state_view import StateView
from consortia.genesis import Genesis, assemble_genesis_block, genesis_qc, genesis_state
from consortia.ledger.merkle import merkle_root
from consortia.ledger.store import BlockStore
from consortia.ledger.types import (
    Block,
    EpochStart,
    Hasher,
    Receipt,
    ethereum_hash,
    receipt_leaf,
    tx_id,
)
from consortia.state import StateTree

log = logging.getLogger(__name__)


class ExecutionRoots(Canonical, frozen=True):
    """Roots of one executed height, and the first block that certifies them."""

    state_root: Hash32
    receipts_root: Hash32


class CertifiedBy(Canonical, frozen=True):
    """Height of the first block whose header commits to a state version."""

    height: U64


PRUNE_EVERY: Final = 100
"""With a retention policy, old state versions are pruned every this many blocks."""


def _roots_key(height: int) -> bytes:
    return b"exec/roots/" + height.to_bytes(8, "big")


def _certified_key(version: int) -> bytes:
    return b"exec/certified/" + version.to_bytes(8, "big")


def read_roots(store: BlockStore, txn: lmdb.Transaction, height: int) -> ExecutionRoots | None:
    """Execution roots of ``height`` if executed."""
    raw = store.get_meta(txn, _roots_key(height))
    return None if raw is None else decode(raw, ExecutionRoots)


def read_certifying_height(store: BlockStore, txn: lmdb.Transaction, version: int) -> int | None:
    """Height of the first block whose header carries the state root of ``version``."""
    raw = store.get_meta(txn, _certified_key(version))
    return None if raw is None else decode(raw, CertifiedBy).height


def record_roots(
    store: BlockStore, txn: lmdb.Transaction, height: int, roots: ExecutionRoots, state_height: int
) -> None:
    """Store the execution roots of ``height`` (whose header names ``state_height``)."""
    store.put_meta(txn, _roots_key(height), encode(roots))
    if store.get_meta(txn, _certified_key(state_height)) is None:
        store.put_meta(txn, _certified_key(state_height), encode(CertifiedBy(height)))


def install_genesis(
    env: lmdb.Environment, store: BlockStore, tree: StateTree, genesis: Genesis, runtime: Runtime
) -> tuple[Block, bytes]:
    """Write the genesis state, block, certificate and execution roots into a fresh store.

    The state goes in batches of write transactions (a million-account genesis
    would otherwise hold all its pages in one), the block and its records in
    a last one: until this returns, the store holds no block, and if it does
    not return, ``env`` must be discarded (see ``StateTree.load``).

    Raises:
        InvalidGenesis: see ``validate_genesis``.
    """
    with env.begin() as txn:
        changes = genesis_state(genesis, runtime, tree, txn)
    root = tree.load(env, 0, changes)
    del changes  # a large genesis's writes: let them go before the last transaction
    block, bid = assemble_genesis_block(genesis, root)
    with env.begin(write=True) as txn:
        store.append_block(txn, block, bid, [])
        store.put_certificate(txn, genesis_qc(bid, genesis.validators.epoch))
        store.put_epoch(txn, genesis_epoch(genesis, bid))
        roots = ExecutionRoots(state_root=root, receipts_root=block.header.receipts_root)
        record_roots(store, txn, 0, roots, 0)
    return block, bid


def genesis_epoch(genesis: Genesis, genesis_id: bytes) -> EpochStart:
    """Epoch 0: the genesis validators, rooted at the genesis block."""
    return EpochStart(
        epoch=genesis.validators.epoch,
        validators=genesis.validators,
        root_height=0,
        root_id=genesis_id,
    )


def next_epoch_start(committed: CommittedBlock) -> EpochStart:
    """The epoch an epoch-ending block opens, with the proof that it is committed."""
    header = committed.block.header
    assert header.next_validators is not None and committed.commit_proof is not None, (
        "an epoch-ending block is executed only with its commit proof"
    )
    return EpochStart(
        epoch=header.next_validators.epoch,
        validators=header.next_validators,
        root_height=header.height,
        root_id=committed.block_id,
        proof=committed.commit_proof,
    )


@dataclass(frozen=True, slots=True)
class Executed:
    """A block that is now durable and executed."""

    committed: CommittedBlock
    receipts: tuple[Receipt, ...]
    state_root: bytes


def apply_block(
    env: lmdb.Environment,
    store: BlockStore,
    tree: StateTree,
    runtime: Runtime,
    hash_fn: Hasher,
    committed: CommittedBlock,
) -> Executed:
    """Durably append and execute one committed block (one write transaction)."""
    block = committed.block
    header = block.header
    height = header.height
    encoded = [encode(tx) for tx in block.transactions]
    ids = [tx_id(hash_fn, tx.body) for tx in block.transactions]
    with env.begin(write=True) as txn:
        repeats = store.repeated_positions(txn, ids)
        aliases = {
            i: alias
            for i, tx in enumerate(block.transactions)
            if (alias := ethereum_hash(tx)) is not None and i not in repeats
        }
        store.append_block(txn, block, committed.block_id, ids, repeats=repeats, aliases=aliases)
        store.put_certificate(txn, committed.certificate)
        if header.next_validators is not None:
            store.put_epoch(txn, next_epoch_start(committed))
        view = StateView(tree, txn, height - 1)
        enter_epoch(view, header.epoch)
        policy = view.get_struct(POLICY_KEY, ChainPolicy)
        assert policy is not None, "genesis writes the chain policy"
        context = BlockContext(
            chain_id=header.chain_id,
            height=height,
            timestamp_ms=header.timestamp_ms,
            proposer=header.proposer,
        )
        outcomes = execute_block(
            runtime,
            view,
            policy,
            context,
            [
                (tx, i, len(raw))
                for tx, i, raw in zip(block.transactions, ids, encoded, strict=True)
            ],
            repeats,
        )
        state_root = tree.apply(txn, height, view.changes())
        if policy.retention_blocks and height % PRUNE_EVERY == 0:
            keep_from = height - policy.retention_blocks
            oldest = tree.oldest_version(txn)
            if oldest is not None and keep_from > oldest:
                tree.prune(txn, keep_from)
        receipts = tuple(o.receipt for o in outcomes)
        store.put_receipts(txn, height, receipts, [o.touched for o in outcomes])
        receipts_root = merkle_root(hash_fn, [receipt_leaf(hash_fn, r) for r in receipts])
        record_roots(
            store,
            txn,
            height,
            ExecutionRoots(state_root=state_root, receipts_root=receipts_root),
            header.state_height,
        )
    return Executed(committed=committed, receipts=receipts, state_root=state_root)


class ExecutionService:
    """A worker thread applying committed blocks in order."""

    def __init__(
        self,
        *,
        env: lmdb.Environment,
        store: BlockStore,
        tree: StateTree,
        runtime: Runtime,
        hash_fn: Hasher,
        executed_height: int,
    ) -> None:
        self._env = env
        self._store = store
        self._tree = tree
        self._runtime = runtime
        self._hash = hash_fn
        self.on_executed: Callable[[Executed], None] = lambda executed: None
        """Called on the worker thread after each block (set by the composition root)."""
        self.on_failed: Callable[[BaseException], None] = lambda exc: None
        """Called on the worker thread when a block cannot be executed (the node stops)."""
        self._queue: queue.Queue[CommittedBlock | None] = queue.Queue()
        self._backlog: list[CommittedBlock] = []
        self._lock = threading.Lock()
        self.executed_height = executed_height
        self._thread = threading.Thread(target=self._run, name="execution", daemon=True)
        self.failure: BaseException | None = None

    def start(self) -> None:
        """Start the worker."""
        self._thread.start()

    def stop(self) -> None:
        """Finish queued blocks and stop (idempotent)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def submit(self, blocks: Sequence[CommittedBlock]) -> None:
        """Queue newly committed blocks (in height order)."""
        with self._lock:
            for committed in blocks:
                if committed.block.header.height <= self.executed_height:
                    continue
                if (
                    self._backlog
                    and committed.block.header.height <= self._backlog[-1].block.header.height
                ):
                    continue
                self._backlog.append(committed)
                self._queue.put(committed)

    def backlog(self) -> list[CommittedBlock]:
        """Committed blocks not yet executed (snapshot)."""
        with self._lock:
            return list(self._backlog)

    def _run(self) -> None:
        while True:
            committed = self._queue.get()
            if committed is None:
                return
            try:
                executed = apply_block(
                    self._env, self._store, self._tree, self._runtime, self._hash, committed
                )
            except BaseException as exc:  # a failed block stops the node, never skips
                log.exception("execution of block %d failed", committed.block.header.height)
                self.failure = exc
                self.on_failed(exc)
                return
            with self._lock:
                self.executed_height = committed.block.header.height
                self._backlog.pop(0)
            self.on_executed(executed)
