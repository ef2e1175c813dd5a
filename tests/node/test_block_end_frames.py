"""Block-end receipts reach the event stream, live and replayed alike ([EXEC-BLOCK-END.1],
[API-EVENTS.2]).

The ``maturity`` test module of tests/execution/test_block_end.py runs through the
real block transition; each block's live frames (what the node publishes when it
executes the block) must equal the frames a cursor replay reads back from the ledger.
"""

from __future__ import annotations

from pathlib import Path

from tests.execution.test_block_end import MaturityModule, _ledger, _run, _runtime, _schedules

from consortia.node.events import block_events, stored_block_events


def test_live_and_replayed_frames_carry_the_block_end_receipts(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "db", _runtime(MaturityModule()))
    executed = _run(ledger, _schedules())
    with ledger.env.begin() as txn:
        for block in executed:
            height = block.committed.block.header.height
            assert block_events(block) == stored_block_events(ledger.store, txn, height)
    frames = block_events(executed[2])  # block 3: no transactions, items b and c mature
    assert [f["type"] for f in frames] == ["block", "block_end"]
    head, end = frames
    assert (head["tx_count"], head["block_end_count"]) == (0, 1)
    assert (end["height"], end["index"], end["module"], end["status"]) == (3, 0, "maturity", "OK")
    assert [e["attributes"]["item"] for e in end["events"]] == ["b", "c"]
    assert end["gas_used"] > 0
    assert block_events(executed[0])[0]["block_end_count"] == 0
