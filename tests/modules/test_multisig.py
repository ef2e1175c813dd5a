"""Multisig accounts: k-of-n with weights, key rotation, and the multisig wire format.

[ACCT-MULTISIG.1] a transaction is authorised when the distinct keys that
signed it are in the sender's set and their weights add up to the threshold.
[ACCT-MULTISIG.2] the set and threshold change only by a transaction meeting
the current threshold. [LEDGER-TX-MULTI.1] single-signature transactions keep
their encoding; several signatures travel in a ``multisig`` envelope.
All signatures here are real (SM2, P-256, secp256k1).
"""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortia.codec import MalformedEncoding, decode, encode
from consortia.crypto import KeyType, PrivateKey
from consortia.execution.errors import ExecutionError, Unauthorized
from consortia.ledger.types import (
    MULTISIG_KEY_TYPE,
    MultiSignature,
    Transaction,
    TxBody,
    TxSignature,
    multisig_transaction,
    tx_signing_bytes,
)
from consortia.mempool.pool import verify_signatures
from consortia.modules.accounts import check_signers, checked_policy
from consortia.modules.accounts.handlers import keys_kept
from consortia.modules.accounts.types import (
    Account,
    AccountKey,
    AddKey,
    RemoveKey,
    SetKeys,
    SetMultisig,
    WeightedKey,
    decode_account,
    encode_account,
)
from consortia.modules.assets.types import Create, Issue, SupplyRule, Transfer
from execution.chain import Chain, address, key, make_tx

A = key(KeyType.SM2, 31)
B = key(KeyType.P256, 32)
C = key(KeyType.SECP256K1, 33)
D = key(KeyType.SM2, 34)
E = key(KeyType.SM2, 35)
STRANGER = key(KeyType.SM2, 36)
ACCOUNT = address(A)
"""The multisig account: A's address (A created it with its first transaction)."""
ISSUER = key(KeyType.SM2, 37)


def akey(k: PrivateKey) -> AccountKey:
    return AccountKey(key_type=k.key_type.value, public_key=k.public_key().to_bytes())


def wkey(k: PrivateKey, weight: int) -> WeightedKey:
    return WeightedKey(key=akey(k), weight=weight)


def entry(k: PrivateKey, body: TxBody) -> TxSignature:
    return TxSignature(
        key_type=k.key_type.value,
        public_key=k.public_key().to_bytes(),
        signature=k.sign(tx_signing_bytes(body)),
    )


def multi_tx(
    signers: list[PrivateKey], nonce: int, module: str, method: str, args: object
) -> Transaction:
    """A transaction of ACCOUNT signed by every key of ``signers`` (really)."""
    body = make_tx(signers[0], nonce, module, method, args, sender=ACCOUNT).body
    return multisig_transaction(body, [entry(k, body) for k in signers])


class Wallet:
    """ACCOUNT on a fresh chain: A:2, B:1, C:1, threshold 3; holds 1,000 CNY."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.nonce = 0
        issuer = [
            make_tx(
                ISSUER,
                0,
                "assets",
                "create",
                Create("CNY", "yuan", 2, SupplyRule.UNLIMITED, 0, True),
            ),
            make_tx(ISSUER, 1, "assets", "issue", Issue("CNY", ACCOUNT, 1_000)),
        ]
        assert all(o.receipt.status == "OK" for o in chain.execute(issuer))
        policy = SetMultisig(keys=(wkey(A, 2), wkey(B, 1), wkey(C, 1)), threshold=3)
        assert self.send([A], "accounts", "set_multisig", policy).receipt.status == "OK"

    def send(self, signers: list[PrivateKey], module: str, method: str, args: object) -> object:
        outcome = self.chain.run(multi_tx(signers, self.nonce, module, method, args))
        if outcome.receipt.status == "OK" or not outcome.receipt.status.startswith("TX_"):
            self.nonce += 1
        return outcome

    def pay(self, signers: list[PrivateKey], amount: int = 1) -> str:
        outcome = self.send(signers, "assets", "transfer", Transfer("CNY", address(D), amount))
        return outcome.receipt.status  # type: ignore[attr-defined,no-any-return]

    def account(self) -> Account:
        account = self.chain.account(ACCOUNT)
        assert account is not None
        return account


@pytest.fixture
def wallet(chain: Chain) -> Wallet:
    return Wallet(chain)


# ------------------------------------------------------------ wire format


def test_single_signature_encoding_is_the_four_field_array() -> None:
    """[LEDGER-TX-MULTI.1] a plain transaction's bytes are those of the original layout."""

    class LegacyTransaction(msgspec.Struct, frozen=True, array_like=True):
        body: TxBody
        key_type: str
        public_key: bytes
        signature: bytes

    tx = make_tx(A, 0, "assets", "transfer", Transfer("CNY", address(D), 1))
    legacy = LegacyTransaction(tx.body, tx.key_type, tx.public_key, tx.signature)
    assert encode(tx) == msgspec.msgpack.encode(legacy)
    assert decode(encode(tx), Transaction) == tx


