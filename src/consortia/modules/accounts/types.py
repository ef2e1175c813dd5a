"""Account state and the arguments of the accounts module's methods."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from consortia.codec import U64, Address, Canonical
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
    """An account: its next nonce, authorised keys and status."""

    nonce: U64
    keys: tuple[AccountKey, ...]
    frozen: bool = False


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
