"""Four validators as real processes on loopback: crashes, partitions, garbage, verifier.

Behaviour checked ([CONS-*] in docs/consensus.md): commits continue with any one
validator down (the leader included), stop without forking with two down,
resume on recovery; a partition {A, B} | {C, D} stops both sides and heals;
an honest chain passes the independent verifier.
"""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

import pytest
from tests.support import transactions as t
from tests.support.network import LiveNetwork, live_network

from consortia.crypto import KeyType
from consortia.node.config import NodeHome
from consortia.node.genesis_file import load_genesis
from consortia.verify.export import write_export
from consortia.verify.verifier import verify_chain

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bft")]

FAST = {"base_timeout_ms": 1000, "idle_block_interval_ms": 300}


def _block_ids(net: LiveNetwork, node: int, heights: range) -> list[str]:
    import httpx

    return [httpx.get(f"{net.api(node)}/v1/blocks/{h}", timeout=5).json()["id"] for h in heights]


def _assert_same_chain(net: LiveNetwork, nodes: list[int]) -> None:
    top = min(net.height(i) for i in nodes)
    chains = {i: _block_ids(net, i, range(1, top + 1)) for i in nodes}
    first = chains[nodes[0]]
    for i in nodes[1:]:
        assert chains[i] == first, f"node {i} diverges from node {nodes[0]}"


def _commit_one(net: LiveNetwork, node: int, nonce: int, sender_seed: int = 7) -> None:
    sender = t.key(KeyType.SM2, sender_seed)
    raw = t.create_asset(sender, nonce, f"S{nonce}")
    assert "tx_id" in net.submit([raw], node)[0]
    net.wait_committed(t.identifier(raw), node, timeout_s=30)


def test_one_down_including_leader_then_catch_up(tmp_path: Path) -> None:
    with live_network(tmp_path, validators=4, timing=FAST) as net:
        net.wait_height(0, 2)
        for nonce in range(3):  # kill the current leader, repeatedly
            status = net.status(0)
            assert status is not None
            victim = int(status["leader"])
            alive = [i for i in range(4) if i != victim]
            net.processes.kill(net.names[victim])
            _commit_one(net, alive[0], nonce)
            net.processes.start(net.names[victim])
            net.wait_height(victim, net.height(alive[0]), timeout_s=30)
        _assert_same_chain(net, [0, 1, 2, 3])


def test_two_down_halts_without_fork_then_resumes(tmp_path: Path) -> None:
    with live_network(tmp_path, validators=4, timing=FAST) as net:
        net.wait_height(0, 2)
        net.processes.kill(net.names[2])
        net.processes.kill(net.names[3])
        time.sleep(1.0)
        stalled = net.height(0)
        time.sleep(4.0)
        assert net.height(0) <= stalled + 1  # at most one in-flight commit lands
        assert net.height(1) <= stalled + 1
        net.processes.start(net.names[2])
        net.wait_height(0, stalled + 3, timeout_s=60)
        _commit_one(net, 1, 0)
        _assert_same_chain(net, [0, 1, 2])


def test_partition_two_two_stalls_and_heals(tmp_path: Path) -> None:
    with live_network(tmp_path, validators=4, proxied=True, timing=FAST) as net:
        assert net.mesh is not None
        net.wait_height(0, 3)
        net.mesh.partition({0, 1}, {2, 3})
        time.sleep(1.5)
        before = [net.height(i) for i in range(4)]
        time.sleep(4.0)
        after = [net.height(i) for i in range(4)]
        assert all(a <= b + 1 for a, b in zip(after, before, strict=True)), (before, after)
        net.mesh.heal()
        net.wait_height(0, max(after) + 3, timeout_s=60)
        _commit_one(net, 3, 0)
        for i in range(4):
            net.wait_height(i, max(after) + 3, timeout_s=30)
        _assert_same_chain(net, [0, 1, 2, 3])


def test_garbage_on_the_p2p_port_does_not_disturb(tmp_path: Path) -> None:
    with live_network(tmp_path, validators=4, timing=FAST) as net:
        net.wait_height(0, 2)
        config = NodeHome(net.home(0)).load_config()
        for payload in (b"\x00" * 64, b"GET / HTTP/1.1\r\n\r\n", bytes(range(256)) * 64):
            with socket.create_connection(("127.0.0.1", config.p2p_port), timeout=5) as sock:
                sock.sendall(payload)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", config.p2p_port), timeout=5) as raw:
            try:  # TLS 1.3 without a client certificate: the node ends the connection
                with context.wrap_socket(raw) as tls:
                    tls.sendall(b"\xff" * 1024)
                    assert tls.recv(1) == b""
            except (ssl.SSLError, ConnectionError):
                pass
        _commit_one(net, 0, 0)
        _assert_same_chain(net, [0, 1, 2, 3])


