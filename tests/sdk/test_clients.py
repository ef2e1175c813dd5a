"""The sync and async SDK clients against a live node."""

from __future__ import annotations

import asyncio

import pytest
from tests.support.node import InProcessNode

from consortia.crypto import KeyType
from consortia.sdk import (
    ApiError,
    AsyncClient,
    Client,
    ClientError,
    NodeUnreachable,
    Signer,
    TransactionFailed,
    verify_state_record,
)
from consortia.sdk.verify import explain_state_record

pytestmark = pytest.mark.slow


def test_sync_client_asset_flow(live: InProcessNode) -> None:
    alice = Signer.from_pem_file(live.root / "keys" / "alice.pem")
    carol = Signer.generate(KeyType.P256)
    with Client(live.url) as node:
        created = node.create_asset(
            alice, "SYN", name="sync", decimals=2, supply_rule="capped", max_supply=10**6
        )
        assert created.status == "committed" and created.receipt is not None
        node.issue(alice, "SYN", alice.address, 5_000)
        sent = node.transfer(alice, "SYN", carol.address, 1_250)
        assert sent.tx is not None and sent.tx.args_decoded["amount"] == 1_250
        node.transfer(carol, "SYN", alice.address, 250)  # carol's account is created here
        node.burn(alice, "SYN", 100)
        other = Signer.generate(KeyType.SECP256K1)
        node.add_key(carol, other.key_type.value, other.public_key)
        account = node.account(carol.address)
        assert {b.symbol: b.amount for b in account.balances} == {"SYN": 1_000}
        assert len(account.keys) == 2 and account.nonce == 2
        assert node.asset("SYN").supply == 4_900
        with pytest.raises(TransactionFailed) as failed:
            node.transfer(carol, "SYN", alice.address, 10**9)
        assert failed.value.code == "ASSET_INSUFFICIENT_BALANCE"
        node.transfer(carol, "SYN", alice.address, 1)  # nonce re-synchronised after a failure
        record = node.transaction(sent.tx_id)
        assert record.height == sent.height
        block = node.block(sent.height or 0)
        assert sent.tx_id in block.transactions
        assert node.block_by_id(block.id) == block
        assert node.block("latest").height >= block.height
        state = node.state(b"assets/def/SYN")
        assert verify_state_record(state, live.suite), explain_state_record(state, live.suite)
        with pytest.raises(ApiError) as missing:
            node.asset("NONE")
        assert (missing.value.code, missing.value.http_status) == ("ASSET_NOT_FOUND", 404)
        items = node.submit_batch([b"\x01", b"\x02"])
        assert [i.error.code for i in items if i.error] == ["CODEC_MALFORMED"] * 2
    node.close()  # idempotent
    with pytest.raises(ClientError):
        node.status()


def test_stale_nonce_is_an_api_error(live: InProcessNode) -> None:
    bob = Signer.from_pem_file(live.root / "keys" / "bob.pem")
    with Client(live.url) as node:
        node.create_asset(bob, "BOB", name="b", decimals=0, supply_rule="unlimited")
        node._nonces._next[bob.address] = 0  # pretend we lost track
        with pytest.raises(ApiError) as stale:
            node.issue(bob, "BOB", bob.address, 1)
        assert stale.value.code == "TX_STALE_NONCE"
        node.issue(bob, "BOB", bob.address, 1)


def test_unreachable_node_names_the_url() -> None:
    with Client("http://127.0.0.1:9", timeout=1) as node, pytest.raises(NodeUnreachable) as exc:
        node.status()
    assert exc.value.url == "http://127.0.0.1:9"


async def test_async_client_and_events(live: InProcessNode) -> None:
    dave = Signer.generate(KeyType.SM2)
    async with AsyncClient(live.url) as node:
        status = await node.status()
        assert status.chain_id == "consortia-devnet"
        events = node.events()
        first = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0.1)
        record = await node.create_asset(
            dave, "ASY", name="async", decimals=0, supply_rule="unlimited"
        )
        assert record.receipt is not None and record.receipt.status == "OK"
        event = await asyncio.wait_for(first, 10)
        assert event["type"] in ("block", "tx")
        await events.aclose()
        pending = await node.issue(dave, "ASY", dave.address, 7, wait=None)
        assert pending.status == "pending"
        with pytest.raises(ApiError):
            await node.submit(b"\x00")
        account = await node.account(dave.address)
        assert account.nonce >= 1
        assert (await node.asset("ASY")).name == "async"
    await node.close()
