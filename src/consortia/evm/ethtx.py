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

Decoding follows the transaction encodings of the Ethereum yellow paper
(legacy, with EIP-155's chain id in ``v``), EIP-2718 (typed envelopes),
EIP-2930 and EIP-1559, with exactly the field rules of py-evm's decoder
(canonical RLP, integers without leading zeros, 20-byte ``to`` or empty,
access lists of 20-byte addresses and 32-byte keys; the property tests in
tests/evm/test_ethtx_decode.py compare the two on valid and mutated bytes).
It works on RLP items directly instead of py-evm's transaction objects, and
hashes the signed part by slicing the raw bytes instead of re-encoding them:
a node checks every transaction this way, several times over its life.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

import msgspec
import rlp
from rlp.codec import consume_length_prefix, length_prefix

from consortia.crypto import ecrecover, keccak256
from consortia.crypto.batch import failed_check
from consortia.evm.context import evm_chain_id
from consortia.evm.errors import EthTxInvalid
from consortia.ledger.types import ETH_KEY_TYPE, NO_EXPIRY, Transaction, TxBody

ETH_METHOD = "eth_transaction"

SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_U64: Final = 1 << 64
_LEGACY: Final = 0
_BLOB: Final = 3
_ACCESS_LIST_TX: Final = (
    "chain_id", "nonce", "gas_price", "gas", "to", "value", "data", "access_list", "v", "r", "s"
)  # fmt: skip
_DYNAMIC_FEE_TX: Final = (
    "chain_id", "nonce", "max_priority_fee_per_gas", "max_fee_per_gas", "gas", "to", "value",
    "data", "access_list", "v", "r", "s",
)  # fmt: skip
_LAYOUT: Final[dict[int, tuple[str, ...]]] = {
    _LEGACY: ("nonce", "gas_price", "gas", "to", "value", "data", "v", "r", "s"),
    1: _ACCESS_LIST_TX,
    2: _DYNAMIC_FEE_TX,
}
"""Field order per transaction type (fee fields are checked, then ignored)."""


@dataclass(frozen=True, slots=True)
class EthTx:
    """The fields of a signed Ethereum transaction that the chain uses."""

    tx_type: int
    """0 for legacy, else the EIP-2718 type byte."""
    chain_id: int
    nonce: int
    gas: int
    to: bytes
    """The callee's 20-byte address; empty for a contract creation."""
    value: int
    data: bytes
    v: int
    """``v`` as signed: EIP-155's ``chain_id * 2 + 35 + parity`` (legacy) or the parity."""
    y_parity: int
    r: int
    s: int
    signing_hash: bytes
    """Keccak-256 of what the signature covers."""

    @property
    def signature(self) -> bytes:
        """r || s || y-parity: the envelope's signature and ``ecrecover``'s input."""
        return self.r.to_bytes(32, "big") + self.s.to_bytes(32, "big") + bytes([self.y_parity])


def _int(item: Any, name: str) -> int:
    if not isinstance(item, bytes):
        raise EthTxInvalid(f"not a valid signed Ethereum transaction: {name} is a list")
    if item[:1] == b"\x00":
        raise EthTxInvalid(f"not a valid signed Ethereum transaction: {name} has leading zeros")
    return int.from_bytes(item, "big")


def _check_access_list(item: Any) -> None:
    """EIP-2930: a list of [address (20 bytes or empty), [32-byte storage keys]]."""
    ok = isinstance(item, list) and all(
        isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], bytes)
        and len(entry[0]) in (0, 20)
        and isinstance(entry[1], list)
        and all(isinstance(k, bytes) and len(k) == 32 for k in entry[1])
        for entry in item
    )
    if not ok:
        raise EthTxInvalid("not a valid signed Ethereum transaction: malformed access list")


def _signed_part(payload: bytes, items: list[Any]) -> bytes:
    """The encoded list of every field before (v, r, s), sliced out of ``payload``."""
    _, _, _, start = consume_length_prefix(payload, 0)
    tail = sum(len(rlp.encode(item)) for item in items[-3:])
    return payload[start : len(payload) - tail]


