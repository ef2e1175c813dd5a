"""A committed transaction that used no nonce leaves the pool.

A transaction admitted while its key was valid and its account unfrozen can
reach a block after a governance revocation or freeze; it then fails the
executor's pre-checks (TX_UNAUTHORIZED / TX_ACCOUNT_FROZEN) with no nonce
used. The pool must still drop it, or proposers would offer it again.
"""

from __future__ import annotations

from tests.execution.chain import CHAIN_ID, key, make_tx

from consortia.codec import encode
from consortia.crypto import KeyType, sm3
from consortia.execution.policy import ChainPolicy
from consortia.ledger.types import tx_id
from consortia.mempool import Mempool, MempoolConfig
from consortia.modules.assets.types import Transfer


def test_committed_transaction_without_nonce_leaves_the_pool() -> None:
    alice = key(KeyType.SM2, 1)
    pool = Mempool(
        chain_id=CHAIN_ID,
        policy=ChainPolicy(),
        hash_fn=sm3,
        config=MempoolConfig(),
        clock=lambda: 0.0,
    )
    tx = make_tx(alice, 0, "assets", "transfer", Transfer("CNY", b"\x01" * 20, 1), expiry=100)
    (admitted,) = pool.add_many([(tx, len(encode(tx)))], 10, lambda _: 0)
    assert admitted == tx_id(sm3, tx.body)
    pool.remove_committed([tx], lambda _: 0)  # committed as TX_ACCOUNT_FROZEN: nonce still 0
    assert tx_id(sm3, tx.body) not in pool
