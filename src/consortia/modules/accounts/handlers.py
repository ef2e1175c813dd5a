"""Accounts module: who may sign for an address, and each address's nonce.

An account comes into being with its first transaction, signed by a key whose
own address equals the sender ([ACCT-CREATE.1]); after that only keys
registered to the account may sign ([ACCT-AUTH.1]), and only the account
itself changes its keys ([ACCT-OWNKEYS.1]; the one exception is a voted
governance ``recover_account`` proposal). A key's address is the
suite-independent rule of :meth:`consortia.crypto.PublicKey.address`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import msgspec

from consortia.codec import U64_MAX
from consortia.crypto import KeyType, PublicKey
from consortia.crypto.errors import CryptoError
from consortia.execution.errors import AccountFrozen, BadArguments, Unauthorized
from consortia.execution.events import EventStruct
from consortia.execution.module import Method, TxContext
from consortia.execution.state_view import StateView
from consortia.ledger.types import MAX_SIGNATURES
from consortia.modules.accounts.errors import (
    BelowThreshold,
    DuplicateSigner,
    KeyAlreadyRegistered,
    KeyNotRegistered,
    LastKey,
    SignerNotInSet,
    ThresholdUnreachable,
    ThresholdZero,
    TooManyKeys,
    TooManySignatures,
    WeightOverflow,
    WeightZero,
)
from consortia.modules.accounts.events import EVENTS, KeyAdded, KeyRemoved, KeysSet, MultisigSet
from consortia.modules.accounts.types import (
    MAX_KEYS,
    Account,
    AccountKey,
    AddKey,
    GenesisAccount,
    RemoveKey,
    SetKeys,
    SetMultisig,
    WeightedKey,
    account_key,
    decode_account,
    encode_account,
)

SignerKey = tuple[str, bytes]
"""``(key_type, public_key)`` of a transaction's signer (the executor's ``SignerKey``)."""


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


@lru_cache(maxsize=65_536)
def _decoded_account(raw: bytes) -> Account:
    """:func:`decode_account`, cached: accounts are immutable and read on every transaction."""
    return decode_account(raw)


def load_account(state: StateView, address: bytes) -> Account | None:
    """The account at ``address``, if it exists (either stored form)."""
    raw = state.get(account_key(address))
    return None if raw is None else _decoded_account(raw)


def store_account(state: StateView, address: bytes, account: Account) -> None:
    """Write ``account`` at ``address`` in its stored form (:func:`encode_account`)."""
    state.set(account_key(address), encode_account(account))


def _key_index(account: Account, key_type: str, public_key: bytes) -> int | None:
    """Position of the key ``public_key`` of ``key_type`` in the account's set, if there."""
    for i, k in enumerate(account.keys):
        if is_key(k, key_type, public_key):
            return i
    return None


def authorize_sender(state: StateView, sender: bytes, signers: Sequence[SignerKey]) -> Account:
    """The sender's account if these ``(key_type, public_key)`` signers may sign for it;
    a fresh one on first use ([ACCT-CREATE.1], [ACCT-AUTH.1], [ACCT-MULTISIG.1]).

    The signers must be distinct keys of the account whose weights add up to
    at least its threshold. A new account has one key, its creator's, whose
    address is the sender; only that key signs its first transaction.

    Raises:
        TooManySignatures: more than MAX_SIGNATURES signers.
        Unauthorized: the one signer's key is not registered to the sender (or,
            for a new account, its address is not the sender's).
        SignerNotInSet: a signer of a multisig transaction is not registered.
        DuplicateSigner: one key signed twice.
        BelowThreshold: the signers' weights add up to less than the threshold.
        AccountFrozen: the account is frozen.
    """
    account = load_account(state, sender)
    if account is None:
        key_type, public_key = signers[0]
        if key_address(key_type, public_key) != sender:
            raise Unauthorized(
                f"key of address {key_address(key_type, public_key).hex()} may not create "
                f"account {sender.hex()}"
            )
        account = Account(nonce=0, keys=(AccountKey(key_type=key_type, public_key=public_key),))
    check_signers(account, sender, signers)
    if account.frozen:
        raise AccountFrozen(f"account {sender.hex()} is frozen")
    return account


