"""One validator as real processes: key types, crash safety, replay determinism."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from tests.support import transactions as t
from tests.support.network import live_network

from consortia.crypto import KeyType
from consortia.node.config import NodeHome
from consortia.node.genesis_file import load_genesis
from consortia.node.replay import replay_chain

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("suite", ["sm", "intl"])
def test_accounts_of_every_key_type_commit(tmp_path: Path, suite: str) -> None:
    with live_network(tmp_path, suite=suite) as net:
        for seed, key_type in enumerate((KeyType.SM2, KeyType.P256, KeyType.SECP256K1)):
            owner = t.key(key_type, seed)
            symbol = f"A{seed}"
            raws = [
                t.create_asset(owner, 0, symbol),
                t.issue(owner, 1, owner.public_key().address(), 500, symbol),
                t.transfer(owner, 2, t.key(KeyType.SM2, 99).public_key().address(), 7, symbol),
            ]
            results = net.submit(raws)
            assert all("tx_id" in r for r in results), results
            for raw in raws:
                record = net.wait_committed(t.identifier(raw, suite))
                assert record["receipt"]["status"] == "OK", record


def test_kill_9_during_stream_loses_no_acknowledged_transaction(tmp_path: Path) -> None:
    """[NODE-DURABLE.1]: acknowledged commits survive SIGKILL; the replay matches."""
    with live_network(tmp_path) as net:
        sender = t.key(KeyType.SM2, 1)
        recipient = t.key(KeyType.SM2, 2).public_key().address()
        setup = [
            t.create_asset(sender, 0),
            t.issue(sender, 1, sender.public_key().address(), 10**9),
        ]
        net.submit(setup)
        net.wait_committed(t.identifier(setup[-1]))
        acknowledged: list[str] = []
        stop = threading.Event()

        def stream() -> None:
            nonce = 2
            while not stop.is_set():
                raws = [t.transfer(sender, nonce + i, recipient, 1) for i in range(50)]
                try:
                    net.submit(raws)
                    last = t.identifier(raws[-1])
                    record = net.wait_committed(last, timeout_s=10)
                except (httpx.HTTPError, AssertionError):  # the node is being killed under us
                    return
                assert record["receipt"]["status"] == "OK"
                acknowledged.extend(t.identifier(r) for r in raws)
                nonce += 50

        worker = threading.Thread(target=stream)
        worker.start()
        time.sleep(2.0)
        name = net.names[0]
        net.processes.kill(name)
        stop.set()
        worker.join(30)
        assert acknowledged, "no transaction was acknowledged before the crash"
        height_before = max(1, net.height(0))
        net.processes.start(name)
        for tx_id in acknowledged:
            assert net.transaction(tx_id)["status"] == "committed", tx_id
        net.wait_height(0, height_before + 3)
        home = NodeHome(net.home(0))
        net.processes.stop(name)
        report = replay_chain(home.ledger_dir, tmp_path / "replay", load_genesis(home))
        assert report.first_mismatch is None, report.detail
