"""Workload transactions for the load benchmark, signed in worker processes."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from consortia.codec import encode
from consortia.crypto import KeyType, PrivateKey
from consortia.ledger.types import Transaction, TxBody, tx_signing_bytes
from consortia.modules.assets.types import Create, Issue, SupplyRule, Transfer

BENCH_SYMBOL = "BENCH"
GAS_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class Account:
    """A benchmark account derived from a seed (so workers can rebuild the key)."""

    key_type: KeyType
    seed: int

    def key(self) -> PrivateKey:
        """The private key of this account."""
        return PrivateKey.from_secret(self.key_type, (self.seed + 1).to_bytes(32, "big"))


def signed(
    key: PrivateKey,
    chain_id: str,
    nonce: int,
    method: str,
    args: object,
    expiry: int,
    *,
    module: str = "assets",
) -> bytes:
    """Canonical bytes of a signed transaction (of the ``assets`` module by default)."""
    body = TxBody(
        chain_id=chain_id,
        sender=key.public_key().address(),
        nonce=nonce,
        module=module,
        method=method,
        args=encode(args),
        gas_limit=GAS_LIMIT,
        expiry_height=expiry,
    )
    return encode(
        Transaction(
            body=body,
            key_type=key.key_type.value,
            public_key=key.public_key().to_bytes(),
            signature=key.sign(tx_signing_bytes(body)),
        )
    )


def issue_symbol(account: Account) -> str:
    """The asset a sender of the ``issue`` workload issues."""
    return f"BI{account.seed}"


def _unlimited(symbol: str) -> Create:
    return Create(
        symbol=symbol,
        name="benchmark asset",
        decimals=0,
        supply_rule=SupplyRule.UNLIMITED,
        max_supply=0,
    )


def setup_transactions(
    workload: str, issuer: Account, senders: Sequence[Account], chain_id: str, expiry: int
) -> list[bytes]:
    """``transfer``: create the benchmark asset and fund every sender;
    ``issue``: every sender creates its own asset (using its nonce 0)."""
    if workload == "issue":
        return [
            signed(s.key(), chain_id, 0, "create", _unlimited(issue_symbol(s)), expiry)
            for s in senders
        ]
    key = issuer.key()
    txs = [signed(key, chain_id, 0, "create", _unlimited(BENCH_SYMBOL), expiry)]
    for i, sender in enumerate(senders):
        address = sender.key().public_key().address()
        txs.append(
            signed(key, chain_id, i + 1, "issue", Issue(BENCH_SYMBOL, address, 10**15), expiry)
        )
    return txs


def _sign_run(
    account: Account,
    chain_id: str,
    first_nonce: int,
    count: int,
    workload: str,
    to: bytes,
    expiry: int,
) -> list[bytes]:
    key = account.key()
    if workload == "issue":
        symbol = issue_symbol(account)
        return [
            signed(key, chain_id, first_nonce + i, "issue", Issue(symbol, to, 1), expiry)
            for i in range(count)
        ]
    return [
        signed(key, chain_id, first_nonce + i, "transfer", Transfer(BENCH_SYMBOL, to, 1), expiry)
        for i in range(count)
    ]


def workload_transactions(
    senders: Sequence[Account],
    per_sender: int,
    chain_id: str,
    workload: str,
    expiry: int,
    workers: int,
) -> list[list[bytes]]:
    """``per_sender`` signed transactions for each sender, nonce-ordered, signed in parallel."""
    sink = (
        PrivateKey.from_secret(KeyType.P256, (999_999).to_bytes(32, "big")).public_key().address()
    )
    first_nonce = 1 if workload == "issue" else 0
    with ProcessPoolExecutor(workers) as pool:
        futures = [
            pool.submit(_sign_run, s, chain_id, first_nonce, per_sender, workload, sink, expiry)
            for s in senders
        ]
        return [f.result() for f in futures]