def test_multisig_envelope_round_trips_and_one_signer_is_plain() -> None:
    tx = multi_tx([A, B], 0, "assets", "transfer", Transfer("CNY", address(D), 1))
    assert tx.key_type == MULTISIG_KEY_TYPE and tx.public_key == b""
    assert decode(encode(tx), Transaction) == tx
    single = multi_tx([A], 0, "assets", "transfer", Transfer("CNY", address(D), 1))
    assert single.key_type == "sm2" and single.public_key == A.public_key().to_bytes()


class _Envelope(msgspec.Struct, frozen=True, array_like=True):
    """Any four fields in a transaction's layout, unchecked: what a peer may send."""

    body: TxBody
    key_type: str
    public_key: bytes
    signature: bytes


def _inner(*entries: TxSignature) -> bytes:
    return msgspec.msgpack.encode([[list(msgspec.structs.astuple(e)) for e in entries]])


def _malformed_cases() -> list[tuple[str, _Envelope]]:
    body = make_tx(A, 0, "assets", "transfer", Transfer("CNY", address(D), 1)).body
    a, b = entry(A, body), entry(B, body)
    return [
        ("key beside a multisig", _Envelope(body, MULTISIG_KEY_TYPE, a.public_key, _inner(a, b))),
        ("one-entry multisig", _Envelope(body, MULTISIG_KEY_TYPE, b"", _inner(a))),
        ("garbage multisig", _Envelope(body, MULTISIG_KEY_TYPE, b"", b"\x92\x01\x02" * 4)),
        ("non-canonical multisig", _Envelope(body, MULTISIG_KEY_TYPE, b"", _inner(a, b) + b"\x00")),
        ("80-byte plain signature", _Envelope(body, "sm2", a.public_key, b"\x30" * 80)),
        ("short plain key", _Envelope(body, "sm2", b"\x02" * 20, a.signature)),
    ]


@pytest.mark.parametrize(("case", "envelope"), _malformed_cases(), ids=lambda v: str(v)[:30])
def test_malformed_envelopes_neither_decode_nor_construct(case: str, envelope: _Envelope) -> None:
    with pytest.raises(MalformedEncoding):
        decode(msgspec.msgpack.encode(envelope), Transaction)
    with pytest.raises(ValueError):
        Transaction(envelope.body, envelope.key_type, envelope.public_key, envelope.signature)


def test_every_signature_of_a_multisig_is_verified() -> None:
    good = multi_tx([A, B, C], 0, "assets", "transfer", Transfer("CNY", address(D), 1))
    entries = decode(good.signature, MultiSignature).signatures
    other = make_tx(A, 1, "assets", "transfer", Transfer("CNY", address(D), 1)).body
    swapped = (*entries[:2], entry(C, other))  # C signed another body
    bad = multisig_transaction(good.body, swapped)
    forged_key = (
        *entries[:2],
        msgspec.structs.replace(entries[2], public_key=entries[0].public_key),
    )
    assert verify_signatures([good, bad, multisig_transaction(good.body, forged_key)]) == [
        True,
        False,
        False,
    ]
    too_many = multisig_transaction(good.body, [entry(k, good.body) for k in _keys(17)])
    assert verify_signatures([too_many]) == [False]


def _keys(n: int) -> list[PrivateKey]:
    return [key(KeyType.SM2, 500 + i) for i in range(n)]


# ------------------------------------------------------------ the rule, by execution


