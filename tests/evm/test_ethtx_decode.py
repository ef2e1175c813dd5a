"""The lean Ethereum transaction decoder against py-evm's, on valid and mutated bytes.

:func:`consortia.evm.ethtx.decode_raw` must accept exactly what py-evm's
Cancun transaction builder accepts (minus blob transactions and unprotected
signatures, which both paths refuse) and read the same fields, signing digest
and key from it.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth.exceptions import PyEVMError
from eth.vm.forks.cancun import CancunVM
from eth_account import Account
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.address import to_checksum_address
from eth_utils.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rlp.exceptions import RLPException

from consortia.crypto import keccak256
from consortia.evm.errors import EthTxInvalid
from consortia.evm.ethtx import decode_raw, recover_key

WALLET = Account.from_key(b"\x07" * 32)
WALLET_KEY = b"\x04" + WALLET._key_obj.public_key.to_bytes()
# py-evm's refusals (UnrecognizedTransactionType is a PyEVMError: the decoder this one
# replaces let it escape for type bytes 0x05-0x7f).
_REFUSED = (RLPException, ValidationError, ValueError, TypeError, IndexError, PyEVMError)


def reference(raw: bytes) -> dict[str, Any] | None:
    """What py-evm reads from ``raw``, or None where it (or the EIP-155 rule) refuses."""
    if raw[:1] == b"\x03":
        return None
    try:
        tx = CancunVM.get_transaction_builder().decode(raw)
        chain_id = tx.chain_id
    except _REFUSED:
        return None
    if chain_id is None:
        return None
    typed = int(getattr(tx, "type_id", None) or 0)
    v = int(tx.y_parity) if typed else int(tx.v)
    return {
        "tx_type": typed,
        "chain_id": int(chain_id),
        "nonce": int(tx.nonce),
        "gas": int(tx.gas),
        "to": bytes(tx.to),
        "value": int(tx.value),
        "data": bytes(tx.data),
        "v": v,
        "y_parity": v if typed else v - 35 - 2 * int(chain_id),
        "r": int(tx.r),
        "s": int(tx.s),
        "signing_hash": keccak256(tx.get_message_for_signing()),
    }


def lean(raw: bytes) -> dict[str, Any] | None:
    try:
        tx = decode_raw(raw)
    except EthTxInvalid:
        return None
    return {name: getattr(tx, name) for name in reference_fields()}


def reference_fields() -> tuple[str, ...]:
    return (
        "tx_type",
        "chain_id",
        "nonce",
        "gas",
        "to",
        "value",
        "data",
        "v",
        "y_parity",
        "r",
        "s",
        "signing_hash",
    )


def reference_key(raw: bytes) -> bytes | None:
    tx = CancunVM.get_transaction_builder().decode(raw)
    parity = int(tx.y_parity) if getattr(tx, "type_id", None) else int(tx.v) - 35 - 2 * tx.chain_id
    try:
        signature = Signature(vrs=(parity, int(tx.r), int(tx.s)))
        public = signature.recover_public_key_from_msg(tx.get_message_for_signing())
    except (BadSignature, ValidationError, ValueError):
        return None
    return b"\x04" + public.to_bytes()


def lean_key(raw: bytes) -> bytes | None:
    try:
        return recover_key(decode_raw(raw))
    except EthTxInvalid:
        return None


_U256 = st.integers(0, 2**256 - 1)
_ADDRESS = st.binary(min_size=20, max_size=20)
_ACCESS_LIST = st.lists(
    st.tuples(_ADDRESS, st.lists(_U256, max_size=3)).map(
        lambda e: {
            "address": to_checksum_address(e[0]),
            "storageKeys": ["0x" + k.to_bytes(32, "big").hex() for k in e[1]],
        }
    ),
    max_size=3,
)


@st.composite
def signed_transactions(draw: st.DrawFn) -> bytes:
    """A raw transaction of type 0 (EIP-155), 1 or 2, as a wallet signs it."""
    kind = draw(st.sampled_from([0, 1, 2]))
    fields: dict[str, Any] = {
        "nonce": draw(st.integers(0, 2**64 - 1)),
        "gas": draw(st.integers(21_000, 2**63)),
        "value": draw(st.integers(0, 2**70)),
        "data": draw(st.binary(max_size=300)),
        "chainId": draw(st.integers(1, 2**31)),
    }
    to = draw(st.none() | _ADDRESS)
    if to is not None:
        fields["to"] = to_checksum_address(to)
    if kind == 2:
        fields.update(type=2, maxFeePerGas=draw(_U256), maxPriorityFeePerGas=0)
    else:
        fields["gasPrice"] = draw(st.integers(0, 2**80))
    if kind >= 1:
        fields["accessList"] = draw(_ACCESS_LIST)
        fields.setdefault("type", kind)
    return bytes(WALLET.sign_transaction(fields).raw_transaction)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signed_transactions())
def test_wallet_transactions_decode_as_py_evm_reads_them(raw: bytes) -> None:
    expected = reference(raw)
    assert expected is not None
    assert lean(raw) == expected
    assert lean_key(raw) == reference_key(raw) == WALLET_KEY


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A wallet transaction with a few bytes changed, cut, inserted or re-typed."""
    raw = bytearray(draw(signed_transactions()))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "type"]))
        at = draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[at] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del raw[at : at + draw(st.integers(1, 4))]
        elif op == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=3))
        elif raw:
            raw[0] = draw(st.sampled_from([0, 1, 2, 3, 4, 0x7F, 0xC0, 0xF8]))
    return bytes(raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_bytes_are_refused_or_read_exactly_as_py_evm(raw: bytes) -> None:
    assert lean(raw) == reference(raw)
    if reference(raw) is not None:
        assert lean_key(raw) == reference_key(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "unknown transaction type"),
        (b"\x04\xc0", "unknown transaction type"),
        (b"\x03\xc0", "blob transactions"),
        (b"\x02\xc0", "wrong number of fields"),
        (b"\xc1\x80", "wrong number of fields"),
        (b"\x02\xcc" + b"\x00" + b"\x80" * 11, "chain_id has leading zeros"),
    ],
)
def test_refusals_name_what_is_wrong(raw: bytes, message: str) -> None:
    with pytest.raises(EthTxInvalid, match=message):
        decode_raw(raw)
