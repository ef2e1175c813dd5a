"""[MEMPOOL-ADMIT.4] and [MEMPOOL-TRACK.1]: who signed is checked first; every drop has a reason.

The admission lookup here refuses every key but the sender's own, the way
``LedgerReader.sender_lookup`` refuses with the executor's rule (that rule
itself is exercised on a real node in ``tests/node/test_admission_tracking.py``).
"""

from __future__ import annotations

from consortia.codec import encode
from consortia.crypto import KeyType, sm3
from consortia.execution.errors import Unauthorized
from consortia.ledger.types import Transaction, tx_id
from consortia.mempool import DropReason
from consortia.modules.assets.types import Transfer
from execution.chain import key, make_tx

from .conftest import HEIGHT, SENDERS, SINK, Nonces, add, code, pool, transfer

ALICE, BOB, CAROL, DAVE = SENDERS
MALLORY = key(KeyType.SM2, 666)


class OwnKeysOnly(Nonces):
    """Admission lookup: only a key whose address is the sender may sign for it."""

    def __call__(self, sender: bytes | Transaction) -> int:
        if isinstance(sender, Transaction):
            own = {(k.public_key().address(), k.public_key().to_bytes()) for k in SENDERS}
            if (sender.body.sender, sender.public_key) not in own:
                raise Unauthorized(f"key is not registered to account {sender.body.sender.hex()}")
        return super().__call__(sender)


def forged(nonce: int) -> Transaction:
    """Alice as sender, Mallory's key and (valid) signature."""
    return make_tx(
        MALLORY,
        nonce,
        "assets",
        "transfer",
        Transfer("CNY", SINK, 7),  # not the body of any of alice's own transactions
        sender=ALICE.public_key().address(),
        expiry=HEIGHT + 100,
        gas_limit=100_000,
    )


def test_a_forged_sender_flood_takes_none_of_the_senders_nonces_slots_or_tokens() -> None:
    # One slot and one rate token for alice: if a forged transaction took either,
    # alice's own transaction would be refused.
    mempool = pool(max_per_sender=1, burst_per_sender=1.0, rate_per_sender=1e-9)
    lookup = OwnKeysOnly()
    flood = [(tx, len(encode(tx))) for tx in (forged(n) for n in range(50))]
    results = mempool.add_many(flood, HEIGHT, lookup)
    assert [code(r) for r in results] == ["TX_UNAUTHORIZED"] * 50
    assert len(mempool) == 0
    own = transfer(ALICE, 0)
    assert add(mempool, own, lookup) == tx_id(sm3, own.body)


def test_the_signer_check_comes_before_the_nonce_check() -> None:
    # A stale nonce and a pending one: both are refused as unauthorised, not as nonce errors.
    mempool = pool()
    lookup = OwnKeysOnly({ALICE.public_key().address(): 3})
    assert code(add(mempool, transfer(ALICE, 3), lookup)) == "OK"
    assert code(add(mempool, forged(1), lookup)) == "TX_UNAUTHORIZED"
    assert code(add(mempool, forged(3), lookup)) == "TX_UNAUTHORIZED"
    assert code(mempool.screen([(forged(4), 300)], HEIGHT, lookup)[0]) == "TX_UNAUTHORIZED"


def drop_reason(mempool: object, tx: Transaction) -> DropReason | None:
    found = mempool.dropped(tx_id(sm3, tx.body))  # type: ignore[attr-defined]
    return None if found is None else found.reason


def test_expired_transactions_are_recorded_as_expired() -> None:
    mempool = pool()
    tx = transfer(ALICE, 0, expiry=HEIGHT + 2)
    add(mempool, tx)
    assert mempool.evict_expired(HEIGHT + 2) == 1
    dropped = mempool.dropped(tx_id(sm3, tx.body))
    assert dropped is not None and dropped.reason is DropReason.EXPIRED
    assert dropped.height == HEIGHT + 2 and "expiry height" in dropped.message


def test_a_competitor_at_a_committed_nonce_is_recorded_as_replaced() -> None:
    mempool = pool()
    loser = transfer(ALICE, 0, amount=1)
    add(mempool, loser)
    winner = transfer(ALICE, 0, amount=2)  # committed from another validator's pool
    mempool.remove_committed([winner], Nonces({ALICE.public_key().address(): 1}), height=11)
    assert drop_reason(mempool, loser) is DropReason.REPLACED
    assert drop_reason(mempool, winner) is None  # committed: the ledger has it


