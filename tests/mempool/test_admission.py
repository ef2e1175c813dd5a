"""Admission [MEMPOOL-ADMIT.1]: one test per rejection code, then the check order."""

from __future__ import annotations

import msgspec
import pytest

from consortia.codec import encode
from consortia.crypto import PrivateKey, sm3
from consortia.execution.policy import ChainPolicy
from consortia.ledger.types import tx_id
from consortia.mempool import verify_signatures

from .conftest import HEIGHT, SENDERS, FakeClock, Nonces, add, code, pool, transfer

ALICE, BOB, CAROL, DAVE = SENDERS


def test_a_valid_transaction_is_admitted_under_its_id() -> None:
    mempool = pool()
    tx = transfer(ALICE, 0)
    assert add(mempool, tx) == tx_id(sm3, tx.body)
    assert tx_id(sm3, tx.body) in mempool
    assert len(mempool) == 1
    assert mempool.size_bytes == len(encode(tx))


def test_too_large() -> None:
    tx = transfer(ALICE, 0)
    size = len(encode(tx))
    assert code(add(pool(ChainPolicy(max_tx_bytes=size - 1)), tx)) == "TX_TOO_LARGE"
    assert code(add(pool(ChainPolicy(max_tx_bytes=size)), tx)) == "OK"


def test_wrong_chain() -> None:
    assert code(add(pool(), transfer(ALICE, 0, chain_id="other-chain"))) == "TX_WRONG_CHAIN"


def test_key_type_not_allowed() -> None:
    mempool = pool(ChainPolicy(allowed_key_types=("sm2",)))
    assert code(add(mempool, transfer(BOB, 0))) == "TX_KEY_TYPE_NOT_ALLOWED"
    assert code(add(mempool, transfer(ALICE, 0))) == "OK"


def test_gas_limit_too_high() -> None:
    cap = ChainPolicy().max_tx_gas
    assert code(add(pool(), transfer(ALICE, 0, gas_limit=cap + 1))) == "TX_GAS_LIMIT_TOO_HIGH"
    assert code(add(pool(), transfer(ALICE, 0, gas_limit=cap))) == "OK"


def test_expired_means_not_above_the_executed_height() -> None:
    assert code(add(pool(), transfer(ALICE, 0, expiry=HEIGHT))) == "TX_EXPIRED"
    assert code(add(pool(), transfer(ALICE, 0, expiry=HEIGHT + 1))) == "OK"


def test_expiry_too_far() -> None:
    far = HEIGHT + ChainPolicy().max_expiry_blocks
    assert code(add(pool(), transfer(ALICE, 0, expiry=far + 1))) == "TX_EXPIRY_TOO_FAR"
    assert code(add(pool(), transfer(ALICE, 0, expiry=far))) == "OK"


def test_duplicate() -> None:
    mempool = pool()
    tx = transfer(ALICE, 0)
    add(mempool, tx)
    assert code(add(mempool, tx)) == "TX_DUPLICATE"
    # Same body, another (malleated) signature: still the same id.
    resigned = msgspec.structs.replace(tx, signature=ALICE.sign(b"anything else"))
    assert code(add(mempool, resigned)) == "TX_DUPLICATE"
    assert len(mempool) == 1


def test_stale_nonce() -> None:
    nonces = Nonces({transfer(ALICE, 0).body.sender: 3})
    assert code(add(pool(), transfer(ALICE, 2), nonces)) == "TX_STALE_NONCE"
    assert code(add(pool(), transfer(ALICE, 3), nonces)) == "OK"


def test_nonce_pending() -> None:
    mempool = pool()
    add(mempool, transfer(ALICE, 0, amount=1))
    assert code(add(mempool, transfer(ALICE, 0, amount=2))) == "TX_NONCE_PENDING"


def test_sender_limit_on_pending_count() -> None:
    mempool = pool(max_per_sender=2)
    assert code(add(mempool, transfer(ALICE, 0))) == "OK"
    assert code(add(mempool, transfer(ALICE, 1))) == "OK"
    assert code(add(mempool, transfer(ALICE, 2))) == "TX_SENDER_LIMIT"
    assert code(add(mempool, transfer(BOB, 0))) == "OK"


