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

import asyncio
import collections
import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from typing import Protocol

import lmdb

from consortia.consensus.blocktree import CommittedBlock
from consortia.execution.executor import Runtime
from consortia.execution.transition import Executed, apply_block
from consortia.ledger.store import BlockStore
from consortia.ledger.types import Hasher
from consortia.state import StateTree

log = logging.getLogger(__name__)


class ExecutionResults(Protocol):
    """Where the execution thread reports each block's outcome (called on that thread)."""

    def executed(self, executed: Executed) -> None:
        """A block was applied and is durable."""
        ...

    def failed(self, exc: BaseException) -> None:
        """A committed block cannot be applied: execution has stopped for good."""
        ...


class ResultsToLoop:
    """:class:`ExecutionResults` carried from the execution thread to the event loop, in order.

    The thread appends; the loop's reader (:meth:`next`) takes them one at a
    time. Built before the thread and the loop exist, so neither the service
    nor its reader needs the other at construction.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: collections.deque[Executed | BaseException] = collections.deque()
        self._wake: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    def executed(self, executed: Executed) -> None:
        """Queue a result for the loop (execution thread)."""
        self._put(executed)

    def failed(self, exc: BaseException) -> None:
        """Queue the failure for the loop, which raises it (execution thread)."""
        self._put(exc)

    def _put(self, item: Executed | BaseException) -> None:
        with self._lock:
            self._items.append(item)
            wake = self._wake
        if wake is not None:
            loop, ready = wake
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to wake
                loop.call_soon_threadsafe(ready.set)

    async def next(self) -> Executed:
        """The next executed block, in height order; raises the execution's failure."""
        if self._wake is None:
            with self._lock:
                self._wake = (asyncio.get_running_loop(), asyncio.Event())
        ready = self._wake[1]
        while True:
            ready.clear()
            with self._lock:
                item = self._items.popleft() if self._items else None
            if isinstance(item, BaseException):
                raise item
            if item is not None:
                return item
            await ready.wait()


class ExecutedHeights:
    """Waits on the event loop for a height to be executed (and its result handled)."""

    def __init__(self, height: int) -> None:
        self.height = height
        """The highest height whose result the loop has handled."""
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    async def wait(self, height: int, timeout_s: float) -> bool:
        """True once ``height`` is executed locally, False after ``timeout_s``."""
        if self.height >= height:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((height, future))
        try:
            await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            return False
        return True

    def reached(self, height: int) -> None:
        """``height`` is executed: wake its waiters and those of lower heights."""
        self.height = height
        still_waiting = []
        for wanted, future in self._waiters:
            if wanted <= height:
                if not future.done():
                    future.set_result(None)
            else:
                still_waiting.append((wanted, future))
        self._waiters = still_waiting


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
        results: ExecutionResults,
    ) -> None:
        self._env = env
        self._store = store
        self._tree = tree
        self._runtime = runtime
        self._hash = hash_fn
        self._results = results
        """Told of each block's outcome, on the worker thread; a failure stops the node."""
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
                self._results.failed(exc)
                return
            with self._lock:
                self.executed_height = committed.block.header.height
                self._backlog.pop(0)
            self._results.executed(executed)