def check_signers(account: Account, sender: bytes, signers: Sequence[SignerKey]) -> None:
    """Return if ``signers`` are distinct keys of ``account`` weighing at least its
    threshold ([ACCT-MULTISIG.1]); raise the refusal otherwise (as :func:`authorize_sender`)."""
    if len(signers) > MAX_SIGNATURES:
        raise TooManySignatures(
            f"a transaction carries at most {MAX_SIGNATURES} signatures, not {len(signers)}"
        )
    weight = 0
    used: set[int] = set()
    for key_type, public_key in signers:
        index = _key_index(account, key_type, public_key)
        if index is None:
            if len(signers) == 1:
                raise Unauthorized(f"key is not registered to account {sender.hex()}")
            raise SignerNotInSet(
                f"{key_type} key {public_key.hex()} is not registered to account {sender.hex()}"
            )
        if index in used:
            raise DuplicateSigner(f"{key_type} key {public_key.hex()} signed twice")
        used.add(index)
        weight += account.weight_of(index)
    if weight < account.threshold:
        raise BelowThreshold(
            f"signers' weight {weight} is below account {sender.hex()}'s threshold "
            f"{account.threshold}"
        )


def keys_kept(account: Account, kept: Sequence[AccountKey]) -> Account:
    """``account`` restricted to the keys ``kept`` (a subset of its keys), weights and all.

    For every removal of keys (``remove_key``, governance ``revoke_key``): a
    weighted account keeps its other keys' weights and its threshold, never
    falls back to one-key-signs.

    Raises:
        ThresholdUnreachable: the kept keys' weights add up to less than the threshold.
    """
    indices = [i for i, k in enumerate(account.keys) if k in kept]
    if sum(account.weight_of(i) for i in indices) < account.threshold:
        raise ThresholdUnreachable(
            f"without the removed key the others could not meet threshold {account.threshold}"
        )
    weights = tuple(account.weights[i] for i in indices) if account.weights else ()
    return msgspec.structs.replace(
        account, keys=tuple(account.keys[i] for i in indices), weights=weights
    )


def checked_policy(keys: Sequence[WeightedKey], threshold: int) -> Account:
    """A key set with weights and threshold, if an account may hold it ([ACCT-MULTISIG.2]).

    The result has nonce 0 and is not frozen: callers take its ``keys``,
    ``weights`` and ``threshold``.

    Raises:
        LastKey, TooManyKeys, KeyAlreadyRegistered, BadArguments: as :func:`checked_keys`.
        WeightZero: a key of weight 0.
        WeightOverflow: the weights add up to more than a U64.
        ThresholdZero: threshold 0.
        ThresholdUnreachable: threshold above the total weight.
    """
    plain = checked_keys(tuple(k.key for k in keys))
    for k in keys:
        if k.weight == 0:
            raise WeightZero(f"{k.key.key_type} key {k.key.public_key.hex()} has weight 0")
    total = sum(k.weight for k in keys)
    if total > U64_MAX:
        raise WeightOverflow(f"the keys' weights add up to {total}, above {U64_MAX}")
    if threshold == 0:
        raise ThresholdZero("a threshold of 0 would authorise unsigned transactions")
    if threshold > total:
        raise ThresholdUnreachable(f"threshold {threshold} is above the keys' total weight {total}")
    return Account(nonce=0, keys=plain, weights=tuple(k.weight for k in keys), threshold=threshold)


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
    weights = (*account.weights, 1) if account.weights else ()
    if sum(weights) > U64_MAX:
        raise WeightOverflow(f"another key would take the keys' weights above {U64_MAX}")
    store_account(
        ctx.state,
        ctx.sender,
        msgspec.structs.replace(account, keys=(*account.keys, args.key), weights=weights),
    )
    ctx.emit(KeyAdded(account=ctx.sender, key_type=args.key.key_type))


