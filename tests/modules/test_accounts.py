"""Accounts module: add_key / remove_key rules and limits, and who may sign.

[ACCT-CREATE.1] an account is created by its first transaction, signed by the
key whose address is the sender. [ACCT-AUTH.1] afterwards only registered keys
sign for it.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from consortia.codec import encode
from consortia.crypto import KeyType, PrivateKey
from consortia.execution.executor import TxOutcome
from consortia.modules.accounts.types import (
    MAX_KEYS,
    Account,
    AccountKey,
    AddKey,
    RemoveKey,
    SetKeys,
)
from consortia.modules.assets.types import Create, SupplyRule
from execution.chain import Chain, address, genesis_for, key, make_tx

OWNER = key(KeyType.SM2, 21)
SECOND = key(KeyType.SECP256K1, 22)
STRANGER = key(KeyType.P256, 23)


def account_key_of(k: PrivateKey) -> AccountKey:
    return AccountKey(key_type=k.key_type.value, public_key=k.public_key().to_bytes())


class Owner:
    """Sends accounts calls for OWNER's account, keeping its nonce."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.nonce = 0

    def send(self, method: str, args: object, signer: PrivateKey = OWNER) -> TxOutcome:
        tx = make_tx(signer, self.nonce, "accounts", method, args, sender=address(OWNER))
        outcome = self.chain.run(tx)
        if outcome.receipt.status not in {"TX_UNAUTHORIZED", "TX_STALE_NONCE"}:
            self.nonce += 1
        return outcome

    def add(self, k: PrivateKey) -> TxOutcome:
        return self.send("add_key", AddKey(account_key_of(k)))

    def remove(self, k: PrivateKey, signer: PrivateKey = OWNER) -> TxOutcome:
        return self.send("remove_key", RemoveKey(k.public_key().to_bytes()), signer)

    def keys(self) -> tuple[AccountKey, ...]:
        account = self.chain.account(address(OWNER))
        assert account is not None
        return account.keys


@pytest.fixture
def owner(chain: Chain) -> Owner:
    return Owner(chain)


def test_add_key_registers_it_and_emits(owner: Owner) -> None:
    outcome = owner.add(SECOND)
    assert outcome.receipt.status == "OK"
    assert owner.keys() == (account_key_of(OWNER), account_key_of(SECOND))
    (event,) = outcome.receipt.events
    assert (event.module, event.name) == ("accounts", "key_added")
    assert event.attributes == (("account", address(OWNER).hex()), ("key_type", "secp256k1"))


def test_a_second_key_signs_for_the_account(owner: Owner) -> None:
    owner.add(SECOND)
    assert owner.send("add_key", AddKey(account_key_of(STRANGER)), SECOND).receipt.status == "OK"
    assert owner.remove(STRANGER, signer=SECOND).receipt.status == "OK"
    assert owner.chain.nonce(address(OWNER)) == 3


def test_a_removed_key_cannot_sign(owner: Owner) -> None:
    owner.add(SECOND)
    assert owner.remove(SECOND).receipt.status == "OK"
    outcome = owner.send("add_key", AddKey(account_key_of(STRANGER)), SECOND)
    assert outcome.receipt.status == "TX_UNAUTHORIZED"
    assert owner.keys() == (account_key_of(OWNER),)


def test_the_creating_key_once_removed_cannot_sign_either(owner: Owner) -> None:
    """The address rule of [ACCT-CREATE.1] applies only while the account does not exist."""
    owner.add(SECOND)
    assert owner.remove(OWNER, signer=SECOND).receipt.status == "OK"
    assert owner.keys() == (account_key_of(SECOND),)
    assert owner.add(STRANGER).receipt.status == "TX_UNAUTHORIZED"


def test_adding_a_registered_key_fails(owner: Owner) -> None:
    assert owner.add(OWNER).receipt.status == "ACCOUNTS_KEY_EXISTS"
    # The point is validated first: OWNER's sm2 point is not on P-256.
    relabelled = AccountKey(key_type="p256", public_key=OWNER.public_key().to_bytes())
    assert owner.send("add_key", AddKey(relabelled)).receipt.status == "TX_BAD_ARGS"
    assert owner.keys() == (account_key_of(OWNER),)
    assert owner.chain.nonce(address(OWNER)) == 2


