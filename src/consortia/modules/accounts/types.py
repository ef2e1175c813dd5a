"""Account state and the arguments of the accounts module's methods."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from consortia.codec import U64, Address, Canonical, NonCanonicalEncoding, decode, encode
from consortia.ledger.types import PublicKeyBytes

MAX_KEYS: Final = 16
ACCOUNT_PREFIX: Final = b"accounts/"
KeyTypeName = Annotated[str, msgspec.Meta(pattern=r"^(sm2|p256|secp256k1)\Z")]


def account_key(address: bytes) -> bytes:
    """State key of an account."""
    return ACCOUNT_PREFIX + address


class AccountKey(Canonical, frozen=True, gc=False):
    """A public key allowed to sign for an account."""

    key_type: KeyTypeName
    public_key: PublicKeyBytes


class Account(Canonical, frozen=True, gc=False):
    """An account: its next nonce, authorised keys, their weights and threshold, and status.

    A transaction from the account is authorised when the distinct keys that
    signed it are registered here and their weights add up to at least
    ``threshold`` ([ACCT-MULTISIG.1]). A plain account (every key weight 1,
    threshold 1: any one key signs) is stored in its original three-field form,
    so its bytes and the state root did not change when weights came in; read
    and write accounts with :func:`decode_account` / :func:`encode_account`.
    """

    nonce: U64
    keys: tuple[AccountKey, ...]
    frozen: bool = False
    weights: tuple[U64, ...] = ()
    """``weights[i]`` is the weight of ``keys[i]``; empty: every key weighs 1."""
    threshold: U64 = 1
    """Least total weight of the signers of a transaction."""

    def weight_of(self, index: int) -> int:
        """Weight of ``keys[index]``."""
        return self.weights[index] if self.weights else 1

    @property
    def is_plain(self) -> bool:
        """Every key weighs 1 and one signature suffices (the three-field form)."""
        return self.threshold == 1 and all(w == 1 for w in self.weights)


class _PlainAccount(Canonical, frozen=True, gc=False):
    """The stored form of a plain account: ``[nonce, keys, frozen]``, as before weights."""

    nonce: U64
    keys: tuple[AccountKey, ...]
    frozen: bool


_PLAIN_HEADER: Final = 0x93
"""MessagePack header of a three-element array: the stored plain form."""


def encode_account(account: Account) -> bytes:
    """Stored bytes of ``account``: three fields if plain, five if weighted."""
    if account.is_plain:
        return encode(_PlainAccount(account.nonce, account.keys, account.frozen))
    return encode(account)


def decode_account(raw: bytes) -> Account:
    """The account stored as ``raw`` (either form; raises CodecError if neither).

    Execution writes a plain account in the three-field form, but a five-field
    plain account (``encode(Account(...))`` written by other code) reads back
    the same: state is written only by the deterministic transition, so both
    forms are equally safe to read.

    Raises:
        NonCanonicalEncoding: weights that do not match the keys one for one.
    """
    if raw[:1] == bytes((_PLAIN_HEADER,)):
        plain = decode(raw, _PlainAccount)
        return Account(nonce=plain.nonce, keys=plain.keys, frozen=plain.frozen)
    account = decode(raw, Account)
    if account.weights and len(account.weights) != len(account.keys):
        raise NonCanonicalEncoding("a weighted account needs one weight per key")
    return account


class GenesisAccount(Canonical, frozen=True, gc=False):
    """An account created at genesis (e.g. an organisation's admin)."""

    address: Address
    keys: tuple[AccountKey, ...]


class AddKey(Canonical, frozen=True):
    """``accounts.add_key``: authorise another key for the sender's account."""

    key: AccountKey


class RemoveKey(Canonical, frozen=True):
    """``accounts.remove_key``: revoke a key (the last key cannot be removed)."""

    public_key: PublicKeyBytes


KeySet = Annotated[tuple[AccountKey, ...], msgspec.Meta(min_length=1, max_length=MAX_KEYS)]
"""1 to ``MAX_KEYS`` keys (distinct points: checked by ``checked_keys``)."""


class SetKeys(Canonical, frozen=True):
    """``accounts.set_keys``: replace all of the sender's keys at once (key rotation)."""

    keys: KeySet


class WeightedKey(Canonical, frozen=True, gc=False):
    """A key of a multisig account and the weight its signature counts for."""

    key: AccountKey
    weight: U64


class SetMultisig(Canonical, frozen=True):
    """``accounts.set_multisig``: replace the sender's keys, weights and threshold at once.

    Key rotation of a multisig account ([ACCT-MULTISIG.2]): like every
    transaction of the account it must itself meet the current threshold.
    Keys: 1 to ``MAX_KEYS`` distinct; weights at least 1, their sum a U64;
    threshold from 1 to that sum (``weights A:2, B:1, C:1, threshold 3``).
    """

    keys: Annotated[tuple[WeightedKey, ...], msgspec.Meta(max_length=MAX_KEYS)]
    threshold: U64
