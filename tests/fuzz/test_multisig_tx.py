"""Fuzzing the multisig transaction envelope ([LEDGER-TX-MULTI.1]).

Transactions reach a node as bytes (REST, JSON-RPC, P2P gossip, blocks from
peers). On mutations of real single- and multi-signature transactions:
decoding returns a transaction whose canonical encoding is exactly the input,
or raises a ``CodecError`` (a malformed multisig envelope included, never a
bare ``ValueError``); and signature verification of whatever decodes answers
a bool, never raises, and accepts only untouched signatures.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz.conftest import fuzz_settings

from consortia.codec import CodecError, decode, encode
from consortia.crypto import KeyType, PrivateKey
from consortia.ledger.types import (
    Transaction,
    TxBody,
    TxSignature,
    multisig_transaction,
    tx_signing_bytes,
)
from consortia.mempool.pool import verify_signatures

_KEYS = [
    PrivateKey.from_secret(t, (900 + i).to_bytes(32, "big"))
    for i, t in enumerate((KeyType.SM2, KeyType.P256, KeyType.SECP256K1))
]
_BODY = TxBody(
    chain_id="consortia-devnet",
    sender=_KEYS[0].public_key().address(),
    nonce=3,
    module="assets",
    method="transfer",
    args=b"\x93\xa3CNY\xc4\x14" + b"\x01" * 20 + b"\x05",
    gas_limit=200_000,
    expiry_height=1_000,
)


def _entry(key: PrivateKey) -> TxSignature:
    return TxSignature(
        key_type=key.key_type.value,
        public_key=key.public_key().to_bytes(),
        signature=key.sign(tx_signing_bytes(_BODY)),
    )


SEEDS = [
    encode(multisig_transaction(_BODY, [_entry(_KEYS[0])])),
    encode(multisig_transaction(_BODY, [_entry(k) for k in _KEYS[:2]])),
    encode(multisig_transaction(_BODY, [_entry(k) for k in _KEYS])),
]
"""Real transactions: one signature (plain envelope), two and three (multisig)."""


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, len(data) - 1)) if data else 0
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            del data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


def test_the_seeds_verify() -> None:
    txs = [decode(seed, Transaction) for seed in SEEDS]
    assert verify_signatures(txs) == [True, True, True]


@fuzz_settings(300)
@given(data=_mutated())
def test_mutated_transactions_decode_canonically_or_not_at_all(data: bytes) -> None:
    try:
        tx = decode(data, Transaction)
    except CodecError:
        return
    assert encode(tx) == data
    (verdict,) = verify_signatures([tx])
    assert isinstance(verdict, bool)
    if verdict and tx.body == _BODY:
        assert data in SEEDS  # a changed signature byte never verifies
