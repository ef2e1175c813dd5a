"""On a real node over its API: admission checks who signed ([MEMPOOL-ADMIT.4]), and a
transaction admitted with 202 ends committed or dropped with a reason ([MEMPOOL-TRACK.1]).

Regression tests for issue #16, found items 3 (forged senders admitted, filling the
victim's nonces) and 6 (admitted transactions vanishing, or pending forever behind a gap).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from tests.support import transactions as t
from tests.support.node import ThreadNode

from consortia.codec import encode
from consortia.crypto import KeyType, PrivateKey
from consortia.errors import NodeError
from consortia.ledger.types import Transaction, TxBody, tx_signing_bytes
from consortia.modules.assets.types import Create, SupplyRule
from consortia.node.config import NodeConfig, NodeHome, render_config

GAP_TIMEOUT = 12


def forged(signer: PrivateKey, sender: bytes, nonce: int, symbol: str) -> bytes:
    """A transaction claiming ``sender``, validly signed by ``signer``'s own key."""
    args = Create(
        symbol=symbol, name=symbol, decimals=2, supply_rule=SupplyRule.UNLIMITED, max_supply=0
    )
    body = TxBody(
        chain_id=t.CHAIN_ID,
        sender=sender,
        nonce=nonce,
        module="assets",
        method="create",
        args=encode(args),
        gas_limit=1_000_000,
        expiry_height=t.EXPIRY,
    )
    return encode(
        Transaction(
            body=body,
            key_type=signer.key_type.value,
            public_key=signer.public_key().to_bytes(),
            signature=signer.sign(tx_signing_bytes(body)),
        )
    )


@pytest.fixture
def node(tmp_path: Path) -> Iterator[ThreadNode]:
    running = ThreadNode(tmp_path / "net")
    home = NodeHome(running.home)
    config = msgspec.structs.replace(
        home.load_config(), mempool_gap_timeout_blocks=GAP_TIMEOUT, idle_block_interval_ms=100
    )
    assert isinstance(config, NodeConfig)
    home.config_file.write_text(render_config(config), encoding="utf-8")
    running.start()
    try:
        yield running
    finally:
        running.stop()


def post(node: ThreadNode, raw: bytes) -> httpx.Response:
    return httpx.post(f"{node.url}/v1/transactions", json={"tx": raw.hex()}, timeout=10)