def test_verifier_accepts_the_chain_and_names_a_tampered_height(tmp_path: Path) -> None:
    with live_network(tmp_path, validators=4, timing=FAST) as net:
        _commit_one(net, 0, 0)
        net.wait_height(0, 5)
        home = NodeHome(net.home(1))
        export = tmp_path / "chain.export"
        write_export(home.ledger_dir, load_genesis(home), export)
    from consortia.verify.export import read_export

    header, blocks = read_export(export)
    records = [(b.block, b.certificate) for b in blocks]
    assert verify_chain(header.genesis, records).ok
    # A QC with a signature removed no longer has quorum weight.
    block, cert = records[3]
    assert cert is not None
    import msgspec

    weak = msgspec.structs.replace(cert, signers=cert.signers[:1], signatures=cert.signatures[:1])
    tampered = [*records[:3], (block, weak), *records[4:]]
    report = verify_chain(header.genesis, tampered)
    assert report.first_bad_height == 3 and "certificate invalid" in report.problem


def test_clock_skew_of_seconds_keeps_safety_and_liveness(tmp_path: Path) -> None:
    """One validator 5 s ahead and one 5 s behind (libfaketime; monotonic clocks untouched)."""
    with live_network(tmp_path, validators=4, timing=FAST, start=[0, 3]) as net:
        skew_env = {"FAKETIME_DONT_FAKE_MONOTONIC": "1"}
        net.processes.start(net.names[1], wrapper=("faketime", "-f", "+5s"), env=skew_env)
        net.processes.start(net.names[2], wrapper=("faketime", "-f", "-5s"), env=skew_env)
        start = net.height(0)
        for nonce in range(3):
            _commit_one(net, nonce + 1, nonce, sender_seed=11)
        net.wait_height(2, start + 5, timeout_s=60)
        _assert_same_chain(net, [0, 1, 2, 3])


def test_new_node_starts_from_a_verified_state_snapshot(tmp_path: Path) -> None:
    """[NET-SNAPSHOT.1]: a node that was never started joins from a snapshot, not genesis."""
    import httpx
    import msgspec

    from consortia.node.config import render_config

    with live_network(tmp_path, validators=4, timing=FAST, start=[0, 1, 2]) as net:
        sender = t.key(KeyType.SM2, 21)
        raws = [t.create_asset(sender, 0), t.issue(sender, 1, sender.public_key().address(), 900)]
        net.submit(raws)
        net.wait_committed(t.identifier(raws[-1]))
        net.wait_height(0, 8)
        home = NodeHome(net.home(3))
        config = msgspec.structs.replace(home.load_config(), state_sync=True)
        home.config_file.write_text(render_config(config), encoding="utf-8")
        net.processes.start(net.names[3])
        target = net.height(0) + 3
        net.wait_height(3, target, timeout_s=60)
        assert httpx.get(f"{net.api(3)}/v1/blocks/1", timeout=5).status_code == 404
        _assert_same_chain_from(net, [0, 3], target - 2)
        account = httpx.get(
            f"{net.api(3)}/v1/accounts/0x{sender.public_key().address().hex()}", timeout=5
        ).json()
        assert {"symbol": "CNY", "amount": 900} in account["balances"]


def _assert_same_chain_from(net: LiveNetwork, nodes: list[int], first: int) -> None:
    top = min(net.height(i) for i in nodes)
    chains = {i: _block_ids(net, i, range(first, top + 1)) for i in nodes}
    assert all(chains[i] == chains[nodes[0]] for i in nodes)


def test_validator_links_show_who_is_up(tmp_path: Path) -> None:
    import httpx

    with live_network(tmp_path, validators=4, timing=FAST) as net:
        net.wait_height(0, 2)

        def links() -> list[dict[str, object]]:
            answer = httpx.get(f"{net.api(0)}/v1/validators/links", timeout=5).json()
            validators: list[dict[str, object]] = answer["validators"]
            return validators

        first = links()
        assert [v["name"] for v in first] == net.names
        assert first[0]["self"] is True and first[0]["connected"] is False
        assert all(v["connected"] for v in first[1:])
        ages = [v["last_message_age_s"] for v in first[1:]]
        assert all(isinstance(a, float) and a < 5 for a in ages)
        net.processes.kill(net.names[3])
        deadline = time.monotonic() + 15
        while links()[3]["connected"]:
            assert time.monotonic() < deadline, "node 0 still reports a link to the killed node"
            time.sleep(0.2)
