"""[MEMPOOL-JOURNAL.1]: a 202 survives SIGKILL of the node that gave it.

Regression test for issue #16, found item 6: a transaction admitted just before
its node was killed was gone from every node, and the sender's later
transactions sat behind the gap forever. Here the node is killed right after
the 202 for a transaction that cannot commit yet (its sender's nonce 0 is still
to come), restarted, and the transaction commits once nonce 0 arrives.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.support import transactions as t
from tests.support.network import live_network

from consortia.crypto import KeyType
from consortia.mempool.journal import MempoolJournal
from consortia.node.config import NodeHome

pytestmark = pytest.mark.slow


def test_an_acknowledged_transaction_survives_sigkill_and_commits(tmp_path: Path) -> None:
    with live_network(tmp_path, timing={"idle_block_interval_ms": 200}) as net:
        name = net.names[0]
        sender = t.key(KeyType.SM2, 11)
        first = t.create_asset(sender, 0, "JRN")
        later = [t.issue(sender, n, sender.public_key().address(), 10, "JRN") for n in (1, 2)]
        results = net.submit(later)
        assert all("tx_id" in r for r in results), results  # acknowledged (admitted)
        net.processes.kill(name)  # SIGKILL: no shutdown code runs
        net.processes.start(name)
        for raw in later:
            record = net.transaction(t.identifier(raw))
            assert record is not None and record["status"] == "pending", record
        assert "tx_id" in net.submit([first])[0]
        for raw in [first, *later]:
            assert net.wait_committed(t.identifier(raw))["receipt"]["status"] == "OK"
        # Committed transactions leave the journal when it is rewritten (on a clean stop).
        net.processes.stop(name)
        with MempoolJournal(NodeHome(net.home(0)).mempool_journal) as journal:
            assert journal.records() == []


def test_a_record_cut_short_by_a_crash_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "mempool.journal"
    with MempoolJournal(path) as journal:
        journal.append([(b"a" * 32, b"first"), (b"b" * 32, b"second")], lambda ids: [])
    with path.open("ab") as f:
        f.write((100).to_bytes(4, "big") + b"torn")
    with MempoolJournal(path) as journal:
        assert journal.records() == [b"first", b"second"]


def test_the_journal_is_rewritten_with_the_pending_only_once_it_doubles(tmp_path: Path) -> None:
    path = tmp_path / "mempool.journal"
    raw = b"x" * 1_000
    pending: set[bytes] = set()
    with MempoolJournal(path) as journal:
        for i in range(10_000):
            identifier = i.to_bytes(32, "big")
            pending = {identifier}  # every earlier one committed meanwhile
            journal.append(
                [(identifier, raw)], lambda ids, now=pending: [(i, raw) for i in ids if i in now]
            )
            assert journal.size_bytes <= 2 * 4 * 1024 * 1024 + 1_004
        assert len(journal.records()) < 10_000
    started = time.perf_counter()
    assert MempoolJournal(path).records()[-1] == raw
    assert time.perf_counter() - started < 5