def test_weighted_threshold_transfers_and_refusals(wallet: Wallet) -> None:
    """A:2 B:1 C:1 threshold 3: A+B and A+C pass; A, B+C, A+stranger, A+A do not."""
    chain = wallet.chain
    assert wallet.pay([A, B]) == "OK"
    assert wallet.pay([C, A]) == "OK"
    before = chain.dump()
    assert wallet.pay([A]) == "TX_BELOW_THRESHOLD"
    assert wallet.pay([B, C]) == "TX_BELOW_THRESHOLD"
    assert wallet.pay([A, STRANGER]) == "TX_SIGNER_NOT_IN_SET"
    body = make_tx(
        A, wallet.nonce, "assets", "transfer", Transfer("CNY", address(D), 1), sender=ACCOUNT
    ).body
    twice = multisig_transaction(body, [entry(A, body), entry(A, body)])
    assert chain.run(twice).receipt.status == "TX_DUPLICATE_SIGNER"
    many = multisig_transaction(body, [entry(k, body) for k in _keys(17)])
    assert chain.run(many).receipt.status == "TX_TOO_MANY_SIGNATURES"
    assert chain.dump() == before  # refusals leave no trace, not even a nonce
    assert chain.balance(address(D), "CNY") == 2
    assert wallet.account().nonce == 3


def test_set_multisig_stores_weights_and_emits(wallet: Wallet) -> None:
    account = wallet.account()
    assert (account.weights, account.threshold) == ((2, 1, 1), 3)
    assert account.keys == (akey(A), akey(B), akey(C))


def test_rotation_needs_the_current_threshold_and_retires_the_old_set(wallet: Wallet) -> None:
    """[ACCT-MULTISIG.2] B+C (weight 2 < 3) cannot rotate; A+B can; then only D+E sign."""
    new = SetMultisig(keys=(wkey(D, 1), wkey(E, 1)), threshold=2)
    assert wallet.send([B, C], "accounts", "set_multisig", new).receipt.status == (  # type: ignore[attr-defined]
        "TX_BELOW_THRESHOLD"
    )
    outcome = wallet.send([A, B], "accounts", "set_multisig", new)
    assert outcome.receipt.status == "OK"  # type: ignore[attr-defined]
    events = outcome.receipt.events  # type: ignore[attr-defined]
    assert [(e.module, e.name) for e in events] == [("accounts", "multisig_set")]
    assert dict(events[0].attributes) == {
        "account": ACCOUNT.hex(),
        "keys": "2",
        "total_weight": "2",
        "threshold": "2",
    }
    assert wallet.pay([A, B]) == "TX_SIGNER_NOT_IN_SET"
    assert wallet.pay([A]) == "TX_UNAUTHORIZED"
    assert wallet.pay([D]) == "TX_BELOW_THRESHOLD"
    assert wallet.pay([D, E]) == "OK"


@pytest.mark.parametrize(
    ("keys", "threshold", "code"),
    [
        ((wkey(D, 1), wkey(E, 1)), 0, "ACCOUNTS_THRESHOLD_ZERO"),
        ((wkey(D, 1), wkey(E, 1)), 3, "ACCOUNTS_THRESHOLD_UNREACHABLE"),
        ((wkey(D, 1), wkey(E, 0)), 1, "ACCOUNTS_WEIGHT_ZERO"),
        ((wkey(D, 2**63), wkey(E, 2**63)), 1, "ACCOUNTS_WEIGHT_OVERFLOW"),
        ((), 1, "ACCOUNTS_LAST_KEY"),
        ((wkey(D, 1), wkey(D, 2)), 1, "ACCOUNTS_KEY_EXISTS"),
    ],
)
def test_set_multisig_refusals_leave_the_set(
    wallet: Wallet, keys: tuple[WeightedKey, ...], threshold: int, code: str
) -> None:
    before = wallet.account()
    outcome = wallet.send([A, B], "accounts", "set_multisig", SetMultisig(keys, threshold))
    assert outcome.receipt.status == code  # type: ignore[attr-defined]
    after = wallet.account()
    assert (after.keys, after.weights, after.threshold) == (
        before.keys,
        before.weights,
        before.threshold,
    )


