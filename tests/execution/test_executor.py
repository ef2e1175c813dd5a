"""The executor's per-transaction steps [EXEC-TX.1], checked through state and receipts.

Every test runs blocks on a fresh chain (genesis at version 0). "No trace"
means the state root after the block equals the root before it.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from consortia.codec import encode
from consortia.crypto import KeyType
from consortia.execution import gas
from consortia.execution.policy import ChainPolicy
from consortia.ledger.types import Event, Transaction, tx_id
from consortia.modules.accounts.types import Account, AccountKey, AddKey, account_key
from consortia.modules.assets.types import Create, Issue, SupplyRule, Transfer

from .chain import Chain, address, genesis_for, key, make_tx

ALICE = key(KeyType.SM2, 1)
BOB = key(KeyType.P256, 2)
CAROL = key(KeyType.SECP256K1, 3)


def create(symbol: str = "CNY", rule: SupplyRule = SupplyRule.UNLIMITED, cap: int = 0) -> Create:
    return Create(symbol=symbol, name=symbol, decimals=2, supply_rule=rule, max_supply=cap)


def assert_no_trace(chain: Chain) -> None:
    assert chain.roots[-1] == chain.roots[-2]


def test_first_transaction_creates_the_account_and_uses_nonce_zero(chain: Chain) -> None:
    outcome = chain.run(make_tx(ALICE, 0, "assets", "create", create()))
    assert outcome.receipt.status == "OK"
    assert chain.account(address(ALICE)) == Account(
        nonce=1,
        keys=(AccountKey(key_type="sm2", public_key=ALICE.public_key().to_bytes()),),
    )


def test_stale_and_future_nonces_leave_no_trace(chain: Chain) -> None:
    chain.run(make_tx(ALICE, 0, "assets", "create", create()))
    stale = chain.run(make_tx(ALICE, 0, "assets", "create", create("USD")))
    assert stale.receipt.status == "TX_STALE_NONCE"
    assert stale.receipt.gas_used == 0
    assert_no_trace(chain)
    future = chain.run(make_tx(ALICE, 2, "assets", "create", create("USD")))
    assert future.receipt.status == "TX_FUTURE_NONCE"
    assert_no_trace(chain)
    assert chain.nonce(address(ALICE)) == 1
    # A future nonce of a sender with no account yet leaves no account behind either.
    assert chain.run(make_tx(BOB, 1, "assets", "create", create("X"))).receipt.status == (
        "TX_FUTURE_NONCE"
    )
    assert chain.account(address(BOB)) is None
    assert_no_trace(chain)


def test_a_run_of_nonces_in_one_block(chain: Chain) -> None:
    outcomes = chain.execute(
        [
            make_tx(ALICE, 0, "assets", "create", create()),
            make_tx(ALICE, 1, "assets", "issue", Issue("CNY", address(BOB), 5)),
            make_tx(ALICE, 3, "assets", "issue", Issue("CNY", address(BOB), 5)),
            make_tx(ALICE, 2, "assets", "issue", Issue("CNY", address(BOB), 5)),
        ]
    )
    assert [o.receipt.status for o in outcomes] == ["OK", "OK", "TX_FUTURE_NONCE", "OK"]
    assert [o.receipt.index for o in outcomes] == [0, 1, 2, 3]
    assert chain.nonce(address(ALICE)) == 3
    assert chain.balance(address(BOB), "CNY") == 10


def test_module_failure_consumes_the_nonce_and_rolls_back_writes(chain: Chain) -> None:
    chain.run(make_tx(ALICE, 0, "assets", "create", create()))
    before = chain.dump(b"assets/")
    failed = chain.run(make_tx(ALICE, 1, "assets", "transfer", Transfer("CNY", address(BOB), 1)))
    assert failed.receipt.status == "ASSET_INSUFFICIENT_BALANCE"
    assert failed.receipt.events == ()
    assert failed.touched == ()
    assert chain.nonce(address(ALICE)) == 2
    assert chain.dump(b"assets/") == before
    # The only change of the block is the nonce.
    assert chain.roots[-1] != chain.roots[-2]
    again = chain.run(make_tx(ALICE, 1, "assets", "create", create("USD")))
    assert again.receipt.status == "TX_STALE_NONCE"


def test_expiry_is_the_last_height_allowed(chain: Chain) -> None:
    # The next block is height 1.
    assert chain.run(make_tx(ALICE, 0, "assets", "create", create(), expiry=1)).receipt.status == (
        "OK"
    )
    expired = chain.run(make_tx(ALICE, 1, "assets", "create", create("USD"), expiry=1))
    assert expired.receipt.status == "TX_EXPIRED"
    assert_no_trace(chain)
    assert chain.nonce(address(ALICE)) == 1


def test_account_creation_needs_the_keys_own_address(chain: Chain) -> None:
    """[ACCT-CREATE.1]: BOB's key cannot open ALICE's account."""
    outcome = chain.run(make_tx(BOB, 0, "assets", "create", create(), sender=address(ALICE)))
    assert outcome.receipt.status == "TX_UNAUTHORIZED"
    assert chain.account(address(ALICE)) is None
    assert_no_trace(chain)


def test_unregistered_key_cannot_sign_for_an_existing_account(chain: Chain) -> None:
    """[ACCT-AUTH.1]"""
    chain.run(make_tx(ALICE, 0, "assets", "create", create()))
    outcome = chain.run(make_tx(BOB, 1, "assets", "create", create("USD"), sender=address(ALICE)))
    assert outcome.receipt.status == "TX_UNAUTHORIZED"
    assert_no_trace(chain)


def test_same_point_under_another_key_type_is_not_the_registered_key(chain: Chain) -> None:
    chain.run(make_tx(ALICE, 0, "assets", "create", create()))
    tx = make_tx(ALICE, 1, "assets", "create", create("USD"))
    relabelled = msgspec.structs.replace(tx, key_type="p256")
    assert chain.run(relabelled).receipt.status == "TX_UNAUTHORIZED"
    assert_no_trace(chain)


def test_garbage_public_key_of_a_new_sender_is_bad_args(chain: Chain) -> None:
    tx = make_tx(ALICE, 0, "assets", "create", create())
    garbage = msgspec.structs.replace(tx, public_key=b"\x04" + bytes(64))
    assert chain.run(garbage).receipt.status == "TX_BAD_ARGS"
    assert_no_trace(chain)


def test_frozen_account_cannot_send(chain: Chain) -> None:
    chain.run(make_tx(ALICE, 0, "assets", "create", create()))
    acct = chain.account(address(ALICE))
    assert acct is not None
    frozen = Account(nonce=acct.nonce, keys=acct.keys, frozen=True)
    chain.poke(account_key(address(ALICE)), encode(frozen))
    outcome = chain.run(make_tx(ALICE, 1, "assets", "create", create("USD")))
    assert outcome.receipt.status == "TX_ACCOUNT_FROZEN"
    assert_no_trace(chain)
    assert chain.account(address(ALICE)) == frozen


@pytest.mark.parametrize(
    ("module", "method"), [("nosuch", "create"), ("assets", "nosuch"), ("accounts", "create")]
)
def test_unknown_module_or_method_consumes_the_nonce(
    chain: Chain, module: str, method: str
) -> None:
    outcome = chain.run(make_tx(ALICE, 0, module, method, create()))
    assert outcome.receipt.status == "TX_UNKNOWN_METHOD"
    assert outcome.receipt.gas_used > 0
    assert chain.nonce(address(ALICE)) == 1


@pytest.mark.parametrize(
    "raw_args",
    [
        b"",  # not MessagePack
        encode(["CNY", "name"]),  # wrong shape
        encode(["CNY", "CNY", 2, "fixed", 10, True, "extra"]),  # trailing field
        encode(["cny", "CNY", 2, "unlimited", 0, True]),  # symbol pattern
        encode(["CNY", "CNY", 19, "unlimited", 0, True]),  # decimals above 18
        encode(["CNY", "CNY", 2, "floating", 0, True]),  # no such rule
        # Non-canonical: decimals 2 as a uint8 (0xcc 0x02) instead of a fixint.
        bytes([0x96, 0xA3]) + b"CNY" + bytes([0xA3]) + b"CNY" + b"\xcc\x02\xa9unlimited\x00\xc3",
        encode(create()) + b"\x00",  # trailing bytes
    ],
)
def test_bad_arguments_consume_the_nonce(chain: Chain, raw_args: bytes) -> None:
    outcome = chain.run(make_tx(ALICE, 0, "assets", "create", None, raw_args=raw_args))
    assert outcome.receipt.status == "TX_BAD_ARGS"
    assert chain.nonce(address(ALICE)) == 1
    assert chain.asset("CNY") is None


def test_non_canonical_arguments_differ_only_in_encoding(chain: Chain) -> None:
    canonical = encode(create())
    assert canonical == bytes([0x96, 0xA3]) + b"CNY" + bytes([0xA3]) + b"CNY" + b"\x02" + (
        b"\xa9unlimited\x00\xc3"
    )
    outcome = chain.run(make_tx(ALICE, 0, "assets", "create", None, raw_args=canonical))
    assert outcome.receipt.status == "OK"


def test_out_of_gas_rolls_back_writes_but_keeps_the_nonce(chain: Chain) -> None:
    tx = make_tx(ALICE, 0, "assets", "create", create())
    size = len(encode(tx))
    floor = gas.TX_BASE + gas.PER_TX_BYTE * size + 5_000
    # Enough for the base cost and the method, not for its reads and writes.
    outcome = chain.run(make_tx(ALICE, 0, "assets", "create", create(), gas_limit=floor + 150))
    assert outcome.receipt.status == "TX_OUT_OF_GAS"
    assert outcome.receipt.gas_used == floor + 150
    assert outcome.receipt.events == ()
    assert chain.asset("CNY") is None
    assert chain.nonce(address(ALICE)) == 1


def test_out_of_gas_at_the_base_cost(chain: Chain) -> None:
    outcome = chain.run(make_tx(ALICE, 0, "assets", "create", create(), gas_limit=10))
    assert outcome.receipt.status == "TX_OUT_OF_GAS"
    assert outcome.receipt.gas_used == 10
    assert chain.nonce(address(ALICE)) == 1


def test_gas_used_follows_the_schedule(chain: Chain) -> None:
    """[EXEC-GAS.1]: base + bytes + method + reads + writes + events, exactly."""
    chain.run(make_tx(ALICE, 0, "assets", "create", create()))
    chain.run(make_tx(ALICE, 1, "assets", "issue", Issue("CNY", address(ALICE), 100)))
    tx = make_tx(ALICE, 2, "assets", "transfer", Transfer("CNY", address(BOB), 40))
    outcome = chain.run(tx)
    assert outcome.receipt.status == "OK"
    alice_balance = len(encode([60]))
    bob_balance = len(encode([40]))
    expected = (
        gas.TX_BASE
        + gas.PER_TX_BYTE * len(encode(tx))
        + 2_000  # assets.transfer
        + 3 * gas.STATE_READ  # definition, sender balance, target balance
        + 2 * gas.STATE_WRITE
        + gas.PER_WRITTEN_BYTE * (alice_balance + bob_balance)
        + gas.EVENT
    )
    assert outcome.receipt.gas_used == expected


def test_receipts_events_and_touched_addresses(chain: Chain) -> None:
    outcomes = chain.execute(
        [
            make_tx(ALICE, 0, "assets", "create", create()),
            make_tx(ALICE, 1, "assets", "issue", Issue("CNY", address(BOB), 9)),
            make_tx(BOB, 0, "assets", "transfer", Transfer("CNY", address(CAROL), 4)),
        ]
    )
    created, issued, moved = (o.receipt for o in outcomes)
    assert created.height == issued.height == moved.height == 1
    assert created.events == (
        Event(
            module="assets",
            name="created",
            attributes=(
                ("symbol", "CNY"),
                ("issuer", address(ALICE).hex()),
                ("rule", "unlimited"),
            ),
        ),
    )
    assert issued.events[0].attributes == (
        ("symbol", "CNY"),
        ("to", address(BOB).hex()),
        ("amount", "9"),
    )
    assert moved.events[0].name == "transferred"
    assert outcomes[0].touched == ()
    assert outcomes[1].touched == (address(BOB),)
    assert outcomes[2].touched == (address(CAROL),)
    assert created.status == issued.status == moved.status == "OK"
    assert created.message == ""


def test_failure_receipt_carries_code_and_message(chain: Chain) -> None:
    outcome = chain.run(make_tx(ALICE, 0, "assets", "issue", Issue("CNY", address(BOB), 1)))
    assert outcome.receipt.status == "ASSET_NOT_FOUND"
    assert "CNY" in outcome.receipt.message


def test_a_second_key_signs_for_the_account(chain: Chain) -> None:
    """[ACCT-AUTH.1] through the executor: BOB's p256 key added to ALICE's sm2 account."""
    bob_key = AccountKey(key_type="p256", public_key=BOB.public_key().to_bytes())
    assert chain.run(make_tx(ALICE, 0, "accounts", "add_key", AddKey(bob_key))).receipt.status == (
        "OK"
    )
    outcome = chain.run(make_tx(BOB, 1, "assets", "create", create(), sender=address(ALICE)))
    assert outcome.receipt.status == "OK"
    asset = chain.asset("CNY")
    assert asset is not None
    assert asset.issuer == address(ALICE)


def test_gas_limit_above_the_policy_cap_is_refused_without_trace(chain: Chain) -> None:
    """A faulty proposer's block may hold what the mempool refuses ([EXEC-TX.1] step 1)."""
    cap = ChainPolicy().max_tx_gas
    outcome = chain.run(make_tx(ALICE, 0, "assets", "create", create(), gas_limit=cap + 1))
    assert outcome.receipt.status == "TX_GAS_LIMIT_TOO_HIGH"
    assert outcome.receipt.gas_used == 0
    assert_no_trace(chain)
    at_cap = chain.run(make_tx(ALICE, 0, "assets", "create", create(), gas_limit=cap))
    assert at_cap.receipt.status == "OK"


