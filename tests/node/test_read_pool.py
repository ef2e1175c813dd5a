"""The EVM call pool on a real ledger: gas cap, budget, bounded queue, lifetime ([NODE-READS.1])."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.node import ThreadNode

from consortia.execution.module import BlockContext
from consortia.execution.policy import ChainPolicy
from consortia.node.read_pool import (
    CallGasCapped,
    CallLimits,
    CallPool,
    CallRequest,
    CallTimedOut,
    PoolState,
    ReadPoolBusy,
    ReadPoolClosed,
)

LOOP = bytes.fromhex("5b600056")
"""Init code ``JUMPDEST PUSH1 0 JUMP``: loops until its gas or its time runs out."""
RETURN_42 = bytes.fromhex("602a60005260206000f3")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ledger of a one-validator chain that ran and stopped."""
    node = ThreadNode(tmp_path_factory.mktemp("pool") / "net")
    node.start()
    node.stop()
    yield node.home / "data" / "ledger"


def _request(data: bytes, gas: int) -> CallRequest:
    return CallRequest(
        sender=bytes(20),
        to=b"",
        data=data,
        gas=gas,
        version=0,
        block=BlockContext(chain_id="consortia-devnet", height=1, timestamp_ms=0, proposer=0),
        policy=ChainPolicy(),
    )


async def test_gas_cap_budget_and_queue(ledger: Path) -> None:
    pool = CallPool(ledger, "sm", CallLimits(workers=1, queue=1, gas_cap=300_000, timeout_s=30))
    pool.start()
    try:
        result = await pool.call(_request(RETURN_42, 1_000_000))
        assert result.error is None and result.output == (42).to_bytes(32, "big")
        # Asked for more than the cap: runs with the cap, and running out there is a limit.
        with pytest.raises(CallGasCapped, match="cap of 300000") as capped:
            await pool.call(_request(LOOP, 10_000_000))
        assert capped.value.code == "READ_CALL_GAS_CAP"
        # Asked for less: out of gas is the call's own result.
        own = await pool.call(_request(LOOP, 200_000))
        assert own.out_of_gas and own.error is not None and own.error.startswith("OutOfGas")
        # workers + queue = 2 accepted at once; the third is refused without waiting.
        first = asyncio.ensure_future(pool.call(_request(LOOP, 1_000_000)))
        second = asyncio.ensure_future(pool.call(_request(LOOP, 1_000_000)))
        await asyncio.sleep(0)
        with pytest.raises(ReadPoolBusy) as busy:
            await pool.call(_request(RETURN_42, 100_000))
        assert busy.value.code == "READ_POOL_BUSY" and busy.value.http_status == 503
        for pending in (first, second):
            with pytest.raises(CallGasCapped):
                await pending
        assert pool.stats().refused_busy == 1 and pool.stats().accepted == 0
    finally:
        pool.close()


async def test_budget_stops_a_call_and_the_worker_serves_on(ledger: Path) -> None:
    pool = CallPool(ledger, "sm", CallLimits(workers=1, queue=0, timeout_s=0.5))
    pool.start()
    try:
        with pytest.raises(CallTimedOut, match=r"budget of 0\.5 s") as timed_out:
            await pool.call(_request(LOOP, 10_000_000))
        assert timed_out.value.code == "READ_CALL_TIMEOUT"
        result = await pool.call(_request(RETURN_42, 100_000))
        assert result.output == (42).to_bytes(32, "big")
        assert pool.stats().timed_out == 1 and pool.stats().restarts == 0
    finally:
        pool.close()


async def test_lifetime(ledger: Path) -> None:
    pool = CallPool(ledger, "sm", CallLimits(workers=1))
    assert pool.state is PoolState.UNOPENED
    with pytest.raises(ReadPoolClosed):
        await pool.call(_request(RETURN_42, 100_000))
    pool.start()
    assert pool.state is PoolState.OPEN
    pool.close()
    pool.close()  # idempotent
    assert pool.state is PoolState.CLOSED
    with pytest.raises(ReadPoolClosed) as closed:
        await pool.call(_request(RETURN_42, 100_000))
    assert closed.value.code == "READ_POOL_CLOSED"
    with pytest.raises(ReadPoolClosed):
        pool.start()


async def test_a_worker_killed_mid_call_is_replaced(ledger: Path) -> None:
    """A worker that dies (or is killed as stuck) fails its call with a limit error; the
    pool starts new workers and clears the dead one's LMDB reader slot."""
    checks: list[int] = []
    pool = CallPool(
        ledger,
        "sm",
        CallLimits(workers=1, queue=0, timeout_s=30),
        clear_stale_readers=lambda: checks.append(1),
    )
    earlier = set(multiprocessing.active_children())  # other pools' workers still exiting
    pool.start()
    try:
        assert (await pool.call(_request(RETURN_42, 100_000))).error is None
        (worker,) = set(multiprocessing.active_children()) - earlier
        running = asyncio.ensure_future(pool.call(_request(LOOP, 10_000_000)))
        await asyncio.sleep(0.5)
        os.kill(worker.pid or 0, signal.SIGKILL)
        with pytest.raises(CallTimedOut, match="worker was replaced"):
            await running
        assert pool.stats().restarts == 1 and checks == [1]
        assert (await pool.call(_request(RETURN_42, 100_000))).output == (42).to_bytes(32, "big")
    finally:
        pool.close()


async def test_a_call_starved_of_cpu_stops_at_its_wall_ceiling(ledger: Path) -> None:
    """The budget is CPU time; a ceiling below one budget of wall time is always met first,
    which is what a call on a saturated host meets (the worker runs in SCHED_IDLE)."""
    pool = CallPool(ledger, "sm", CallLimits(workers=1, queue=0, timeout_s=5, wall_factor=0.1))
    pool.start()
    try:
        await pool.call(_request(RETURN_42, 100_000))  # the worker's start is not the call's
        started = time.monotonic()
        with pytest.raises(CallTimedOut, match=r"waited 0\.5 s for CPU time") as timed_out:
            await pool.call(_request(LOOP, 10_000_000))
        assert time.monotonic() - started < 5
        assert timed_out.value.code == "READ_CALL_TIMEOUT"
        assert "budget of 5 s of CPU time" in str(timed_out.value)
        result = await pool.call(_request(RETURN_42, 100_000))
        assert result.output == (42).to_bytes(32, "big")
    finally:
        pool.close()
