"""Every ledger type round-trips and rejects anything but its canonical bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consortia.codec import CodecError, MalformedEncoding, decode, encode
from consortia.ledger.types import Transaction, TxBody

from .strategies import LEDGER_TYPES, transactions, tx_bodies

TYPES = list(LEDGER_TYPES)


@pytest.mark.parametrize("type_", TYPES, ids=lambda t: t.__name__)
@given(data=st.data())
def test_ledger_type_round_trip(type_: type, data: st.DataObject) -> None:
    value = data.draw(LEDGER_TYPES[type_])
    raw = encode(value)
    assert decode(raw, type_) == value


@pytest.mark.parametrize("type_", TYPES, ids=lambda t: t.__name__)
@given(raw=st.binary(max_size=200))
def test_random_bytes_raise_only_codec_errors(type_: type, raw: bytes) -> None:
    try:
        value: object = decode(raw, type_)
    except CodecError:
        return
    assert encode(value) == raw


@pytest.mark.parametrize("type_", TYPES, ids=lambda t: t.__name__)
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
