"""A Byzantine validator cannot make honest nodes fork, crash or stall ([NODE-BYZ.1])."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from tests.node.byzantine import ByzantineValidator
from tests.node.test_bft import FAST, _assert_same_chain, _commit_one
from tests.support.network import live_network

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bft")]


def test_equivocating_double_voting_garbage_sending_validator(tmp_path: Path) -> None:
    with live_network(tmp_path, validators=4, timing=FAST, start=[0, 1, 2]) as net:
        genesis_id = bytes.fromhex(
            httpx.get(f"{net.api(0)}/v1/blocks/0", timeout=5).json()["id"].removeprefix("0x")
        )
        byzantine = ByzantineValidator(net.home(3), genesis_id)
        byzantine.start()
        try:
            start = net.height(0)
            deadline = time.monotonic() + 60
            while not byzantine.equivocated_rounds and time.monotonic() < deadline:
                time.sleep(0.2)
            assert byzantine.equivocated_rounds, "the Byzantine validator never led a round"
            for nonce in range(3):
                _commit_one(net, nonce % 3, nonce, sender_seed=40)
            net.wait_height(0, start + 8, timeout_s=60)
        finally:
            byzantine.stop()
        _assert_same_chain(net, [0, 1, 2])
        evidence = []
        for i in range(3):
            evidence += httpx.get(f"{net.api(i)}/v1/evidence", timeout=5).json()
        kinds = {e["kind"] for e in evidence}
        assert {"vote", "proposal"} <= kinds, evidence
        assert all(e["author"] == 3 for e in evidence)
