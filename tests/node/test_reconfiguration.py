"""Governance changes the validator set of a live network ([CONS-EPOCH.1–3], issue #4).

Four validators of four organisations run as real processes under a steady
stream of transactions. Through the CLI, as operators would:

1. a proposal admits a fifth organisation, whose CA the new member made itself;
2. the member creates a node (TLS certificate from its own CA), which follows
   the chain as an observer and syncs;
3. a proposal adds that node as a validator: at the next epoch it votes, shown
   by the chain committing while another validator is down (5 validators of
   weight 1 need 4 votes);
4. a proposal removes a validator while another is down: the remaining set
   continues without it, and the one that was down catches up across the
   epoch change from the commit proof of the epoch-ending block.

Every acknowledged transaction commits; the independent verifier accepts the
chain across both epoch changes; every node holds the same chain.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import transactions as t
from tests.support.network import LiveNetwork, live_network
from tests.support.ports import free_block
from typer.testing import CliRunner

from consortia.cli.main import app
from consortia.crypto import KeyType
from consortia.node.init import read_network

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bft")]

FAST = {"base_timeout_ms": 1000, "idle_block_interval_ms": 300}
GOVERNORS = ("org1-admin", "org2-admin", "org3-admin")


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"consortia {' '.join(args)}: {result.output}"
    return result.output


def gov_pass(net: LiveNetwork, kind: str, payload: str) -> int:
    """Propose as org1's admin, vote yes with three of four governors; return the id."""
    common = ["--home", str(net.root), "--node", net.api(0), "--json"]
    wait = ["--wait", "60"]  # a round or two may time out while links come back
    created = json.loads(
        cli(
            "gov",
            "propose",
            kind,
            "--payload-json",
            payload,
            "--from",
            GOVERNORS[0],
            *common,
            *wait,
        )
    )
    events = created["receipt"]["events"]
    proposal_id = int(
        next(e for e in events if e["name"] == "proposal_created")["attributes"]["id"]
    )
    for governor in GOVERNORS:
        cli("gov", "vote", str(proposal_id), "yes", "--from", governor, *common, *wait)
    shown = json.loads(cli("gov", "show", str(proposal_id), *common))
    assert shown["status"] == "executed", shown
    return proposal_id


def wait_epoch(net: LiveNetwork, nodes: list[int], epoch: int, size: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        statuses = [net.status(i) for i in nodes]
        if all(s is not None and s["epoch"] == epoch for s in statuses):
            assert all(s is not None and s["validators"] == size for s in statuses)
            return
        assert time.monotonic() < deadline, f"epoch {epoch} not reached: {statuses}"
        time.sleep(0.2)


class Load:
    """Creates an asset, then issues one unit at a time to node 0; remembers the ids."""

    def __init__(self, net: LiveNetwork) -> None:
        self.net = net
        self.key = t.key(KeyType.SM2, 11)
        self.acked: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = self.key.public_key().address()
        nonce = 0
        while not self.stop.is_set():
            raw = (
                t.create_asset(self.key, 0, "LOAD")
                if nonce == 0
                else t.issue(self.key, nonce, me, 1, "LOAD")
            )
            try:
                result = self.net.submit([raw], 0)[0]
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            if "tx_id" in result:
                self.acked.append(result["tx_id"])
                nonce += 1
            time.sleep(0.1)

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def block_json(net: LiveNetwork, node: int, height: int) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{net.api(node)}/v1/blocks/{height}", timeout=5).json()
    return data


def test_admit_a_member_and_its_validator_then_remove_one(tmp_path: Path) -> None:
    with live_network(tmp_path, validators=4, timing=FAST) as net, Load(net) as load:
        root = net.root
        net.wait_height(0, 3)

        # 1. The new member makes its CA and admin key; the consortium admits it.
        org_payload = cli("org", "new", "org5", "--out", str(root / "orgs" / "org5"))
        gov_pass(net, "add_organisation", org_payload)

        # 2. Its node: certificate from its own CA, genesis and peers from the chain.
        ports = free_block(2)
        peers = [f"--peer={e.name}={e.p2p}" for e in read_network(root)]
        validator_payload = cli(
            "node", "join", "--home", str(root / "org5-v4"), "--name", "org5-v4",
            "--org", "org5", "--org-dir", str(root / "orgs" / "org5"),
            "--genesis", str(root / "org1-v0" / "genesis.bin"),
            "--ca-bundle", str(root / "org1-v0" / "tls" / "ca-bundle.pem"),
            "--p2p-port", str(ports), "--api-port", str(ports + 1),
            "--network", str(root), *peers,
        )  # fmt: skip
        net.processes.entries = read_network(root)
        net.processes.start("org5-v4")
        new = 4
        net.wait_height(new, net.height(0) - 1, timeout_s=60)
        observer = net.status(new)
        assert observer is not None and observer["validator_index"] is None

        # 3. It becomes a validator at epoch 1 and votes.
        gov_pass(net, "add_validator", validator_payload)
        wait_epoch(net, [0, 1, 2, 3, new], epoch=1, size=5)
        status = net.status(new)
        assert status is not None and status["validator_index"] == 4
        net.processes.kill(net.names[1])
        start = net.height(0)
        net.wait_height(0, start + 5, timeout_s=60)  # 4 of 5 votes: needs org5-v4
        signers = block_json(net, 0, start + 3)["certificate"]["signers"]
        assert 4 in signers and 1 not in signers
        net.processes.start(net.names[1])
        net.wait_height(1, net.height(0), timeout_s=60)
        net.wait_height(0, net.height(0) + 3, timeout_s=60)  # it votes again

        # 4. org4's validator leaves at epoch 2; the other four continue without it.
        #    org3's is down meanwhile: it must catch up across the epoch change.
        net.processes.kill(net.names[2])
        gov_pass(net, "remove_validator", json.dumps({"name": "org4-v3"}))
        wait_epoch(net, [0, 1, new], epoch=2, size=4)
        net.processes.stop(net.names[3])
        start = net.height(0)
        net.wait_height(0, start + 5, timeout_s=60)
        net.processes.start(net.names[2])
        net.wait_height(2, net.height(0), timeout_s=60)
        wait_epoch(net, [2], epoch=2, size=4)

        load.stop.set()
        load.thread.join(10)
        assert len(load.acked) > 20
        for tx_id in load.acked:
            net.wait_committed(tx_id, 0, timeout_s=30)

        top = net.height(0)
        for node in (1, 2, new):
            net.wait_height(node, top, timeout_s=30)
        ids = [block_json(net, 0, h)["id"] for h in range(1, top + 1)]
        for node in (1, 2, new):
            assert [block_json(net, node, h)["id"] for h in range(1, top + 1)] == ids
        epochs = httpx.get(f"{net.api(0)}/v1/epochs/2", timeout=5).json()
        assert [v["name"] for v in epochs["validators"]] == [
            "org1-v0", "org2-v1", "org3-v2", "org5-v4",
        ]  # fmt: skip
        report = json.loads(cli("verify", "--rpc", net.api(0), "--json"))
        assert report["ok"], report