def get(node: ThreadNode, raw: bytes) -> dict[str, Any]:
    response = httpx.get(f"{node.url}/v1/transactions/{t.identifier(raw)}", timeout=5)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_status(
    node: ThreadNode, raw: bytes, status: str, timeout_s: float = 30.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        record = get(node, raw)
        if record["status"] == status:
            return record
        assert time.monotonic() < deadline, f"still {record} after {timeout_s} s"
        time.sleep(0.05)


def gossip(node: ThreadNode, raws: list[bytes]) -> list[bytes | NodeError]:
    """Offer ``raws`` the way the router admits a peer's gossip."""
    assert node.node is not None and node._loop is not None
    future = asyncio.run_coroutine_threadsafe(
        node.node.service.submit_many(raws, gossip=False), node._loop
    )
    return future.result(30)


def test_a_forged_sender_flood_is_refused_and_the_victim_commits_at_once(
    node: ThreadNode,
) -> None:
    """Found item 3: 50 transactions claiming alice, signed by another key."""
    alice = node.key("alice")
    mallory = t.key(KeyType.SM2, 4242)
    victim = alice.public_key().address()
    flood = [forged(mallory, victim, nonce, f"F{nonce}") for nonce in range(50)]
    for raw in flood:
        response = post(node, raw)
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "TX_UNAUTHORIZED"
        assert victim.hex() in error["message"]
    own = forged(alice, victim, 0, "ALICE")  # alice's own key: authorised
    response = post(node, own)
    assert response.status_code == 202, response.text
    record = wait_status(node, own, "committed")
    assert record["receipt"]["status"] == "OK"


def test_a_key_may_create_only_its_own_address(node: ThreadNode) -> None:
    """A new account (no state): the signing key's address must be the sender."""
    newcomer = t.key(KeyType.SM2, 77).public_key().address()
    response = post(node, forged(t.key(KeyType.SM2, 78), newcomer, 0, "NEW"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "TX_UNAUTHORIZED"
    assert "may not create" in response.json()["error"]["message"]


def test_gossip_of_a_forged_sender_is_refused(node: ThreadNode) -> None:
    victim = node.key("alice").public_key().address()
    mallory = t.key(KeyType.SECP256K1, 4243)
    outcomes = gossip(node, [forged(mallory, victim, n, f"G{n}") for n in range(5)])
    assert [getattr(o, "code", "admitted") for o in outcomes] == ["TX_UNAUTHORIZED"] * 5
    assert node.status()["mempool_size"] == 0


def test_a_transaction_behind_a_nonce_gap_is_dropped_with_its_reason(node: ThreadNode) -> None:
    """Found item 6: no longer pending forever; GET says why it left."""
    sender = t.key(KeyType.SM2, 5)
    stuck = t.create_asset(sender, 3, "GAP")  # nonces 0-2 never sent
    before = node.status()["height"]
    assert post(node, stuck).status_code == 202
    assert get(node, stuck)["status"] == "pending"
    record = wait_status(node, stuck, "dropped")
    assert record["reason"] == "nonce_gap_timeout"
    assert record["height"] >= before + GAP_TIMEOUT  # not before its timeout
    assert "nonce gap" in record["message"]
    # The sender's next transaction is not blocked by it.
    first = t.create_asset(sender, 0, "OK0")
    assert post(node, first).status_code == 202
    assert wait_status(node, first, "committed")["receipt"]["status"] == "OK"


def test_an_expired_transaction_is_dropped_as_expired(node: ThreadNode) -> None:
    sender = t.key(KeyType.SM2, 6)
    height = node.status()["height"]
    body = TxBody(
        chain_id=t.CHAIN_ID,
        sender=sender.public_key().address(),
        nonce=1,  # behind a gap, so it waits until its expiry
        module="assets",
        method="create",
        args=encode(Create("EXP", "EXP", 2, SupplyRule.UNLIMITED, 0)),
        gas_limit=1_000_000,
        expiry_height=height + 8,  # before its gap timeout (12 blocks)
    )
    raw = encode(
        Transaction(
            body=body,
            key_type="sm2",
            public_key=sender.public_key().to_bytes(),
            signature=sender.sign(tx_signing_bytes(body)),
        )
    )
    response = post(node, raw)
    assert response.status_code == 202, response.text
    record = wait_status(node, raw, "dropped")
    assert record["reason"] == "expired"
    assert record["height"] >= height + 8


def test_the_status_enum_is_documented(node: ThreadNode) -> None:
    spec = httpx.get(f"{node.url}/openapi.json", timeout=10).json()
    schema = spec["components"]["schemas"]["TransactionJson"]["properties"]
    assert set(schema["status"]["enum"]) == {"pending", "committed", "dropped"}
    reasons = schema["reason"]["anyOf"][0]["enum"]
    assert set(reasons) == {"expired", "nonce_gap_timeout", "replaced"}


def test_an_ethereum_envelope_claiming_another_sender_is_refused_as_unauthorised(
    node: ThreadNode,
) -> None:
    """eth_sendRawTransaction derives the sender from the signature; a peer could still
    gossip an envelope with the sender rewritten. The signer check refuses it first."""
    from eth_account import Account

    from consortia.evm.context import evm_chain_id
    from consortia.evm.ethtx import envelope

    wallet = Account.from_key((4244).to_bytes(32, "big"))
    fields = {"nonce": 0, "gas": 100_000, "gasPrice": 0, "value": 0, "data": b"", "to": None}
    chain = evm_chain_id(t.CHAIN_ID)
    raw = bytes(wallet.sign_transaction({**fields, "chainId": chain}).raw_transaction)
    genuine = envelope(raw, t.CHAIN_ID, chain)
    victim = node.key("alice").public_key().address()
    rewritten = msgspec.structs.replace(
        genuine, body=msgspec.structs.replace(genuine.body, sender=victim)
    )
    (outcome,) = gossip(node, [encode(rewritten)])
    assert isinstance(outcome, NodeError) and outcome.code == "TX_UNAUTHORIZED"
    (admitted,) = gossip(node, [encode(genuine)])  # its own sender: admitted
    assert isinstance(admitted, bytes)
