"""Multisig accounts through the SDK against a live node (real signatures, real sockets).

A 2-of-3 account transfers with two signatures, is refused at admission with
one, rotates its keys with a transaction meeting the threshold, and after
that the old key set no longer signs ([ACCT-MULTISIG.1], [ACCT-MULTISIG.2]).
"""

from __future__ import annotations

import asyncio

import pytest
from tests.support.node import InProcessNode

from consortia.crypto import KeyType
from consortia.ledger.types import multisig_transaction
from consortia.modules.assets.types import Transfer
from consortia.sdk import ApiError, AsyncClient, Client, PendingMultisig, Signer

pytestmark = pytest.mark.slow


def _balance(node: Client, address: bytes, symbol: str) -> int:
    return {b.symbol: b.amount for b in node.account(address).balances}.get(symbol, 0)


def test_two_of_three_transfers_rotates_and_retires_the_old_set(live: InProcessNode) -> None:
    alice = Signer.from_pem_file(live.root / "keys" / "alice.pem")
    k1, k2, k3 = (Signer.generate(t) for t in (KeyType.SM2, KeyType.P256, KeyType.SECP256K1))
    n1, n2 = Signer.generate(KeyType.SM2), Signer.generate(KeyType.SM2)
    wallet = k1.address  # k1 creates the account with its first transaction
    payee = Signer.generate(KeyType.SM2).address
    with Client(live.url) as node:
        node.create_asset(alice, "MSG", name="multisig", decimals=0, supply_rule="unlimited")
        node.issue(alice, "MSG", wallet, 100)
        keys = [(s.key_type.value, s.public_key, 1) for s in (k1, k2, k3)]
        node.set_multisig([k1], wallet, keys, threshold=2)
        account = node.account(wallet)
        assert account.threshold == 2 and [k.weight for k in account.keys] == [1, 1, 1]

        sent = node.send_multisig(
            [k1, k3], wallet, "assets", "transfer", Transfer("MSG", payee, 10)
        )
        assert sent.tx is not None and sent.tx.key_type == "multisig"
        assert _balance(node, payee, "MSG") == 10

        with pytest.raises(ApiError) as alone:
            node.send_multisig([k2], wallet, "assets", "transfer", Transfer("MSG", payee, 1))
        assert alone.value.code == "TX_BELOW_THRESHOLD"
        # A hand-built envelope with k2 twice: the SDK would not build it, the node refuses it.
        body = node.prepare(wallet, "assets", "transfer", Transfer("MSG", payee, 1)).body
        twice = multisig_transaction(body, [k2.sign_part(body), k2.sign_part(body)])
        with pytest.raises(ApiError) as refused:
            node.submit(twice)
        assert refused.value.code == "TX_DUPLICATE_SIGNER"

        # Offline collection: prepare, pass the hex around, each signer adds theirs.
        pending = node.prepare(wallet, "assets", "transfer", Transfer("MSG", payee, 5))
        passed = PendingMultisig.from_hex(pending.to_hex()).with_signature(k2)
        passed = PendingMultisig.from_hex(passed.to_hex()).with_signature(k3)
        record = node.submit(passed.transaction(), wait=10.0)
        assert record.receipt is not None and record.receipt.status == "OK"
        assert record.tx_id == "0x" + passed.tx_id(live.suite).hex()
        assert _balance(node, payee, "MSG") == 15

        # Rotation: the current set (two of k1..k3) installs n1+n2, 2-of-2.
        new = [(s.key_type.value, s.public_key, 1) for s in (n1, n2)]
        rotated = node.set_multisig([k2, k3], wallet, new, threshold=2)
        assert rotated.receipt is not None
        assert [e.name for e in rotated.receipt.events] == ["multisig_set"]
        with pytest.raises(ApiError) as old:
            node.send_multisig([k1, k2], wallet, "assets", "transfer", Transfer("MSG", payee, 1))
        assert old.value.code == "TX_SIGNER_NOT_IN_SET"
        with pytest.raises(ApiError) as half:
            node.send_multisig([n1], wallet, "assets", "transfer", Transfer("MSG", payee, 1))
        assert half.value.code == "TX_BELOW_THRESHOLD"
        node.send_multisig([n2, n1], wallet, "assets", "transfer", Transfer("MSG", payee, 1))
        assert _balance(node, payee, "MSG") == 16
        assert node.account(wallet).nonce == 5


def test_async_client_prepares_and_sends(live: InProcessNode) -> None:
    k1, k2 = Signer.generate(KeyType.SM2), Signer.generate(KeyType.P256)

    async def scenario() -> None:
        async with AsyncClient(live.url) as node:
            keys = [(k1.key_type.value, k1.public_key, 2), (k2.key_type.value, k2.public_key, 1)]
            await node.set_multisig([k1], k1.address, keys, threshold=3)
            pending = await node.prepare(k1.address, "accounts", "set_multisig", _one_key(k2))
            assert pending.body.nonce == 1
            with pytest.raises(ApiError) as refused:
                await node.submit(pending.with_signature(k1).transaction())
            assert refused.value.code == "TX_BELOW_THRESHOLD"
            both = pending.with_signature(k1).with_signature(k2)
            record = await node.submit(both.transaction(), wait=10.0)
            assert record.receipt is not None and record.receipt.status == "OK"
            account = await node.account(k1.address)
            assert account.threshold == 1 and len(account.keys) == 1

    asyncio.run(scenario())


def _one_key(signer: Signer) -> object:
    from consortia.sdk.multisig import set_multisig_args

    return set_multisig_args([(signer.key_type.value, signer.public_key, 1)], 1)
