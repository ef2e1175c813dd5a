"""The verifier replays multisig transactions and checks every one of their signatures.

[LEDGER-TX-MULTI.1], [ACCT-MULTISIG.1] on the verify/replay path: a chain
whose account turns 2-of-2 and then sends with both keys verifies whole (the
replay reaches the node's roots); a block whose multisig carries one signature
over another body is refused at that height, though its proposer and quorum
signed it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.verify.chain import ChainBuilder

from consortia.codec import encode
from consortia.crypto import KeyType, PrivateKey
from consortia.ledger.types import (
    Transaction,
    TxBody,
    TxSignature,
    multisig_transaction,
    tx_signing_bytes,
)
from consortia.modules.accounts.types import AccountKey, SetMultisig, WeightedKey
from consortia.modules.assets.types import Create, SupplyRule
from consortia.verify.verifier import verify_chain

CO_SIGNER = PrivateKey.from_secret(KeyType.P256, (4242).to_bytes(32, "big"))


def _body(owner: PrivateKey, nonce: int, method: str, args: object, module: str) -> TxBody:
    return TxBody(
        chain_id="consortia-devnet",
        sender=owner.public_key().address(),
        nonce=nonce,
        module=module,
        method=method,
        args=encode(args),
        gas_limit=1_000_000,
        expiry_height=1_000,
    )


def _part(key: PrivateKey, body: TxBody) -> TxSignature:
    return TxSignature(
        key_type=key.key_type.value,
        public_key=key.public_key().to_bytes(),
        signature=key.sign(tx_signing_bytes(body)),
    )


def _key(key: PrivateKey) -> AccountKey:
    return AccountKey(key_type=key.key_type.value, public_key=key.public_key().to_bytes())


def _create(symbol: str) -> Create:
    return Create(symbol, symbol, 0, SupplyRule.UNLIMITED, 0, True)


def _setup(builder: ChainBuilder) -> tuple[PrivateKey, Transaction]:
    """Block 1: the owner makes its account 2-of-2 with CO_SIGNER; returns the next body's tx."""
    owner = builder.user_keys[0]
    policy = SetMultisig(
        keys=(WeightedKey(_key(owner), 1), WeightedKey(_key(CO_SIGNER), 1)), threshold=2
    )
    body = _body(owner, 0, "set_multisig", policy, "accounts")
    builder.add((multisig_transaction(body, [_part(owner, body)]),))
    create = _body(owner, 1, "create", _create("MSV"), "assets")
    return owner, multisig_transaction(create, [_part(owner, create), _part(CO_SIGNER, create)])


@pytest.fixture
def builder(tmp_path: Path) -> Iterator[ChainBuilder]:
    chain = ChainBuilder(tmp_path)
    yield chain
    chain.close()


def test_a_chain_with_multisig_transactions_verifies(builder: ChainBuilder) -> None:
    owner, both = _setup(builder)
    alone = _body(owner, 2, "create", _create("ALN"), "assets")
    builder.add((both,))
    builder.add((multisig_transaction(alone, [_part(owner, alone)]),))  # refused: below 2
    builder.add()
    report = verify_chain(builder.genesis, builder.records)
    assert report.ok, report.problem
    assert report.transactions == 3


def test_a_multisig_signature_over_another_body_is_refused(builder: ChainBuilder) -> None:
    owner, both = _setup(builder)
    other = _body(owner, 9, "create", _create("OTH"), "assets")
    forged = multisig_transaction(both.body, [_part(owner, both.body), _part(CO_SIGNER, other)])
    builder.add((forged,))
    builder.add()
    report = verify_chain(builder.genesis, builder.records)
    assert not report.ok and report.first_bad_height == 2
    assert "bad signature" in report.problem
