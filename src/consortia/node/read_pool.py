"""EVM calls that change nothing (``eth_call``, ``eth_estimateGas``), off the consensus loop.

[NODE-READS.1] A call runs in one of a few worker processes, never on the
event loop that runs consensus, with a gas cap and a CPU-time budget from
``node.toml``; at most ``workers + queue`` calls are accepted at once.

Why processes and not threads: py-evm is pure Python, so a call on a thread
holds the GIL nearly all the time. Measured on the 2-core test machine with
two infinite-loop calls running: the event loop's 5 ms sleeps overran by
30 ms at the median and 163 ms at worst with two threads, against 1.8 ms /
32 ms with two worker processes at ``nice`` 10 (idle: 0.3 ms / 12 ms). The
workers run in Linux's ``SCHED_IDLE`` class (:func:`_yield_cpu`), so the
kernel runs them only on CPU time the node's own threads leave. A worker
starts (imports py-evm, opens the ledger) at normal priority and only then
drops to ``SCHED_IDLE``: on a saturated host an idle-class start took longer
than a client waits.

Each worker opens the node's ledger LMDB environment itself and reads the
committed world in a read transaction: a consistent snapshot at the height
asked for. The budget is the call's own CPU time (``ITIMER_PROF``), so what
stops a call is the work it does, not how busy the host is; a call starved
of CPU is stopped at :data:`WALL_CEILING_FACTOR` times the budget in wall
time (``ITIMER_REAL``). Either timer's signal raises :class:`_OutOfTime` (a
``BaseException``, so py-evm's handlers cannot swallow it) between two
bytecodes of the interpreter loop; the read transaction is aborted on the
way out.

Errors (each ``NodeError``, HTTP status for REST, -32005 over JSON-RPC)::

    NodeError
     └── ReadLimitError      READ_LIMIT            a read exceeded a limit of this node
          ├── CallTimedOut   READ_CALL_TIMEOUT     429 ran past its CPU budget (or the wall ceiling)
          ├── CallGasCapped  READ_CALL_GAS_CAP     429 ran out of gas at the node's cap
          ├── ReadPoolBusy   READ_POOL_BUSY        503 every worker busy and the queue full
          └── ReadPoolClosed READ_POOL_CLOSED      503 the pool is not running
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Final

from consortia.errors import NodeError

if TYPE_CHECKING:
    from consortia.evm.reader import CallResult, EvmReader
    from consortia.execution.module import BlockContext
    from consortia.execution.policy import ChainPolicy

log = logging.getLogger(__name__)

WORKER_NICE: Final = 19
"""Niceness of the workers where ``SCHED_IDLE`` is not available (the lowest priority)."""
PR_SET_PDEATHSIG: Final = 1
"""``prctl`` option: the signal this process gets when its parent dies (linux/prctl.h)."""
WALL_CEILING_FACTOR: Final = 10
"""A call waiting this many budgets of wall time for its CPU time is stopped all the same."""
STUCK_GRACE_S: Final = 30.0
"""A call not answered this long past the budgets ahead of it is stuck: its pool is
replaced. Covers a worker's start (py-evm imports) on a loaded host."""


class ReadLimitError(NodeError):
    """A read exceeded one of this node's limits; the request may be retried or narrowed."""

    code = "READ_LIMIT"
    http_status = 429


class CallTimedOut(ReadLimitError):
    """The call used up the node's CPU budget (or its wall ceiling) and was stopped."""

    code = "READ_CALL_TIMEOUT"


class CallGasCapped(ReadLimitError):
    """The call ran out of gas at the node's gas cap (it asked for more, or for none)."""

    code = "READ_CALL_GAS_CAP"


class ReadPoolBusy(ReadLimitError):
    """Every worker is busy and the queue of waiting calls is full."""

    code = "READ_POOL_BUSY"
    http_status = 503


class ReadPoolClosed(ReadLimitError):
    """The pool is not running (not started yet, or the node is stopping)."""

    code = "READ_POOL_CLOSED"
    http_status = 503


@dataclass(frozen=True, slots=True)
class CallLimits:
    """A node's limits on EVM calls (``evm_call_*`` in ``node.toml``)."""

    workers: int = 2
    """Worker processes."""
    queue: int = 16
    """Calls that may wait for a free worker."""
    gas_cap: int = 10_000_000
    """Most gas one call may burn."""
    timeout_s: float = 2.0
    """CPU-time budget of one call in its worker."""
    idle_priority: bool = True
    """Workers run calls in ``SCHED_IDLE`` (else at normal priority, for a read-serving node)."""
    wall_factor: float = WALL_CEILING_FACTOR
    """The wall-clock ceiling of one call, in budgets."""
    client_rate: float = 10.0
    """Calls per second one client may start (enforced by the API, per client)."""
    client_in_flight: int = 2
    """Calls of one client running or waiting at once (enforced by the API)."""