def test_sender_limit_on_nonce_gap() -> None:
    mempool = pool(max_nonce_gap=4)
    assert code(add(mempool, transfer(ALICE, 5))) == "TX_SENDER_LIMIT"
    assert code(add(mempool, transfer(ALICE, 4))) == "OK"


def test_full_by_count_and_by_bytes() -> None:
    mempool = pool(max_txs=2)
    add(mempool, transfer(ALICE, 0))
    add(mempool, transfer(BOB, 0))
    assert code(add(mempool, transfer(CAROL, 0))) == "MEMPOOL_FULL"
    by_bytes = pool(max_bytes=399)
    assert code(add(by_bytes, transfer(ALICE, 0), size=200)) == "OK"
    assert code(add(by_bytes, transfer(ALICE, 1), size=200)) == "MEMPOOL_FULL"
    assert code(add(by_bytes, transfer(ALICE, 1), size=199)) == "OK"
    assert by_bytes.size_bytes == 399


def test_rate_limited_with_a_fake_clock() -> None:
    clock = FakeClock()
    mempool = pool(clock=clock, rate_per_sender=1.0, burst_per_sender=2.0)
    assert code(add(mempool, transfer(ALICE, 0))) == "OK"
    assert code(add(mempool, transfer(ALICE, 1))) == "OK"
    assert code(add(mempool, transfer(ALICE, 2))) == "TX_RATE_LIMITED"
    assert code(add(mempool, transfer(BOB, 0))) == "OK"  # buckets are per sender
    clock.now += 0.5
    assert code(add(mempool, transfer(ALICE, 2))) == "TX_RATE_LIMITED"
    clock.now += 0.5
    assert code(add(mempool, transfer(ALICE, 2))) == "OK"
    clock.now += 100  # refills to the burst, not beyond
    assert [code(add(mempool, transfer(ALICE, n))) for n in (3, 4, 5)] == [
        "OK",
        "OK",
        "TX_RATE_LIMITED",
    ]


def test_rejected_transactions_take_no_token() -> None:
    mempool = pool(rate_per_sender=1.0, burst_per_sender=1.0)
    tx = transfer(ALICE, 0)
    bad = msgspec.structs.replace(tx, signature=ALICE.sign(b"not the body"))
    assert code(add(mempool, bad)) == "TX_BAD_SIGNATURE"
    assert code(add(mempool, tx)) == "OK"


@pytest.mark.parametrize("signer", SENDERS, ids=lambda k: k.key_type.value)
def test_bad_signature_tampered(signer: PrivateKey) -> None:
    tx = transfer(signer, 0)
    sig = bytearray(tx.signature)
    sig[-1] ^= 1
    tampered = msgspec.structs.replace(tx, signature=bytes(sig))
    assert code(add(pool(), tampered)) == "TX_BAD_SIGNATURE"


def test_bad_signature_tampered_body() -> None:
    tx = transfer(ALICE, 0)
    moved = msgspec.structs.replace(tx, body=msgspec.structs.replace(tx.body, gas_limit=7))
    assert code(add(pool(), moved)) == "TX_BAD_SIGNATURE"


def test_bad_signature_wrong_key() -> None:
    tx = transfer(ALICE, 0)
    signed_by_bob = msgspec.structs.replace(tx, signature=BOB.sign(b"x"))
    assert code(add(pool(), signed_by_bob)) == "TX_BAD_SIGNATURE"
    # DAVE's valid signature over the body, presented with BOB's key (same curve).
    forged = msgspec.structs.replace(transfer(DAVE, 0), public_key=BOB.public_key().to_bytes())
    assert code(add(pool(), forged)) == "TX_BAD_SIGNATURE"


@pytest.mark.parametrize(
    "public_key",
    [b"\x04" + bytes(64), b"\x05" + bytes(64), b"\x02" + b"\xff" * 32],
    ids=["zero-point", "bad-prefix", "x-off-curve"],
)
def test_bad_signature_garbage_public_key(public_key: bytes) -> None:
    tx = msgspec.structs.replace(transfer(BOB, 0), public_key=public_key)
    assert code(add(pool(), tx)) == "TX_BAD_SIGNATURE"


