"""Ethereum-signed transactions in Consortia envelopes ([LEDGER-TX-ETH.1])."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
import rlp
from eth_account import Account
from eth_utils import to_canonical_address
from tests.evm.test_execution import COUNTER, OPEN, attrs, calldata, creation_code
from tests.execution.chain import CHAIN_ID, Chain, genesis_for, key

from consortia.crypto import KeyType, keccak256
from consortia.evm.context import evm_chain_id
from consortia.evm.errors import EthTxInvalid
from consortia.evm.ethtx import envelope, verify_envelope
from consortia.mempool.pool import verify_signatures

USER = key(KeyType.SECP256K1, 7)
WALLET = Account.from_key((7 + 1).to_bytes(32, "big"))  # the secret of key(SECP256K1, 7)
EVM_CHAIN = evm_chain_id(CHAIN_ID)


def signed(**fields: Any) -> bytes:
    tx = {
        "nonce": 0,
        "gas": 1_000_000,
        "maxFeePerGas": 0,
        "maxPriorityFeePerGas": 0,
        "value": 0,
        "data": b"",
        "chainId": EVM_CHAIN,
        "type": 2,
    }
    tx.update(fields)
    return bytes(WALLET.sign_transaction(tx).raw_transaction)


def test_the_wallet_is_the_registered_secp256k1_account() -> None:
    assert to_canonical_address(WALLET.address) == USER.public_key().address()


def test_envelope_is_recomputed_from_the_raw_bytes() -> None:
    raw = signed(to="0x" + "11" * 20, data=b"\x01\x02")
    tx = envelope(raw, CHAIN_ID, EVM_CHAIN)
    assert tx.key_type == "eth" and tx.body.args == raw
    assert tx.body.sender == USER.public_key().address()
    assert tx.public_key == USER.public_key().to_bytes()
    assert verify_envelope(tx) and verify_signatures([tx]) == [True]
    for forged in (
        msgspec.structs.replace(tx, body=msgspec.structs.replace(tx.body, nonce=5)),
        msgspec.structs.replace(tx, body=msgspec.structs.replace(tx.body, gas_limit=1)),
        msgspec.structs.replace(tx, body=msgspec.structs.replace(tx.body, sender=bytes(20))),
        msgspec.structs.replace(tx, public_key=key(KeyType.SECP256K1, 8).public_key().to_bytes()),
        msgspec.structs.replace(tx, body=msgspec.structs.replace(tx.body, args=raw[:-1] + b"\0")),
    ):
        assert not verify_envelope(forged)
        assert verify_signatures([forged]) == [False]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x01garbage", "not a valid signed Ethereum transaction"),
        (b"", "not a valid signed Ethereum transaction"),
    ],
)
def test_undecodable_bytes_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(EthTxInvalid, match=message):
        envelope(raw, CHAIN_ID, EVM_CHAIN)


def test_wrong_chain_value_and_unprotected_signatures_are_refused() -> None:
    with pytest.raises(EthTxInvalid, match="chain id"):
        envelope(signed(to="0x" + "11" * 20, chainId=1), CHAIN_ID, EVM_CHAIN)
    with pytest.raises(EthTxInvalid, match="value transfers"):
        envelope(signed(to="0x" + "11" * 20, value=1), CHAIN_ID, EVM_CHAIN)
    legacy = {"nonce": 0, "gas": 50_000, "gasPrice": 0, "to": "0x" + "22" * 20, "value": 0}
    unprotected = bytes(WALLET.sign_transaction(legacy).raw_transaction)  # no chainId
    with pytest.raises(EthTxInvalid, match="EIP-155"):
        envelope(unprotected, CHAIN_ID, EVM_CHAIN)
    protected = bytes(WALLET.sign_transaction({**legacy, "chainId": EVM_CHAIN}).raw_transaction)
    assert verify_envelope(envelope(protected, CHAIN_ID, EVM_CHAIN))


def test_deploy_and_call_with_ethereum_signed_transactions(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path, genesis_for([USER], policy=OPEN))
    try:
        deploy = envelope(signed(data=creation_code(COUNTER)), CHAIN_ID, EVM_CHAIN)
        outcome = chain.run(deploy)
        assert outcome.receipt.status == "OK", outcome.receipt.message
        address = bytes.fromhex(attrs(outcome, "contract_created")["address"])
        # The address Ethereum tools compute from the transaction's nonce.
        assert address == keccak256(rlp.encode([USER.public_key().address(), 0]))[12:]
        bump = calldata("bump(uint256)", ["uint256"], [3])
        call = envelope(signed(nonce=1, to=address, data=bump), CHAIN_ID, EVM_CHAIN)
        outcome = chain.run(call)
        assert outcome.receipt.status == "OK", outcome.receipt.message
        assert attrs(outcome, "returned")["output"] == (3).to_bytes(32, "big").hex()
        # Replaying a raw transaction is refused by its nonce.
        assert chain.run(call).receipt.status == "TX_STALE_NONCE"
    finally:
        chain.close()