def test_remove_and_add_key_keep_weights_and_threshold(wallet: Wallet) -> None:
    """Removing A (weight 2) leaves B+C = 2 < 3: refused; add_key adds weight 1, keeps 3."""
    remove_a = RemoveKey(A.public_key().to_bytes())
    assert wallet.send([A, B], "accounts", "remove_key", remove_a).receipt.status == (  # type: ignore[attr-defined]
        "ACCOUNTS_THRESHOLD_UNREACHABLE"
    )
    assert wallet.send([A, B], "accounts", "add_key", AddKey(akey(D))).receipt.status == "OK"  # type: ignore[attr-defined]
    account = wallet.account()
    assert (account.weights, account.threshold) == ((2, 1, 1, 1), 3)
    assert wallet.send([A, C], "accounts", "remove_key", remove_a).receipt.status == "OK"  # type: ignore[attr-defined]
    assert (wallet.account().weights, wallet.account().threshold) == ((1, 1, 1), 3)
    assert wallet.pay([B, C, D]) == "OK"
    # set_keys makes a plain account again: any one key signs.
    plain = SetKeys((akey(B),))
    assert wallet.send([B, C, D], "accounts", "set_keys", plain).receipt.status == "OK"  # type: ignore[attr-defined]
    assert wallet.pay([B]) == "OK"


# ------------------------------------------------------------ stored form


def test_plain_accounts_keep_their_three_field_bytes() -> None:
    plain = Account(nonce=7, keys=(akey(A),))
    assert encode_account(plain)[0] == 0x93
    assert decode_account(encode_account(plain)) == plain
    assert decode_account(encode(plain)) == plain  # a five-field plain record reads the same
    weighted = Account(nonce=7, keys=(akey(A), akey(B)), weights=(1, 1), threshold=2)
    assert encode_account(weighted) == encode(weighted)
    assert decode_account(encode_account(weighted)) == weighted


def test_keys_kept_never_falls_back_to_one_key_signs() -> None:
    """Governance's revoke_key uses keys_kept: a 2-of-3 stays 2-of-2, not 1-of-2."""
    account = Account(nonce=1, keys=(akey(A), akey(B), akey(C)), weights=(1, 1, 1), threshold=2)
    kept = keys_kept(account, [akey(A), akey(C)])
    assert (kept.keys, kept.weights, kept.threshold) == ((akey(A), akey(C)), (1, 1), 2)
    with pytest.raises(ExecutionError) as refused:
        keys_kept(account, [akey(A)])
    assert refused.value.code == "ACCOUNTS_THRESHOLD_UNREACHABLE"


# ------------------------------------------------------------ the rule, property-based

POOL = [key(KeyType.SM2, 700 + i) for i in range(8)]
SIGNER_KEYS = [(k.key_type.value, k.public_key().to_bytes()) for k in POOL]


@settings(max_examples=300, deadline=None)
@given(
    weights=st.lists(st.integers(1, 2**60), min_size=1, max_size=8),  # the sum fits a U64
    data=st.data(),
)
def test_signers_pass_exactly_when_their_weights_meet_the_threshold(
    weights: list[int], data: st.DataObject
) -> None:
    """Distinct registered signers pass iff the sum of their weights >= threshold."""
    n = len(weights)
    threshold = data.draw(st.integers(1, sum(weights)), label="threshold")
    policy = checked_policy([wkey(POOL[i], w) for i, w in enumerate(weights)], threshold)
    account = Account(nonce=0, keys=policy.keys, weights=policy.weights, threshold=threshold)
    chosen = data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n), label="signers")
    signers = [SIGNER_KEYS[i] for i in chosen]
    if not signers:
        return
    total = sum(weights[i] for i in chosen)
    if total >= threshold:
        check_signers(account, ACCOUNT, signers)
    else:
        with pytest.raises(Unauthorized) as refused:
            check_signers(account, ACCOUNT, signers)
        assert refused.value.code in {"TX_BELOW_THRESHOLD", "TX_UNAUTHORIZED"}
        assert len(signers) > 1 or refused.value.code == "TX_BELOW_THRESHOLD"


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=8),
    threshold=st.integers(0, 2**66),
)
def test_checked_policy_accepts_exactly_the_reachable_sets(
    weights: list[int], threshold: int
) -> None:
    keys = [wkey(POOL[i], w) for i, w in enumerate(weights)]
    total = sum(weights)
    if 0 in weights:
        expected = "ACCOUNTS_WEIGHT_ZERO"
    elif total > 2**64 - 1:
        expected = "ACCOUNTS_WEIGHT_OVERFLOW"
    elif threshold == 0:
        expected = "ACCOUNTS_THRESHOLD_ZERO"
    elif threshold > total:
        expected = "ACCOUNTS_THRESHOLD_UNREACHABLE"
    else:
        policy = checked_policy(keys, threshold)
        assert (policy.weights, policy.threshold) == (tuple(weights), threshold)
        return
    with pytest.raises(ExecutionError) as refused:
        checked_policy(keys, threshold)
    assert refused.value.code == expected