def test_adding_a_point_off_the_curve_is_bad_args(owner: Owner) -> None:
    bogus = AccountKey(key_type="p256", public_key=b"\x04" + bytes(64))
    assert owner.send("add_key", AddKey(bogus)).receipt.status == "TX_BAD_ARGS"
    assert owner.chain.nonce(address(OWNER)) == 1


def test_unknown_key_type_in_arguments_is_bad_args(owner: Owner) -> None:
    raw = encode([["ed25519", SECOND.public_key().to_bytes()]])
    tx = make_tx(OWNER, 0, "accounts", "add_key", None, raw_args=raw)
    assert owner.chain.run(tx).receipt.status == "TX_BAD_ARGS"


def test_an_account_holds_at_most_max_keys(owner: Owner) -> None:
    extra = [key(KeyType.P256, 100 + i) for i in range(MAX_KEYS - 1)]
    for k in extra:
        assert owner.add(k).receipt.status == "OK"
    assert len(owner.keys()) == MAX_KEYS
    assert owner.add(SECOND).receipt.status == "ACCOUNTS_TOO_MANY_KEYS"
    assert len(owner.keys()) == MAX_KEYS
    assert owner.remove(extra[0]).receipt.status == "OK"
    assert owner.add(SECOND).receipt.status == "OK"


def test_removing_an_unregistered_key_fails(owner: Owner) -> None:
    assert owner.remove(SECOND).receipt.status == "ACCOUNTS_KEY_NOT_FOUND"


def test_the_last_key_cannot_be_removed(owner: Owner) -> None:
    assert owner.remove(OWNER).receipt.status == "ACCOUNTS_LAST_KEY"
    assert owner.keys() == (account_key_of(OWNER),)
    assert owner.chain.nonce(address(OWNER)) == 1


def test_remove_key_emits(owner: Owner) -> None:
    owner.add(SECOND)
    (event,) = owner.remove(SECOND).receipt.events
    assert (event.name, event.attributes) == ("key_removed", (("account", address(OWNER).hex()),))


def test_genesis_accounts_exist_with_nonce_zero(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "db", genesis_for(accounts=[OWNER, SECOND]))
    try:
        assert chain.account(address(OWNER)) == Account(nonce=0, keys=(account_key_of(OWNER),))
        create = Create(
            symbol="X", name="X", decimals=0, supply_rule=SupplyRule.UNLIMITED, max_supply=0
        )
        assert chain.run(make_tx(SECOND, 0, "assets", "create", create)).receipt.status == "OK"
        assert chain.nonce(address(SECOND)) == 1
    finally:
        chain.close()


# A key is a point, whatever its SEC1 encoding (65-byte 04||x||y or 33-byte 02/03||x).


def compressed(k: PrivateKey) -> bytes:
    point = k.public_key().to_bytes()
    return bytes([2 + (point[-1] & 1)]) + point[1:33]


def test_the_compressed_encoding_of_a_registered_key_is_already_registered(owner: Owner) -> None:
    assert owner.add(SECOND).receipt.status == "OK"
    again = AddKey(AccountKey(key_type="secp256k1", public_key=compressed(SECOND)))
    assert owner.send("add_key", again).receipt.status == "ACCOUNTS_KEY_EXISTS"
    assert owner.keys() == (account_key_of(OWNER), account_key_of(SECOND))


def test_a_key_removed_by_one_encoding_cannot_sign_in_the_other(owner: Owner) -> None:
    """[ACCT-AUTH.1]: revoking a key revokes the point, not just the bytes named."""
    registered = AccountKey(key_type="secp256k1", public_key=compressed(SECOND))
    assert owner.send("add_key", AddKey(registered)).receipt.status == "OK"
    assert owner.remove(SECOND).receipt.status == "OK"  # named by its 65-byte encoding
    assert owner.keys() == (account_key_of(OWNER),)
    for public_key in (compressed(SECOND), SECOND.public_key().to_bytes()):
        args = AddKey(account_key_of(STRANGER))
        tx = make_tx(SECOND, owner.nonce, "accounts", "add_key", args, sender=address(OWNER))
        tx = msgspec.structs.replace(tx, public_key=public_key)
        assert owner.chain.run(tx).receipt.status == "TX_UNAUTHORIZED"


