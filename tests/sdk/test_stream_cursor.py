"""The SDK's resume cursor: where a reconnection subscribes, and which replayed frames it drops."""

from __future__ import annotations

from typing import Any

from consortia.sdk._stream import StreamCursor


def block(height: int, tx_count: int) -> dict[str, Any]:
    return {"type": "block", "height": height, "tx_count": tx_count}


def tx(height: int, index: int) -> dict[str, Any]:
    return {"type": "tx", "height": height, "index": index, "tx_id": f"0x{height:02x}{index:02x}"}


def test_a_whole_block_moves_the_cursor_to_its_height() -> None:
    cursor = StreamCursor(after=4)
    assert cursor.subscribe_after() == 4
    assert cursor.accept(block(5, 0))
    assert cursor.subscribe_after() == 5
    assert cursor.accept(block(6, 2)) and cursor.accept(tx(6, 0))
    assert cursor.subscribe_after() == 5  # block 6 is not whole yet
    assert cursor.accept(tx(6, 1))
    assert cursor.subscribe_after() == 6


def test_a_drop_inside_a_block_replays_it_and_drops_what_was_delivered() -> None:
    cursor = StreamCursor(after=9)
    delivered = [f for f in (block(10, 3), tx(10, 0), tx(10, 1)) if cursor.accept(f)]
    assert len(delivered) == 3
    assert cursor.subscribe_after() == 9  # the socket dropped inside block 10
    replay = [block(10, 3), tx(10, 0), tx(10, 1), tx(10, 2), block(11, 0)]
    assert [f for f in replay if cursor.accept(f)] == [tx(10, 2), block(11, 0)]
    assert cursor.subscribe_after() == 11


def test_frames_without_a_position_pass() -> None:
    cursor = StreamCursor(after=None)
    assert cursor.accept({"type": "lagged", "message": "subscriber fell behind; reconnect"})
    assert cursor.subscribe_after() is None


def test_block_end_frames_complete_a_block_after_its_transactions() -> None:
    """A block's frames end with its block-end receipts ([EXEC-BLOCK-END.1]), indexed on
    from its transactions; the block is whole only after the last of them."""
    cursor = StreamCursor(after=6)
    first = {**block(7, 1), "block_end_count": 2}
    assert cursor.accept(first) and cursor.accept(tx(7, 0))
    assert cursor.subscribe_after() == 6
    end = {"type": "block_end", "height": 7, "module": "maturity", "events": []}
    assert cursor.accept({**end, "index": 1})
    assert cursor.subscribe_after() == 6
    assert not cursor.accept({**end, "index": 1})  # a replay's overlap
    assert cursor.accept({**end, "index": 2})
    assert cursor.subscribe_after() == 7
