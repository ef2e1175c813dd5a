"""Every ledger type round-trips and rejects anything but its canonical bytes."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortia.codec import CodecError, MalformedEncoding, decode, encode
from consortia.ledger.types import DOMAIN_TX, Transaction, TxBody, tx_id, tx_signing_bytes

from .strategies import LEDGER_TYPES, transactions, tx_bodies

TYPES = list(LEDGER_TYPES)
PER_TYPE = settings(max_examples=60)  # nine types each: keep the suite fast


@pytest.mark.parametrize("type_", TYPES, ids=lambda t: t.__name__)
@PER_TYPE
@given(data=st.data())
def test_ledger_type_round_trip(type_: type, data: st.DataObject) -> None:
    value = data.draw(LEDGER_TYPES[type_])
    raw = encode(value)
    assert decode(raw, type_) == value


@pytest.mark.parametrize("type_", TYPES, ids=lambda t: t.__name__)
@PER_TYPE
@given(raw=st.binary(max_size=200))
def test_random_bytes_raise_only_codec_errors(type_: type, raw: bytes) -> None:
    try:
        value: object = decode(raw, type_)
    except CodecError:
        return
    assert encode(value) == raw


@pytest.mark.parametrize("type_", TYPES, ids=lambda t: t.__name__)
@PER_TYPE
@given(data=st.data())
def test_mutated_bytes_raise_only_codec_errors(type_: type, data: st.DataObject) -> None:
    """Flip, insert or drop bytes of a valid encoding: a CodecError, or canonical bytes."""
    raw = bytearray(encode(data.draw(LEDGER_TYPES[type_])))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        action = data.draw(st.sampled_from(["flip", "insert", "drop"]))
        byte = data.draw(st.integers(0, 255))
        if action == "flip" and raw:
            raw[position] = byte
        elif action == "insert":
            raw.insert(position, byte)
        elif raw:
            del raw[position]
    try:
        value: object = decode(bytes(raw), type_)
    except CodecError:
        return
    assert encode(value) == bytes(raw)


@given(tx_bodies)
def test_tx_body_chain_id_rejects_trailing_newline(body: TxBody) -> None:
    fields = list(decode(encode(body), tuple[object, ...]))
    fields[0] = body.chain_id + "\n"
    with pytest.raises(MalformedEncoding):
        decode(encode(fields), TxBody)


@given(transactions)
def test_transaction_key_type_rejects_trailing_newline(tx: Transaction) -> None:
    raw = encode([tx.body, tx.key_type + "\n", tx.public_key, tx.signature])
    with pytest.raises(MalformedEncoding):
        decode(raw, Transaction)


def test_spec_ledger_worked_example_tx_body() -> None:
    """The worked example of docs/spec/ledger.md §9, byte for byte."""
    body = TxBody(
        chain_id="demo",
        sender=bytes.fromhex("00112233445566778899aabbccddeeff00112233"),
        nonce=7,
        module="currency",
        method="transfer",
        args=encode([1000, "CNY"]),
        gas_limit=50000,
        expiry_height=300,
    )
    expected = bytes.fromhex(
        "98a464656d6fc41400112233445566778899aabbccddeeff0011223307a863757272656e6379"
        "a87472616e73666572c40892cd03e8a3434e59cdc350cd012c"
    )
    assert encode(body) == expected
    assert decode(expected, TxBody) == body
    assert tx_signing_bytes(body) == bytes.fromhex("434f4e534f525449412f54582f763100") + expected
    assert DOMAIN_TX == b"CONSORTIA/TX/v1\x00"
    sha256 = lambda data: hashlib.sha256(data).digest()  # noqa: E731
    assert tx_id(sha256, body).hex() == (
        "9fff1549235cb2a2ced7bf4f3ec7ade0b94c8e197d1a98dfb714e9fe984ad68b"
    )