def test_oversized_transaction_is_refused_without_trace(tmp_path: Path) -> None:
    tx = make_tx(ALICE, 0, "assets", "create", create())
    size = len(encode(tx))
    small = Chain.open(tmp_path / "db", genesis_for(policy=ChainPolicy(max_tx_bytes=size - 1)))
    try:
        assert small.run(tx).receipt.status == "TX_TOO_LARGE"
        assert small.roots[-1] == small.roots[-2]
    finally:
        small.close()


def test_receipt_ids_and_indexes_follow_the_block(chain: Chain) -> None:
    txs = [
        make_tx(ALICE, 0, "assets", "create", create()),
        make_tx(BOB, 5, "assets", "create", create("USD")),  # future nonce: still a receipt
        make_tx(CAROL, 0, "assets", "create", create("CNY")),  # module failure
    ]
    outcomes = chain.execute(txs)
    assert [o.receipt.tx_id for o in outcomes] == [tx_id(chain.hash_fn, t.body) for t in txs]
    assert [o.receipt.index for o in outcomes] == [0, 1, 2]
    assert [o.receipt.status for o in outcomes] == ["OK", "TX_FUTURE_NONCE", "ASSET_EXISTS"]


def test_a_failure_rolls_back_only_its_own_transaction(chain: Chain) -> None:
    outcomes = chain.execute(
        [
            make_tx(ALICE, 0, "assets", "create", create()),
            make_tx(ALICE, 1, "assets", "transfer", Transfer("CNY", address(BOB), 1)),
            make_tx(ALICE, 2, "assets", "issue", Issue("CNY", address(BOB), 7)),
        ]
    )
    assert [o.receipt.status for o in outcomes] == ["OK", "ASSET_INSUFFICIENT_BALANCE", "OK"]
    assert chain.balance(address(BOB), "CNY") == 7
    assert chain.nonce(address(ALICE)) == 3


