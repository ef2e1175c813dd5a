"""Accounts module: who may sign for an address, and each address's nonce.

An account comes into being with its first transaction, signed by a key whose
own address equals the sender ([ACCT-CREATE.1]); after that only keys
registered to the account may sign ([ACCT-AUTH.1]), and only the account
itself changes its keys ([ACCT-OWNKEYS.1]; the one exception is a voted
governance ``recover_account`` proposal). A key's address is the
suite-independent rule of :meth:`consortia.crypto.PublicKey.address`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from consortia.crypto import KeyType, PublicKey
from consortia.crypto.errors import CryptoError
from consortia.execution.errors import AccountFrozen, BadArguments, Unauthorized
from consortia.execution.module import Method, TxContext
from consortia.execution.state_view import StateView
from consortia.modules.accounts.errors import (
    KeyAlreadyRegistered,
    KeyNotRegistered,
    LastKey,
    TooManyKeys,
)
from consortia.modules.accounts.types import (
    MAX_KEYS,
    Account,
    AccountKey,
    AddKey,
    GenesisAccount,
    RemoveKey,
    SetKeys,
    account_key,
)


@lru_cache(maxsize=65_536)
def key_address(key_type: str, public_key: bytes) -> bytes:
    """Address of a public key (cached: parsing a point costs more than hashing)."""
    try:
        return PublicKey.from_bytes(KeyType(key_type), public_key).address()
    except (CryptoError, ValueError) as exc:
        raise BadArguments(f"invalid {key_type} public key: {exc}") from None


@lru_cache(maxsize=65_536)
def key_point(key_type: str, public_key: bytes) -> bytes:
    """The uncompressed point of a key, whichever SEC1 encoding it came in (cached)."""
    try:
        return PublicKey.from_bytes(KeyType(key_type), public_key).to_bytes()
    except (CryptoError, ValueError) as exc:
        raise BadArguments(f"invalid {key_type} public key: {exc}") from None


def is_key(key: AccountKey, key_type: str, public_key: bytes) -> bool:
    """Whether ``key`` is the point ``public_key`` of ``key_type``, in either encoding."""
    if key.key_type != key_type:
        return False
    if key.public_key == public_key:
        return True
    try:
        return key_point(key.key_type, key.public_key) == key_point(key_type, public_key)
    except BadArguments:
        return False


def checked_keys(keys: tuple[AccountKey, ...]) -> tuple[AccountKey, ...]:
    """``keys`` if they can be an account's whole key set: 1 to MAX_KEYS distinct points.

    Shared by ``set_keys``, ``governance.register_account`` and the
    ``recover_account`` proposal, so every way of setting keys obeys one rule.

    Raises:
        BadArguments: a key is not a point of its curve (``TX_BAD_ARGS``).
        LastKey: no key at all.
        TooManyKeys: more than MAX_KEYS keys.
        KeyAlreadyRegistered: the same point twice (in either SEC1 form).
    """
    if not keys:
        raise LastKey("an account needs at least one key")
    if len(keys) > MAX_KEYS:
        raise TooManyKeys(f"an account holds at most {MAX_KEYS} keys, not {len(keys)}")
    seen: set[bytes] = set()
    for k in keys:
        point = key_point(k.key_type, k.public_key)  # validates the point
        if point in seen or k.public_key in seen:  # as add_key: also across key types
            raise KeyAlreadyRegistered(f"{k.key_type} key {k.public_key.hex()} is given twice")
        seen.update((point, k.public_key))
    return keys


def load_account(state: StateView, address: bytes) -> Account | None:
    """The account at ``address``, if it exists."""
    return state.get_struct(account_key(address), Account)


def authorize_sender(state: StateView, sender: bytes, key_type: str, public_key: bytes) -> Account:
    """The sender's account if this key may sign for it; a fresh one on first use.

    Raises:
        Unauthorized: the key is not registered to the sender (or, for a new
            account, its address is not the sender's).
        AccountFrozen: the account is frozen.
    """
    account = load_account(state, sender)
    if account is None:
        if key_address(key_type, public_key) != sender:
            raise Unauthorized(
                f"key of address {key_address(key_type, public_key).hex()} may not create "
                f"account {sender.hex()}"
            )
        return Account(nonce=0, keys=(AccountKey(key_type=key_type, public_key=public_key),))
    if not any(is_key(k, key_type, public_key) for k in account.keys):
        raise Unauthorized(f"key is not registered to account {sender.hex()}")
    if account.frozen:
        raise AccountFrozen(f"account {sender.hex()} is frozen")
    return account


def _add_key(ctx: TxContext, args: AddKey) -> None:
    account = load_account(ctx.state, ctx.sender)
    assert account is not None, "the executor creates the sender's account first"
    key_address(args.key.key_type, args.key.public_key)  # validates the point
    new = args.key
    if any(
        k.public_key == new.public_key or is_key(k, new.key_type, new.public_key)
        for k in account.keys
    ):
        raise KeyAlreadyRegistered("key is already registered to this account")
    if len(account.keys) >= MAX_KEYS:
        raise TooManyKeys(f"an account holds at most {MAX_KEYS} keys")
    ctx.state.put_struct(
        account_key(ctx.sender),
        Account(nonce=account.nonce, keys=(*account.keys, args.key), frozen=account.frozen),
    )
    ctx.emit("key_added", account=ctx.sender, key_type=args.key.key_type)


def _remove_key(ctx: TxContext, args: RemoveKey) -> None:
    account = load_account(ctx.state, ctx.sender)
    assert account is not None, "the executor creates the sender's account first"
    remaining = tuple(
        k
        for k in account.keys
        if k.public_key != args.public_key and not is_key(k, k.key_type, args.public_key)
    )
    if len(remaining) == len(account.keys):
        raise KeyNotRegistered("key is not registered to this account")
    if not remaining:
        raise LastKey("cannot remove the account's last key")
    ctx.state.put_struct(
        account_key(ctx.sender),
        Account(nonce=account.nonce, keys=remaining, frozen=account.frozen),
    )
    ctx.emit("key_removed", account=ctx.sender)


def _set_keys(ctx: TxContext, args: SetKeys) -> None:
    """Replace the sender's keys ([ACCT-OWNKEYS.1]): signed by a key of the account itself."""
    account = load_account(ctx.state, ctx.sender)
    assert account is not None, "the executor creates the sender's account first"
    keys = checked_keys(args.keys)
    ctx.state.put_struct(
        account_key(ctx.sender), Account(nonce=account.nonce, keys=keys, frozen=account.frozen)
    )
    ctx.emit("keys_set", account=ctx.sender, keys=len(keys))


class AccountsModule:
    """The ``accounts`` module."""

    name = "accounts"
    methods: Mapping[str, Method[Any]] = {
        "add_key": Method(AddKey, _add_key, gas=2_000),
        "remove_key": Method(RemoveKey, _remove_key, gas=2_000),
        "set_keys": Method(SetKeys, _set_keys, gas=4_000),
    }

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """Create the genesis accounts."""
        accounts: tuple[GenesisAccount, ...] = genesis.accounts
        for entry in accounts:
            state.put_struct(account_key(entry.address), Account(nonce=0, keys=entry.keys))


MODULE = AccountsModule()


class AccountsAuthority:
    """Implements the executor's sender checks with the accounts module's state."""

    def next_nonce(self, state: StateView, sender: bytes, key_type: str, public_key: bytes) -> int:
        """Next nonce of the sender, after checking the key may sign for it."""
        return authorize_sender(state, sender, key_type, public_key).nonce

    def consume_nonce(
        self, state: StateView, sender: bytes, key_type: str, public_key: bytes
    ) -> None:
        """Advance the sender's nonce (creating the account on its first transaction)."""
        account = authorize_sender(state, sender, key_type, public_key)
        state.put_struct(
            account_key(sender),
            Account(nonce=account.nonce + 1, keys=account.keys, frozen=account.frozen),
        )


AUTHORITY = AccountsAuthority()