def _remove_key(ctx: TxContext, args: RemoveKey) -> None:
    account = load_account(ctx.state, ctx.sender)
    assert account is not None, "the executor creates the sender's account first"
    kept = [
        i
        for i, k in enumerate(account.keys)
        if k.public_key != args.public_key and not is_key(k, k.key_type, args.public_key)
    ]
    if len(kept) == len(account.keys):
        raise KeyNotRegistered("key is not registered to this account")
    if not kept:
        raise LastKey("cannot remove the account's last key")
    store_account(ctx.state, ctx.sender, keys_kept(account, [account.keys[i] for i in kept]))
    ctx.emit(KeyRemoved(account=ctx.sender))


def _set_keys(ctx: TxContext, args: SetKeys) -> None:
    """Replace the sender's keys ([ACCT-OWNKEYS.1]): signed by a key of the account itself."""
    account = load_account(ctx.state, ctx.sender)
    assert account is not None, "the executor creates the sender's account first"
    keys = checked_keys(args.keys)
    store_account(  # a plain set: every key weighs 1, any one signs
        ctx.state,
        ctx.sender,
        Account(nonce=account.nonce, keys=keys, frozen=account.frozen),
    )
    ctx.emit(KeysSet(account=ctx.sender, keys=len(keys)))


def _set_multisig(ctx: TxContext, args: SetMultisig) -> None:
    """Replace the sender's keys, weights and threshold ([ACCT-MULTISIG.2]).

    Key rotation of a multisig account: the executor let this transaction in
    only because its signers met the *current* threshold, so the old key set
    authorises the new one; from the next transaction on only the new set signs.
    """
    account = load_account(ctx.state, ctx.sender)
    assert account is not None, "the executor creates the sender's account first"
    policy = checked_policy(args.keys, args.threshold)
    store_account(
        ctx.state,
        ctx.sender,
        msgspec.structs.replace(
            account, keys=policy.keys, weights=policy.weights, threshold=policy.threshold
        ),
    )
    ctx.emit(
        MultisigSet(
            account=ctx.sender,
            keys=len(policy.keys),
            total_weight=sum(policy.weights),
            threshold=policy.threshold,
        )
    )


class AccountsModule:
    """The ``accounts`` module."""

    name = "accounts"
    methods: Mapping[str, Method[Any]] = {
        "add_key": Method(AddKey, _add_key, gas=2_000),
        "remove_key": Method(RemoveKey, _remove_key, gas=2_000),
        "set_keys": Method(SetKeys, _set_keys, gas=4_000),
        "set_multisig": Method(SetMultisig, _set_multisig, gas=6_000),
    }
    events: tuple[type[EventStruct], ...] = EVENTS

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """Create the genesis accounts."""
        accounts: tuple[GenesisAccount, ...] = genesis.accounts
        for entry in accounts:
            store_account(state, entry.address, Account(nonce=0, keys=entry.keys))


MODULE = AccountsModule()


class AccountsAuthority:
    """Implements the executor's sender checks with the accounts module's state."""

    def next_nonce(self, state: StateView, sender: bytes, signers: Sequence[SignerKey]) -> int:
        """Next nonce of the sender, after checking the signers may sign for it."""
        return authorize_sender(state, sender, signers).nonce

    def consume_nonce(self, state: StateView, sender: bytes, signers: Sequence[SignerKey]) -> None:
        """Advance the sender's nonce (creating the account on its first transaction)."""
        account = authorize_sender(state, sender, signers)
        store_account(state, sender, msgspec.structs.replace(account, nonce=account.nonce + 1))


AUTHORITY = AccountsAuthority()