def decode_raw(raw: bytes) -> EthTx:
    """The fields of the signed transaction ``raw``, and the digest its signature covers.

    Raises:
        EthTxInvalid: not a decodable, supported, EIP-155 signed transaction.
    """
    tx_type = raw[0] if raw else None
    if tx_type == _BLOB:
        raise EthTxInvalid("blob transactions (EIP-4844) are not supported")
    if tx_type is None or (tx_type not in _LAYOUT and tx_type < 0xC0):
        raise EthTxInvalid("not a valid signed Ethereum transaction: unknown transaction type")
    tx_type = tx_type if tx_type in _LAYOUT else _LEGACY
    payload = raw if tx_type == _LEGACY else raw[1:]
    try:
        items = rlp.decode(payload, strict=True)
    except rlp.exceptions.RLPException as exc:
        raise EthTxInvalid(f"not a valid signed Ethereum transaction: {exc}") from None
    except RecursionError:  # rlp decodes nested lists recursively; a client picks the depth
        raise EthTxInvalid("not a valid signed Ethereum transaction: lists nest too deep") from None
    if not isinstance(items, list) or len(items) != len(_LAYOUT[tx_type]):
        raise EthTxInvalid("not a valid signed Ethereum transaction: wrong number of fields")
    fields: dict[str, Any] = {}
    for name, item in zip(_LAYOUT[tx_type], items, strict=True):
        if name == "to":
            if not isinstance(item, bytes) or len(item) not in (0, 20):
                raise EthTxInvalid("not a valid signed Ethereum transaction: bad 'to' address")
            fields[name] = item
        elif name == "data":
            if not isinstance(item, bytes):
                raise EthTxInvalid("not a valid signed Ethereum transaction: data is a list")
            fields[name] = item
        elif name == "access_list":
            _check_access_list(item)
        else:
            fields[name] = _int(item, name)
    signed = _signed_part(payload, items)
    v = fields["v"]
    if tx_type == _LEGACY:
        if v < 35:
            raise EthTxInvalid("transaction is not EIP-155 protected (no chain id)")
        chain_id, y_parity = divmod(v - 35, 2)
        signed += rlp.encode(chain_id) + b"\x80\x80"
        digest = keccak256(length_prefix(len(signed), 0xC0) + signed)
    else:
        chain_id, y_parity = fields["chain_id"], v
        digest = keccak256(bytes([tx_type]) + length_prefix(len(signed), 0xC0) + signed)
    return EthTx(
        tx_type=tx_type,
        chain_id=chain_id,
        nonce=fields["nonce"],
        gas=fields["gas"],
        to=fields["to"],
        value=fields["value"],
        data=fields["data"],
        v=v,
        y_parity=y_parity,
        r=fields["r"],
        s=fields["s"],
        signing_hash=digest,
    )


def _signature_in_range(tx: EthTx) -> bool:
    return tx.y_parity in (0, 1) and 0 < tx.r < SECP256K1_N and 0 < tx.s < SECP256K1_N


def recover_key(tx: EthTx) -> bytes:
    """The uncompressed secp256k1 public key (65 bytes) that signed ``tx``.

    Raises:
        EthTxInvalid: the signature does not recover a key.
    """
    public = ecrecover(tx.signing_hash, tx.signature) if _signature_in_range(tx) else None
    if public is None:
        raise EthTxInvalid("signature does not recover a key")
    return public


def _unsigned_envelope(raw: bytes, chain_id: str, evm_chain: int) -> tuple[EthTx, TxBody]:
    """The decoded ``raw`` and its envelope's body with the sender still blank."""
    tx = decode_raw(raw)
    if tx.chain_id != evm_chain:
        raise EthTxInvalid(f"transaction is for chain id {tx.chain_id}, this is {evm_chain}")
    if tx.value != 0:
        raise EthTxInvalid("value transfers are not supported (the chain has no native coin)")
    if tx.nonce >= _U64 or tx.gas >= _U64:
        raise EthTxInvalid("nonce and gas must be below 2**64")
    if not _signature_in_range(tx):
        raise EthTxInvalid("signature does not recover a key")
    body = TxBody(
        chain_id=chain_id,
        sender=b"",
        nonce=tx.nonce,
        module="evm",
        method=ETH_METHOD,
        args=raw,
        gas_limit=tx.gas,
        expiry_height=NO_EXPIRY,
    )
    return tx, body


def _wrap(tx: EthTx, body: TxBody, public_key: bytes) -> Transaction:
    return Transaction(
        body=msgspec.structs.replace(body, sender=keccak256(public_key[1:])[12:]),
        key_type=ETH_KEY_TYPE,
        public_key=public_key,
        signature=tx.signature,
    )


def envelope(raw: bytes, chain_id: str, evm_chain: int) -> Transaction:
    """Wrap a raw signed transaction for this chain.

    Raises:
        EthTxInvalid: undecodable, another chain id, a value transfer, or a bad signature.
    """
    tx, body = _unsigned_envelope(raw, chain_id, evm_chain)
    return _wrap(tx, body, recover_key(tx))


def envelope_verifier(tx: Transaction) -> Callable[[], bool]:
    """Check ``tx`` against its raw bytes now; return the signature check still to run.

    The returned check recovers the key (libsecp256k1, which releases the GIL)
    and compares it with ``tx.public_key``; it answers False at once if ``tx``
    is not the envelope of its raw bytes whatever the key. The split lets
    callers recover many keys in parallel threads
    (:func:`consortia.mempool.pool.verify_signatures`).
    """
    body = tx.body
    try:
        eth, unsigned = _unsigned_envelope(body.args, body.chain_id, evm_chain_id(body.chain_id))
    except EthTxInvalid:
        return failed_check
    if len(tx.public_key) != 65 or _wrap(eth, unsigned, tx.public_key) != tx:
        return failed_check
    return partial(_recovers, eth.signing_hash, eth.signature, tx.public_key)


def _recovers(digest: bytes, signature: bytes, public_key: bytes) -> bool:
    return ecrecover(digest, signature) == public_key


def verify_envelope(tx: Transaction) -> bool:
    """True if ``tx`` is exactly the envelope :func:`envelope` makes of its raw bytes."""
    return envelope_verifier(tx)()