@dataclass(frozen=True, slots=True)
class CallRequest:
    """One message to run against the committed world at ``version`` (picklable)."""

    sender: bytes
    to: bytes
    """Callee address, or empty for a contract creation (``data`` is then init code)."""
    data: bytes
    gas: int
    """Gas the caller asks for; the pool lowers it to its cap."""
    version: int
    block: BlockContext
    policy: ChainPolicy


class Stopped(enum.Enum):
    """Why a worker stopped a call before it ended (what :func:`_run_call` returns then)."""

    CPU_BUDGET = "cpu_budget"
    WALL_CEILING = "wall_ceiling"


class PoolState(enum.Enum):
    """Lifetime of a :class:`CallPool`."""

    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class CallPoolStats:
    """A snapshot of the pool's counters."""

    accepted: int
    """Calls running or waiting now."""
    completed: int
    timed_out: int
    refused_busy: int
    restarts: int
    """Times the worker processes were replaced (a worker died or was stuck)."""


class CallPool:
    """A bounded pool of worker processes that run EVM calls ([NODE-READS.1]).

    Use :meth:`start` once, :meth:`call` from the event loop, and :meth:`close`
    (idempotent) when the node stops.
    """

    def __init__(
        self,
        ledger_dir: Path,
        suite: str,
        limits: CallLimits,
        *,
        clear_stale_readers: Callable[[], object] = lambda: None,
    ) -> None:
        """``clear_stale_readers``: the ledger environment's ``reader_check``, called after
        workers were killed mid-read (their LMDB reader slots would pin old pages)."""
        self.limits = limits
        self._clear_stale_readers = clear_stale_readers
        self._ledger_dir = ledger_dir
        self._suite = suite
        self._state = PoolState.UNOPENED
        self._executor: ProcessPoolExecutor | None = None
        self._accepted = 0
        self._completed = 0
        self._timed_out = 0
        self._refused_busy = 0
        self._restarts = 0

    @property
    def state(self) -> PoolState:
        """Where the pool is in its lifetime."""
        return self._state

    def start(self) -> None:
        """Open the pool; its workers are spawned by the first calls, not before.

        A node that serves no calls spends nothing on them; the first calls wait
        for their worker's start (it imports py-evm: a second or two of CPU).

        Raises:
            ReadPoolClosed: the pool was closed before.
        """
        if self._state is PoolState.CLOSED:
            raise ReadPoolClosed("the EVM call pool is closed")
        if self._state is PoolState.OPEN:
            return
        self._executor = self._new_executor()
        self._state = PoolState.OPEN

    def _new_executor(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            max_workers=self.limits.workers,
            # spawn, not fork: a forked child would inherit the node's open LMDB
            # environment and its threads' locks, which LMDB and Python forbid.
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(
                str(self._ledger_dir),
                self._suite,
                os.getpid(),
                self.limits.idle_priority,
            ),
        )
        return executor

    def stats(self) -> CallPoolStats:
        """The counters, now."""
        return CallPoolStats(
            accepted=self._accepted,
            completed=self._completed,
            timed_out=self._timed_out,
            refused_busy=self._refused_busy,
            restarts=self._restarts,
        )

    async def call(self, request: CallRequest) -> CallResult:
        """Run ``request`` in a worker, with the gas cap and the wall-clock budget.

        Returns:
            What the call did (its output, gas used, and error if it halted).

        Raises:
            ReadPoolClosed: the pool is not running.
            ReadPoolBusy: ``workers + queue`` calls are already accepted.
            CallTimedOut: the call used ``timeout_s`` of CPU time, or ran
                ``wall_factor`` times as long in wall time.
            CallGasCapped: the call ran out of gas at the cap, and it had asked for more.
        """
        executor = self._executor
        if self._state is not PoolState.OPEN or executor is None:
            raise ReadPoolClosed("this node is not serving EVM calls now (starting or stopping)")
        capacity = self.limits.workers + self.limits.queue
        if self._accepted >= capacity:
            self._refused_busy += 1
            raise ReadPoolBusy(
                f"all {self.limits.workers} EVM call workers are busy and "
                f"{self.limits.queue} calls are waiting; retry later"
            )
        gas = min(request.gas, self.limits.gas_cap)
        capped = gas < request.gas
        budget = self.limits.timeout_s
        ceiling = budget * self.limits.wall_factor
        self._accepted += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(
                executor, _run_call, replace(request, gas=gas), budget, ceiling
            )
            # The worker stops itself at its ceiling; this only catches a stuck one.
            # Waiting in the queue does not count against the budget.
            outcome = await asyncio.wait_for(
                future, ceiling * (self.limits.queue // self.limits.workers + 2) + STUCK_GRACE_S
            )
        except (BrokenProcessPool, TimeoutError):
            if self._executor is None:  # closed while the call ran
                raise ReadPoolClosed("the node stopped while the call ran") from None
            self._restart(executor)
            raise CallTimedOut(
                f"the call did not finish within {budget:g} s (its worker was replaced)"
            ) from None
        finally:
            self._accepted -= 1
        if isinstance(outcome, Stopped):
            self._timed_out += 1
            if outcome is Stopped.CPU_BUDGET:
                raise CallTimedOut(
                    f"the call used this node's budget of {budget:g} s of CPU time and was stopped"
                )
            raise CallTimedOut(
                f"the call waited {ceiling:g} s for CPU time (this node is saturated) and "
                f"was stopped before its budget of {budget:g} s of CPU time; retry later"
            )
        self._completed += 1
        if capped and outcome.out_of_gas:
            raise CallGasCapped(
                f"the call ran out of gas at this node's cap of {gas} "
                f"(asked for {request.gas}); the cap is evm_call_gas_cap in node.toml"
            )
        return outcome

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        """Replace the workers after one died or got stuck (calls in flight fail)."""
        if self._executor is not broken or self._state is not PoolState.OPEN:
            return
        log.warning("an EVM call worker died or got stuck: replacing the worker processes")
        _kill(broken)
        self._clear_stale_readers()
        self._restarts += 1
        self._executor = self._new_executor()

    def close(self) -> None:
        """Stop the workers (idempotent); later calls get ``READ_POOL_CLOSED``."""
        if self._state is PoolState.CLOSED:
            return
        self._state = PoolState.CLOSED
        if self._executor is not None:
            _kill(self._executor)
            self._executor = None


def _kill(executor: ProcessPoolExecutor) -> None:
    """Shut ``executor`` down without waiting for running calls: a call changes nothing,
    so killing its worker loses nothing."""
    # The executor has no public way to stop a running task; its processes do.
    processes = list(getattr(executor, "_processes", {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(ProcessLookupError, AttributeError, ValueError):
            process.kill()
    for process in processes:
        with contextlib.suppress(AttributeError, ValueError, AssertionError):
            process.join(1.0)  # gone before their reader slots are checked


# ------------------------------------------------------------------ in the worker

_READER: EvmReader | None = None


class _OutOfTime(BaseException):
    """Raised in a worker by one of its interval timers: the call must stop."""

    def __init__(self, why: Stopped) -> None:
        super().__init__(why)
        self.why = why


def _on_timer(signum: int, frame: FrameType | None) -> None:
    raise _OutOfTime(Stopped.CPU_BUDGET if signum == signal.SIGPROF else Stopped.WALL_CEILING)


def _die_with(parent: int) -> None:
    """Have the kernel kill this worker when the node dies, even by SIGKILL (Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the node died before the line above took effect
        os._exit(0)


def _yield_cpu() -> None:
    """Run this worker only on CPU time the node's own threads do not want.

    Linux's ``SCHED_IDLE`` class runs a process only when no ordinary one is
    runnable, and an ordinary one waking up always preempts it: a call never
    delays consensus or execution (on a saturated host calls reach their
    budget instead). Elsewhere the lowest niceness.
    """
    idle = getattr(os, "SCHED_IDLE", None)
    if idle is not None:
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, idle, os.sched_param(0))
            return
    os.nice(WORKER_NICE)


def _start_worker(ledger_dir: str, suite: str, parent: int, idle_priority: bool) -> None:
    """Initialise a worker process: tie it to the node, open the ledger, lower its priority."""
    global _READER
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the node, which stops us
    signal.signal(signal.SIGPROF, _on_timer)
    signal.signal(signal.SIGALRM, _on_timer)
    import lmdb

    from consortia.crypto import get_suite
    from consortia.evm.reader import EvmReader
    from consortia.node.config import LEDGER_MAP_SIZE
    from consortia.state import StateTree

    env = lmdb.open(ledger_dir, max_dbs=32, map_size=LEDGER_MAP_SIZE)
    _READER = EvmReader(env, StateTree(env, get_suite(suite).hash, node_cache=0))
    if idle_priority:  # only now: the imports above are the worker's start, which a client waits on
        _yield_cpu()


def _run_call(request: CallRequest, budget_s: float, ceiling_s: float) -> CallResult | Stopped:
    """Run one call in this worker, stopping it at ``budget_s`` of CPU time or at
    ``ceiling_s`` of wall time."""
    assert _READER is not None, "worker not initialised"
    try:
        signal.setitimer(signal.ITIMER_PROF, budget_s)
        signal.setitimer(signal.ITIMER_REAL, ceiling_s)
        try:
            return _READER.call(
                sender=request.sender,
                to=request.to,
                data=request.data,
                gas=request.gas,
                version=request.version,
                block=request.block,
                policy=request.policy,
            )
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _OutOfTime as stop:
        return stop.why