def test_a_committed_transaction_is_not_recorded_as_dropped() -> None:
    mempool = pool()
    tx = transfer(ALICE, 0)
    add(mempool, tx)
    mempool.remove_committed([tx], Nonces({ALICE.public_key().address(): 1}), height=11)
    assert tx_id(sm3, tx.body) not in mempool and drop_reason(mempool, tx) is None


def test_transactions_behind_a_nonce_gap_are_dropped_after_the_timeout() -> None:
    mempool = pool(nonce_gap_timeout_blocks=5)
    stuck = [transfer(ALICE, 2), transfer(ALICE, 3)]  # nonce 0 and 1 never arrive
    for tx in stuck:
        assert code(add(mempool, tx)) == "OK"
    fine = transfer(BOB, 0)
    add(mempool, fine)
    assert mempool.evict_expired(HEIGHT + 4) == 0
    assert mempool.evict_expired(HEIGHT + 5) == 2
    assert [drop_reason(mempool, tx) for tx in stuck] == [DropReason.NONCE_GAP_TIMEOUT] * 2
    assert tx_id(sm3, fine.body) in mempool and len(mempool) == 1
    assert mempool.pending_nonce(ALICE.public_key().address(), 0) == 0


def test_a_filled_gap_stops_the_timeout() -> None:
    mempool = pool(nonce_gap_timeout_blocks=5)
    add(mempool, transfer(ALICE, 1))
    add(mempool, transfer(ALICE, 0), height=HEIGHT + 3)  # the missing nonce arrives
    assert mempool.evict_expired(HEIGHT + 50) == 0
    assert len(mempool) == 2


def test_a_gap_left_by_a_commit_is_timed_from_that_block() -> None:
    # Nonces 0 and 2 pending; 0 commits at height 20, so 2 waits for 1 from then.
    mempool = pool(nonce_gap_timeout_blocks=5)
    add(mempool, transfer(ALICE, 0))
    waiting = transfer(ALICE, 2)
    add(mempool, waiting)
    assert mempool.evict_expired(HEIGHT + 30) == 0  # not stuck while nonce 0 is pending
    mempool.remove_committed(
        [transfer(ALICE, 0)], Nonces({ALICE.public_key().address(): 1}), height=HEIGHT + 31
    )
    assert mempool.evict_expired(HEIGHT + 35) == 0
    assert mempool.evict_expired(HEIGHT + 36) == 1
    assert drop_reason(mempool, waiting) is DropReason.NONCE_GAP_TIMEOUT


def test_a_gap_left_by_an_expiry_is_timed_from_that_block() -> None:
    mempool = pool(nonce_gap_timeout_blocks=5)
    add(mempool, transfer(ALICE, 0, expiry=HEIGHT + 3))
    later = transfer(ALICE, 1)
    add(mempool, later)
    assert mempool.evict_expired(HEIGHT + 3) == 1  # nonce 0 expires: 1 is now stuck
    assert mempool.evict_expired(HEIGHT + 7) == 0
    assert mempool.evict_expired(HEIGHT + 8) == 1
    assert drop_reason(mempool, later) is DropReason.NONCE_GAP_TIMEOUT


def test_the_drop_record_is_bounded_and_forgets_the_oldest() -> None:
    mempool = pool(max_drop_records=3)
    txs = [transfer(s, 0, expiry=HEIGHT + 1 + i) for i, s in enumerate(SENDERS)]
    for tx in txs:
        add(mempool, tx)
    for i in range(len(txs)):
        mempool.evict_expired(HEIGHT + 1 + i)
    assert drop_reason(mempool, txs[0]) is None
    assert [drop_reason(mempool, tx) for tx in txs[1:]] == [DropReason.EXPIRED] * 3


def test_admitting_a_dropped_transaction_again_clears_its_record() -> None:
    mempool = pool(nonce_gap_timeout_blocks=2)
    tx = transfer(ALICE, 1)
    add(mempool, tx)
    mempool.evict_expired(HEIGHT + 2)
    assert drop_reason(mempool, tx) is DropReason.NONCE_GAP_TIMEOUT
    assert code(add(mempool, tx, height=HEIGHT + 2)) == "OK"
    assert drop_reason(mempool, tx) is None
