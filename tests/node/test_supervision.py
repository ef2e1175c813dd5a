"""A node process whose background task dies stops, says why, and exits non-zero.

The trigger is a real one: the API's port is already taken when the node
starts, so the ``api`` task (uvicorn) cannot bind and dies while consensus
and execution run on. Before the supervisor, that task's end escaped as a
bare ``SystemExit(1)`` with no line naming it; a task that raised instead
would have left the node running without it.

The last tests cover the small objects that carry between parts built
before each other: the execution results handed from its thread to the
loop, and the executed heights the router waits on.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from tests.support.ports import free_block

from consortia.node.config import NodeHome
from consortia.node.execution_service import ExecutedHeights, ResultsToLoop
from consortia.node.init import init_network
from consortia.server.supervisor import BackgroundTaskFailed, Supervisor

pytestmark = pytest.mark.xdist_group("supervision")

ERROR_LINE = re.compile(r"ERROR consortia\.server\.supervisor: background task '(\w+)' died")


def _one_validator(root: Path) -> tuple[Path, str, int]:
    base = free_block(2)
    entry = init_network(
        root, validators=1, orgs=1, suite="sm", base_api_port=base, base_p2p_port=base + 1
    )[0]
    return entry.home, entry.api, base


def _start(home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "consortia.server.runner", "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_dead_background_task_stops_the_node_with_its_cause(tmp_path: Path) -> None:
    home, _, api_port = _one_validator(tmp_path / "net")
    with socket.create_server(("127.0.0.1", api_port)):  # the API's port is taken
        node = _start(home)
        output, _ = node.communicate(timeout=120)
    assert node.returncode == 2, output
    died = ERROR_LINE.findall(output)
    assert died == ["api"], output  # one ERROR line, naming the task
    after = output[output.index("background task 'api' died") :]
    assert "Traceback (most recent call last)" in after
    assert "NODE_API_UNAVAILABLE" in after or "ApiUnavailable" in after
    assert "[NODE_TASK_FAILED]" in output.splitlines()[-1]
    assert not NodeHome(home).pid_file.exists()  # closed cleanly: storage shut, pid gone


def test_a_signal_still_stops_the_node_cleanly_with_exit_zero(tmp_path: Path) -> None:
    home, url, _ = _one_validator(tmp_path / "net")
    node = _start(home)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/v1/status", timeout=1).status_code == 200:
                    break
            assert node.poll() is None and time.monotonic() < deadline, "node did not serve"
            time.sleep(0.05)
        node.send_signal(signal.SIGTERM)
        output, _ = node.communicate(timeout=60)
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
    assert node.returncode == 0, output
    assert ERROR_LINE.findall(output) == []
    assert not NodeHome(home).pid_file.exists()


def test_the_first_death_cancels_the_siblings_and_names_the_task() -> None:
    """In-process: a failing child ends the block; a sibling is cancelled, not left running."""
    cancelled: list[str] = []

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append("forever")
            raise

    async def dies() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("boom")

    async def main() -> None:
        async with Supervisor() as tasks:
            tasks.spawn(forever(), name="forever")
            tasks.spawn(dies(), name="dies")

    with pytest.raises(BackgroundTaskFailed, match="'dies' died: RuntimeError: boom"):
        asyncio.run(main())
    assert cancelled == ["forever"]


async def _wait_forever() -> None:
    await asyncio.Event().wait()


def test_a_task_that_returns_counts_as_dead_and_cancel_is_clean() -> None:
    async def returns() -> None:
        await asyncio.sleep(0)

    async def stopped_early() -> None:
        async with Supervisor() as tasks:
            tasks.spawn(returns(), name="returns")

    with pytest.raises(BackgroundTaskFailed, match="'returns' died"):
        asyncio.run(stopped_early())

    async def cancelled() -> None:
        outer = asyncio.current_task()
        assert outer is not None
        async with Supervisor() as tasks:
            tasks.spawn(_wait_forever(), name="waits")
            asyncio.get_running_loop().call_later(0.05, outer.cancel)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancelled())


def test_execution_results_reach_the_loop_in_order_then_the_failure() -> None:
    """The execution thread's results arrive on the loop in order, even those sent before
    the loop's reader started; the failure is raised after them, never before."""
    results = ResultsToLoop()
    sent = [object() for _ in range(200)]
    failure = RuntimeError("block 201 cannot be executed")
    results.executed(sent[0])  # type: ignore[arg-type]  # before any reader exists

    def produce() -> None:
        for item in sent[1:]:
            results.executed(item)  # type: ignore[arg-type]
        results.failed(failure)

    async def consume() -> list[object]:
        received: list[object] = []
        producer = threading.Thread(target=produce)
        producer.start()
        try:
            while True:
                received.append(await results.next())
        except RuntimeError as exc:
            assert exc is failure
        finally:
            producer.join()
        return received

    assert asyncio.run(consume()) == sent


def test_a_height_waiter_wakes_when_its_height_is_reached_or_times_out() -> None:
    async def main() -> tuple[bool, bool, bool]:
        heights = ExecutedHeights(3)
        at_once = await heights.wait(3, 0.01)
        later = asyncio.ensure_future(heights.wait(5, 5.0))
        await asyncio.sleep(0)
        heights.reached(5)
        return at_once, await later, await heights.wait(9, 0.01)

    assert asyncio.run(main()) == (True, True, False)
