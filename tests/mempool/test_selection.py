"""Selection, removal of committed transactions and expiry eviction."""

from __future__ import annotations

from consortia.codec import encode
from consortia.crypto import PrivateKey
from consortia.mempool.pool import PooledTx
from execution.chain import address

from .conftest import HEIGHT, SENDERS, Nonces, add, code, pool, transfer

ALICE, BOB, CAROL, _ = SENDERS


def nonces_of(selected: list[PooledTx]) -> list[tuple[bytes, int]]:
    return [(p.tx.body.sender, p.tx.body.nonce) for p in selected]


def addr(k: PrivateKey) -> bytes:
    return address(k)


def test_selection_takes_consecutive_nonces_per_sender_oldest_sender_first() -> None:
    mempool = pool()
    for tx in [
        transfer(BOB, 1),
        transfer(ALICE, 0),
        transfer(BOB, 0),
        transfer(ALICE, 2),  # gap at 1: ALICE stops after 0
        transfer(CAROL, 1),  # gap at 0: CAROL contributes nothing
        transfer(BOB, 2),
    ]:
        assert code(add(mempool, tx)) == "OK"
    chosen = mempool.select(max_txs=100, max_bytes=10**9, next_nonce=Nonces())
    assert nonces_of(chosen) == [
        (addr(BOB), 0),
        (addr(BOB), 1),
        (addr(BOB), 2),
        (addr(ALICE), 0),
    ]


def test_selection_starts_at_the_given_next_nonce() -> None:
    mempool = pool()
    for n in range(4):
        add(mempool, transfer(ALICE, n))
    ahead = Nonces({addr(ALICE): 2})  # 0 and 1 sit in uncommitted blocks
    assert nonces_of(mempool.select(max_txs=10, max_bytes=10**9, next_nonce=ahead)) == [
        (addr(ALICE), 2),
        (addr(ALICE), 3),
    ]


def test_selection_respects_max_txs_and_max_bytes() -> None:
    mempool = pool()
    txs = [transfer(ALICE, n) for n in range(3)] + [transfer(BOB, n) for n in range(3)]
    for tx in txs:
        add(mempool, tx, size=100)
    assert len(mempool.select(max_txs=4, max_bytes=10**9, next_nonce=Nonces())) == 4
    assert len(mempool.select(max_txs=0, max_bytes=10**9, next_nonce=Nonces())) == 0
    chosen = mempool.select(max_txs=100, max_bytes=499, next_nonce=Nonces())
    assert [p.size for p in chosen] == [100] * 4
    assert mempool.select(max_txs=100, max_bytes=99, next_nonce=Nonces()) == []


def test_selection_skips_excluded_ids_without_breaking_the_run() -> None:
    mempool = pool()
    ids = [add(mempool, transfer(ALICE, n)) for n in range(3)]
    chosen = mempool.select(
        max_txs=10,
        max_bytes=10**9,
        next_nonce=Nonces(),
        exclude=[ids[0]],  # type: ignore[list-item]
    )
    assert [p.tx_id for p in chosen] == ids[1:]


def test_remove_committed_drops_committed_and_stale_nonces() -> None:
    mempool = pool()
    for n in range(4):
        add(mempool, transfer(ALICE, n))
    bob = transfer(BOB, 0)
    add(mempool, bob)
    committed = [transfer(ALICE, 0, amount=99), transfer(ALICE, 1)]  # another body at nonce 0
    after = Nonces({addr(ALICE): 2})
    mempool.remove_committed(committed, after)
    assert len(mempool) == 3
    assert nonces_of(mempool.select(max_txs=10, max_bytes=10**9, next_nonce=after)) == [
        (addr(ALICE), 2),
        (addr(ALICE), 3),
        (addr(BOB), 0),
    ]
    mempool.remove_committed([transfer(ALICE, 3)], Nonces({addr(ALICE): 4}))
    assert len(mempool) == 1
    assert mempool.size_bytes == len(encode(bob))  # signatures vary in length


def test_remove_committed_for_unknown_senders_is_harmless() -> None:
    mempool = pool()
    add(mempool, transfer(ALICE, 0))
    mempool.remove_committed([transfer(CAROL, 0)], Nonces({addr(CAROL): 1}))
    assert len(mempool) == 1


def test_a_sender_emptied_by_removal_queues_behind_others() -> None:
    mempool = pool()
    add(mempool, transfer(ALICE, 0))
    add(mempool, transfer(BOB, 0))
    mempool.remove_committed([transfer(ALICE, 0)], Nonces({addr(ALICE): 1}))
    add(mempool, transfer(ALICE, 1))
    chosen = mempool.select(max_txs=10, max_bytes=10**9, next_nonce=Nonces({addr(ALICE): 1}))
    assert nonces_of(chosen) == [(addr(BOB), 0), (addr(ALICE), 1)]


def test_evict_expired_drops_what_the_height_passed() -> None:
    mempool = pool()
    add(mempool, transfer(ALICE, 0, expiry=HEIGHT + 1))
    add(mempool, transfer(ALICE, 1, expiry=HEIGHT + 5))
    add(mempool, transfer(BOB, 0, expiry=HEIGHT + 2))
    assert mempool.evict_expired(HEIGHT) == 0
    assert mempool.evict_expired(HEIGHT + 2) == 2
    assert len(mempool) == 1
    # ALICE's nonce 1 stays but is unselectable until nonce 0 is executed elsewhere.
    assert mempool.select(max_txs=10, max_bytes=10**9, next_nonce=Nonces()) == []
    assert mempool.evict_expired(HEIGHT + 5) == 1
    assert len(mempool) == 0
    assert mempool.size_bytes == 0


def test_selection_stops_at_the_block_gas_limit() -> None:
    """[EXEC-BLOCKGAS.1]: the chosen gas limits add up to at most ``max_gas``."""
    mempool = pool()
    for n in range(3):
        add(mempool, transfer(ALICE, n, gas_limit=40_000))
    add(mempool, transfer(BOB, 0, gas_limit=10_000))
    unlimited = mempool.select(max_txs=10, max_bytes=10**9, next_nonce=Nonces())
    assert len(unlimited) == 4
    chosen = mempool.select(max_txs=10, max_bytes=10**9, next_nonce=Nonces(), max_gas=90_000)
    # Selection stops at the first transaction that does not fit; BOB's would have.
    assert nonces_of(chosen) == [(addr(ALICE), 0), (addr(ALICE), 1)]
    exact = mempool.select(max_txs=10, max_bytes=10**9, next_nonce=Nonces(), max_gas=130_000)
    assert len(exact) == 4
    assert mempool.select(max_txs=10, max_bytes=10**9, next_nonce=Nonces(), max_gas=0) == []


def test_selection_does_not_remove_anything() -> None:
    mempool = pool()
    for n in range(3):
        add(mempool, transfer(ALICE, n))
    first = mempool.select(max_txs=10, max_bytes=10**9, next_nonce=Nonces())
    again = mempool.select(max_txs=10, max_bytes=10**9, next_nonce=Nonces())
    assert [p.tx_id for p in first] == [p.tx_id for p in again]
    assert len(mempool) == 3