def test_cheap_checks_come_first() -> None:
    """[MEMPOOL-ADMIT.1] order: size, chain, key type, gas, expiry, duplicate, nonce."""
    tx = transfer(BOB, 0, chain_id="other-chain", gas_limit=2**40, expiry=HEIGHT)
    policy = ChainPolicy(allowed_key_types=("sm2",))
    big = len(encode(tx)) + 1
    assert code(add(pool(policy), tx, size=big * 100_000)) == "TX_TOO_LARGE"
    assert code(add(pool(policy), tx)) == "TX_WRONG_CHAIN"
    tx = msgspec.structs.replace(tx, body=msgspec.structs.replace(tx.body, chain_id="exec-test"))
    assert code(add(pool(policy), tx)) == "TX_KEY_TYPE_NOT_ALLOWED"
    assert code(add(pool(), tx)) == "TX_GAS_LIMIT_TOO_HIGH"
    tx = msgspec.structs.replace(tx, body=msgspec.structs.replace(tx.body, gas_limit=1))
    assert code(add(pool(), tx)) == "TX_EXPIRED"
    # Every cheap check passes; only now is the signature (over the original body) checked.
    tx = msgspec.structs.replace(
        tx, body=msgspec.structs.replace(tx.body, expiry_height=HEIGHT + 1)
    )
    assert code(add(pool(), tx)) == "TX_BAD_SIGNATURE"


def test_verified_path_trusts_the_callers_verdicts() -> None:
    mempool = pool()
    good = transfer(ALICE, 0)
    bad = msgspec.structs.replace(transfer(BOB, 0), signature=BOB.sign(b"other"))
    items = [(good, len(encode(good))), (bad, len(encode(bad)))]
    verdicts = verify_signatures([good, bad])
    assert verdicts == [True, False]
    results = mempool.add_many(items, HEIGHT, Nonces(), verified=verdicts)
    assert [code(r) for r in results] == ["OK", "TX_BAD_SIGNATURE"]
    # The verdicts are not re-checked: a False for a good signature rejects it.
    other = pool()
    results = other.add_many(items[:1], HEIGHT, Nonces(), verified=[False])
    assert [code(r) for r in results] == ["TX_BAD_SIGNATURE"]


def test_verified_path_still_runs_the_cheap_checks() -> None:
    tx = transfer(ALICE, 0, expiry=HEIGHT)
    results = pool().add_many([(tx, len(encode(tx)))], HEIGHT, Nonces(), verified=[True])
    assert [code(r) for r in results] == ["TX_EXPIRED"]


def test_verify_signatures_marks_garbage_keys_false() -> None:
    good = [transfer(k, 0) for k in SENDERS]
    garbage = msgspec.structs.replace(good[0], public_key=b"\x04" + bytes(64))
    assert verify_signatures([*good, garbage]) == [True, True, True, True, False]
    assert verify_signatures([]) == []


def test_a_batch_carries_a_run_of_nonces_and_limits_apply_within_it() -> None:
    mempool = pool(max_per_sender=3)
    batch = [transfer(ALICE, n) for n in range(5)] + [transfer(ALICE, 0)]
    results = mempool.add_many([(t, len(encode(t))) for t in batch], HEIGHT, Nonces())
    assert [code(r) for r in results] == [
        "OK",
        "OK",
        "OK",
        "TX_SENDER_LIMIT",
        "TX_SENDER_LIMIT",
        "TX_DUPLICATE",
    ]
    assert len(mempool) == 3


def test_screen_refuses_cheaply_and_admits_nothing() -> None:
    mempool = pool(max_txs=1)
    add(mempool, transfer(ALICE, 0))
    forged = msgspec.structs.replace(transfer(BOB, 0), signature=BOB.sign(b"other"))
    fresh = transfer(CAROL, 0)
    items = [(t, len(encode(t))) for t in (transfer(ALICE, 0), forged, fresh)]
    # A full pool refuses before any signature is looked at: the forgery is MEMPOOL_FULL.
    assert [code(r) for r in mempool.screen(items, HEIGHT, Nonces())] == [
        "TX_DUPLICATE",
        "MEMPOOL_FULL",
        "MEMPOOL_FULL",
    ]
    roomy = pool()
    assert roomy.screen(items, HEIGHT, Nonces()) == [None, None, None]
    assert len(roomy) == 0
