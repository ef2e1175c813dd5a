"""The event bus: whole blocks per batch, a bounded backlog, lagging subscribers dropped."""

from __future__ import annotations

import asyncio

from consortia.node.events import LAGGED, EventBus


def _block(height: int, txs: int) -> list[dict[str, object]]:
    return [{"type": "block", "height": height}] + [
        {"type": "tx", "height": height, "index": i} for i in range(txs)
    ]


async def test_a_block_larger_than_the_bound_reaches_a_subscriber_that_keeps_up() -> None:
    bus = EventBus(max_pending=100)
    async with bus.subscribe() as subscription:
        bus.publish(_block(1, 500))
        assert subscription.pending == 501
        batch = await subscription.get()
        assert len(batch) == 501 and batch[0]["height"] == 1
        assert subscription.pending == 0
        bus.publish(_block(2, 500))
        assert [e["type"] for e in await subscription.get()][:2] == ["block", "tx"]
        assert bus.subscriber_count == 1


async def test_a_lagging_subscriber_gets_lagged_last_and_is_dropped_alone() -> None:
    bus = EventBus(max_pending=10)
    async with bus.subscribe() as slow, bus.subscribe() as fast:
        bus.publish(_block(1, 5))
        await fast.get()
        bus.publish(_block(2, 5))  # slow: 6 + 6 > 10
        assert bus.subscriber_count == 1
        assert len(await slow.get()) == 6
        assert await slow.get() == (LAGGED,)
        bus.publish(_block(3, 1))
        assert slow.pending == 0  # dropped: nothing more arrives
        assert [e["height"] for e in await fast.get()] == [2] * 6
        assert [e["height"] for e in await fast.get()] == [3, 3]
    assert bus.subscriber_count == 0


async def test_wake_releases_a_waiting_reader_with_an_empty_batch() -> None:
    bus = EventBus()
    async with bus.subscribe() as subscription:
        waiting = asyncio.ensure_future(subscription.get())
        await asyncio.sleep(0)
        subscription.wake()
        assert await asyncio.wait_for(waiting, 1) == ()
