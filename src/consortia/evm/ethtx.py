"""Ethereum-signed transactions carried in Consortia envelopes ([LEDGER-TX-ETH.1]).

So that web3.py, ethers and wallets work unchanged, ``eth_sendRawTransaction``
accepts a raw signed transaction (EIP-155 legacy, EIP-2930 or EIP-1559) of a
secp256k1 account and wraps it in an envelope: key type ``eth``, module
``evm``, method ``eth_transaction``, ``args`` = the raw bytes, ``sender``,
``nonce`` and ``gas_limit`` copied from it, ``expiry_height`` = NO_EXPIRY,
``public_key`` = the key its signature recovers and ``signature`` = its
(r, s, y-parity). Every check an envelope gets — admission, the proposal
check, the verifier — recomputes all of that from the raw bytes
(:func:`verify_envelope`), so a peer cannot pass off a different body. Fee
fields are ignored (gas price is zero); a non-zero value, a blob transaction
or a pre-EIP-155 signature is refused.
"""

from __future__ import annotations

from typing import Any

from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.exceptions import ValidationError
from rlp.exceptions import RLPException

from consortia.crypto import keccak256
from consortia.evm.context import VM, evm_chain_id
from consortia.evm.errors import EthTxInvalid
from consortia.ledger.types import ETH_KEY_TYPE, NO_EXPIRY, Transaction, TxBody

ETH_METHOD = "eth_transaction"


def decode_raw(raw: bytes) -> Any:
    """The py-evm transaction of ``raw`` bytes.

    Raises:
        EthTxInvalid: not a decodable, supported, EIP-155 signed transaction.
    """
    if raw[:1] == b"\x03":
        raise EthTxInvalid("blob transactions (EIP-4844) are not supported")
    try:
        tx = VM.get_transaction_builder().decode(raw)
    except (RLPException, ValidationError, ValueError, TypeError, IndexError) as exc:
        raise EthTxInvalid(f"not a valid signed Ethereum transaction: {exc}") from None
    if getattr(tx, "chain_id", None) is None:
        raise EthTxInvalid("transaction is not EIP-155 protected (no chain id)")
    return tx


def _y_parity(tx: Any) -> int:
    if hasattr(tx, "y_parity"):
        return int(tx.y_parity)
    parity = int(tx.v) - 35 - 2 * int(tx.chain_id)
    if parity not in (0, 1):
        raise EthTxInvalid(f"legacy signature v={tx.v} does not match chain id {tx.chain_id}")
    return parity


def recover_key(tx: Any) -> bytes:
    """The uncompressed secp256k1 public key (65 bytes) that signed ``tx``.

    Raises:
        EthTxInvalid: the signature does not recover a key.
    """
    try:
        signature = Signature(vrs=(_y_parity(tx), int(tx.r), int(tx.s)))
        public = signature.recover_public_key_from_msg(tx.get_message_for_signing())
    except (BadSignature, ValidationError, ValueError) as exc:
        raise EthTxInvalid(f"signature does not recover a key: {exc}") from None
    return b"\x04" + public.to_bytes()


def envelope(raw: bytes, chain_id: str, evm_chain: int) -> Transaction:
    """Wrap a raw signed transaction for this chain.

    Raises:
        EthTxInvalid: undecodable, another chain id, a value transfer, or a bad signature.
    """
    tx = decode_raw(raw)
    if int(tx.chain_id) != evm_chain:
        raise EthTxInvalid(f"transaction is for chain id {tx.chain_id}, this is {evm_chain}")
    if int(tx.value) != 0:
        raise EthTxInvalid("value transfers are not supported (the chain has no native coin)")
    public_key = recover_key(tx)
    body = TxBody(
        chain_id=chain_id,
        sender=keccak256(public_key[1:])[12:],
        nonce=int(tx.nonce),
        module="evm",
        method=ETH_METHOD,
        args=raw,
        gas_limit=int(tx.gas),
        expiry_height=NO_EXPIRY,
    )
    signature = int(tx.r).to_bytes(32, "big") + int(tx.s).to_bytes(32, "big")
    return Transaction(
        body=body,
        key_type=ETH_KEY_TYPE,
        public_key=public_key,
        signature=signature + bytes([_y_parity(tx)]),
    )


def verify_envelope(tx: Transaction) -> bool:
    """True if ``tx`` is exactly the envelope :func:`envelope` makes of its raw bytes."""
    try:
        return envelope(tx.body.args, tx.body.chain_id, evm_chain_id(tx.body.chain_id)) == tx
    except EthTxInvalid:
        return False
