"""Signed test transactions from deterministic keys."""

from __future__ import annotations

from consortia.bench.workload import signed
from consortia.codec import decode
from consortia.crypto import KeyType, PrivateKey, get_suite
from consortia.ledger.types import Transaction, tx_id
from consortia.modules.assets.types import Create, Issue, SupplyRule, Transfer

CHAIN_ID = "consortia-devnet"
EXPIRY = 90_000
"""Below the default policy's max_expiry_blocks (100,000) ahead of a young chain."""


def key(key_type: KeyType, seed: int) -> PrivateKey:
    return PrivateKey.from_secret(key_type, (seed + 1).to_bytes(32, "big"))


def identifier(raw: bytes, suite: str = "sm") -> str:
    return "0x" + tx_id(get_suite(suite).hash, decode(raw, Transaction).body).hex()


def create_asset(issuer: PrivateKey, nonce: int, symbol: str = "CNY") -> bytes:
    args = Create(
        symbol=symbol, name=symbol, decimals=2, supply_rule=SupplyRule.UNLIMITED, max_supply=0
    )
    return signed(issuer, CHAIN_ID, nonce, "create", args, EXPIRY)


def issue(issuer: PrivateKey, nonce: int, to: bytes, amount: int, symbol: str = "CNY") -> bytes:
    return signed(issuer, CHAIN_ID, nonce, "issue", Issue(symbol, to, amount), EXPIRY)


def transfer(sender: PrivateKey, nonce: int, to: bytes, amount: int, symbol: str = "CNY") -> bytes:
    return signed(sender, CHAIN_ID, nonce, "transfer", Transfer(symbol, to, amount), EXPIRY)
