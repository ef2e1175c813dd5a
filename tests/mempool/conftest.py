"""Pool fixtures: deterministic signed transactions, a fake clock, a nonce table.

``tests/`` is not a package: pytest puts it on ``sys.path``, so the execution
harness is imported as ``execution.chain``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from consortia.codec import encode
from consortia.crypto import KeyType, PrivateKey, sm3
from consortia.execution.errors import ExecutionError
from consortia.execution.policy import ChainPolicy
from consortia.ledger.types import Transaction
from consortia.mempool import Mempool, MempoolConfig
from consortia.modules.assets.types import Transfer
from execution.chain import CHAIN_ID, address, key, make_tx

SENDERS: tuple[PrivateKey, ...] = (
    key(KeyType.SM2, 51),
    key(KeyType.P256, 52),
    key(KeyType.SECP256K1, 53),
    key(KeyType.P256, 54),
)
SINK = address(key(KeyType.P256, 59))
HEIGHT = 10
"""The executed height admission is checked against."""


@dataclass
class FakeClock:
    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Nonces:
    """Executed next nonces (0 for an unknown address).

    Serves as the pool's nonce lookup (an address) and as its admission lookup (a
    transaction): the latter authorises every key here; the real rule
    (``LedgerReader.sender_lookup``) is tested in ``test_authorised_signer.py``.
    """

    table: dict[bytes, int] = field(default_factory=dict)

    def __call__(self, sender: bytes | Transaction) -> int:
        address = sender.body.sender if isinstance(sender, Transaction) else sender
        return self.table.get(address, 0)


def transfer(
    signer: PrivateKey,
    nonce: int,
    amount: int = 1,
    *,
    expiry: int = HEIGHT + 100,
    gas_limit: int = 100_000,
    chain_id: str = CHAIN_ID,
) -> Transaction:
    args = Transfer("CNY", SINK, amount)
    return make_tx(
        signer,
        nonce,
        "assets",
        "transfer",
        args,
        expiry=expiry,
        gas_limit=gas_limit,
        chain_id=chain_id,
    )


def pool(
    policy: ChainPolicy | None = None, clock: FakeClock | None = None, **config: Any
) -> Mempool:
    return Mempool(
        chain_id=CHAIN_ID,
        policy=policy or ChainPolicy(),
        hash_fn=sm3,
        config=MempoolConfig(**config),
        clock=clock or FakeClock(),
    )


def add(
    mempool: Mempool,
    tx: Transaction,
    nonces: Nonces | None = None,
    *,
    height: int = HEIGHT,
    size: int | None = None,
) -> bytes | ExecutionError:
    (result,) = mempool.add_many(
        [(tx, len(encode(tx)) if size is None else size)], height, nonces or Nonces()
    )
    return result


def code(result: bytes | ExecutionError) -> str:
    return result.code if isinstance(result, ExecutionError) else "OK"