def test_a_registered_key_signs_in_either_encoding(chain: Chain) -> None:
    """[ACCT-CREATE.1] with a compressed key, then [ACCT-AUTH.1] with the uncompressed one."""
    first = make_tx(SECOND, 0, "accounts", "add_key", AddKey(account_key_of(STRANGER)))
    first = msgspec.structs.replace(first, public_key=compressed(SECOND))
    assert chain.run(first).receipt.status == "OK"
    second = make_tx(
        SECOND, 1, "accounts", "remove_key", RemoveKey(STRANGER.public_key().to_bytes())
    )
    assert chain.run(second).receipt.status == "OK"
    assert chain.nonce(address(SECOND)) == 2


# [ACCT-OWNKEYS.1] set_keys: an account replaces its own keys, signed by one of them.


def test_set_keys_rotates_the_account_keys(owner: Owner) -> None:
    new = (account_key_of(SECOND), account_key_of(STRANGER))
    outcome = owner.send("set_keys", SetKeys(new))
    assert outcome.receipt.status == "OK", outcome.receipt.message
    (event,) = outcome.receipt.events
    assert (event.name, event.attributes) == (
        "keys_set",
        (("account", address(OWNER).hex()), ("keys", "2")),
    )
    assert owner.keys() == new
    # The old key no longer signs; each new one does.
    assert owner.add(key(KeyType.SM2, 30)).receipt.status == "TX_UNAUTHORIZED"
    assert owner.send("set_keys", SetKeys((account_key_of(OWNER),)), STRANGER).receipt.status == (
        "OK"
    )
    assert owner.keys() == (account_key_of(OWNER),)
    assert owner.chain.nonce(address(OWNER)) == 2


def test_set_keys_refuses_bad_key_sets_and_leaves_the_keys(owner: Owner) -> None:
    twice = (
        account_key_of(SECOND),
        AccountKey(key_type="secp256k1", public_key=compressed(SECOND)),
    )
    assert owner.send("set_keys", SetKeys(twice)).receipt.status == "ACCOUNTS_KEY_EXISTS"
    bogus = (AccountKey(key_type="p256", public_key=b"\x04" + bytes(64)),)
    assert owner.send("set_keys", SetKeys(bogus)).receipt.status == "TX_BAD_ARGS"
    for count in (0, MAX_KEYS + 1):  # outside the KeySet bounds: refused by decoding
        keys = [account_key_of(key(KeyType.P256, 200 + i)) for i in range(count)]
        tx = make_tx(OWNER, owner.nonce, "accounts", "set_keys", None, raw_args=encode([keys]))
        assert owner.chain.run(tx).receipt.status == "TX_BAD_ARGS"
        owner.nonce += 1
    assert owner.keys() == (account_key_of(OWNER),)
    full = tuple(account_key_of(key(KeyType.P256, 200 + i)) for i in range(MAX_KEYS))
    assert owner.send("set_keys", SetKeys(full)).receipt.status == "OK"
    assert len(owner.keys()) == MAX_KEYS


def test_set_keys_acts_on_the_sender_only(owner: Owner, chain: Chain) -> None:
    """No key of another account can change OWNER's keys."""
    assert owner.add(SECOND).receipt.status == "OK"
    mine = (account_key_of(OWNER), account_key_of(SECOND))
    stranger_keys = SetKeys((account_key_of(STRANGER),))
    tx = make_tx(STRANGER, 0, "accounts", "set_keys", stranger_keys, sender=address(OWNER))
    assert chain.run(tx).receipt.status == "TX_UNAUTHORIZED"
    assert owner.keys() == mine
    assert chain.run(
        make_tx(STRANGER, 0, "accounts", "set_keys", stranger_keys)
    ).receipt.status == ("OK")
    assert owner.keys() == mine
