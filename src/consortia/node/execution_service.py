"""Applies committed blocks to the ledger and state, one LMDB transaction per block.

Runs on its own thread so consensus never waits for execution. For each
committed block, in one durable write transaction: append the block and its
certificate, execute its transactions, apply the state changes as version
``height``, store receipts and the execution roots. A node killed at any
instant restarts with every block either fully applied or absent
([NODE-DURABLE.1]); absent ones are re-committed from consensus storage or
peers.

The block transition itself lives in :mod:`consortia.execution.transition`,
shared with the verifier (and bound to a genesis file by
:func:`consortia.genesis.install_genesis`); this module runs it on a thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence

import lmdb

from consortia.consensus.blocktree import CommittedBlock
from consortia.execution.executor import Runtime
from consortia.execution.transition import Executed, apply_block
from consortia.ledger.store import BlockStore
from consortia.ledger.types import Hasher
from consortia.state import StateTree

log = logging.getLogger(__name__)


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