def test_a_new_senders_account_survives_its_failing_first_transaction(chain: Chain) -> None:
    """[ACCT-CREATE.1] happens in step 2, before the module runs, and is not rolled back."""
    outcome = chain.run(make_tx(BOB, 0, "assets", "issue", Issue("CNY", address(BOB), 1)))
    assert outcome.receipt.status == "ASSET_NOT_FOUND"
    assert chain.account(address(BOB)) == Account(
        nonce=1, keys=(AccountKey(key_type="p256", public_key=BOB.public_key().to_bytes()),)
    )


def test_out_of_gas_at_the_event_rolls_back_the_writes_before_it(chain: Chain) -> None:
    """Gas is charged before the work: the writes went through, the event did not fit."""
    chain.run(make_tx(ALICE, 0, "assets", "create", create()))
    chain.run(make_tx(ALICE, 1, "assets", "issue", Issue("CNY", address(ALICE), 100)))
    before = chain.dump(b"assets/")
    written = len(encode([60])) + len(encode([40]))
    work = 2_000 + 3 * gas.STATE_READ + 2 * gas.STATE_WRITE + gas.PER_WRITTEN_BYTE * written

    def cost(t: Transaction) -> int:
        return gas.TX_BASE + gas.PER_TX_BYTE * len(encode(t)) + work + gas.EVENT

    # A limit inside the event's 200 gas; signatures vary in length, so re-sign until it is.
    limit = cost(make_tx(ALICE, 2, "assets", "transfer", Transfer("CNY", address(BOB), 40))) - 100
    tx = make_tx(ALICE, 2, "assets", "transfer", Transfer("CNY", address(BOB), 40), gas_limit=limit)
    while not cost(tx) - gas.EVENT <= limit < cost(tx):
        limit += 1 if limit < cost(tx) - gas.EVENT else -1
        tx = make_tx(
            ALICE, 2, "assets", "transfer", Transfer("CNY", address(BOB), 40), gas_limit=limit
        )
    short = chain.run(tx)
    assert short.receipt.status == "TX_OUT_OF_GAS"
    assert "event" in short.receipt.message
    assert short.receipt.gas_used == limit
    assert short.receipt.events == ()
    assert short.touched == ()
    assert chain.dump(b"assets/") == before
    assert chain.nonce(address(ALICE)) == 3
