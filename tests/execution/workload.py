"""Random-ish block sequences over every module method, for the determinism tests.

:func:`draw_blocks` draws blocks of signed transactions from accounts of all
three key types. Nonces mostly follow the sender's next nonce, sometimes step
off it (stale or future), and some transactions are signed by a key that does
not belong to the sender, so failing transactions of every stage are included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from consortia.crypto import KeyType, PrivateKey
from consortia.ledger.types import Transaction
from consortia.modules.accounts.types import AccountKey, AddKey, RemoveKey
from consortia.modules.assets.types import Burn, Create, Issue, SupplyRule, Transfer

from .chain import Chain, address, key, make_tx

KEYS: tuple[PrivateKey, ...] = (
    key(KeyType.SM2, 11),
    key(KeyType.P256, 12),
    key(KeyType.SECP256K1, 13),
    key(KeyType.P256, 14),
)
SYMBOLS = ("AAA", "BBB", "CCC")
RULES = (SupplyRule.FIXED, SupplyRule.CAPPED, SupplyRule.UNLIMITED)

Draw = Callable[[Any], Any]
"""``data.draw`` of a Hypothesis ``st.data()`` object (or any equivalent)."""


def call(draw: Draw, st: Any) -> tuple[str, str, object]:
    """One module call with drawn arguments (module, method, args)."""
    symbol = draw(st.sampled_from(SYMBOLS))
    target = address(draw(st.sampled_from(KEYS)))
    amount = draw(st.sampled_from([1, 5, 100, 100, 2**63, 2**64 - 1]))
    kind = draw(st.sampled_from(["create", "issue", "transfer", "burn", "add_key", "remove_key"]))
    if kind == "create":
        rule = draw(st.sampled_from(RULES))
        cap = draw(st.sampled_from([0, 1_000, 2**64 - 1]))
        args: object = Create(
            symbol=symbol,
            name=symbol,
            decimals=2,
            supply_rule=rule,
            max_supply=cap,
            burnable=draw(st.booleans()),
        )
        return "assets", "create", args
    if kind == "issue":
        return "assets", "issue", Issue(symbol, target, amount)
    if kind == "transfer":
        return "assets", "transfer", Transfer(symbol, target, amount)
    if kind == "burn":
        return "assets", "burn", Burn(symbol, amount)
    other = draw(st.sampled_from(KEYS))
    pub = other.public_key().to_bytes()
    if kind == "add_key":
        return (
            "accounts",
            "add_key",
            AddKey(AccountKey(key_type=other.key_type.value, public_key=pub)),
        )
    return "accounts", "remove_key", RemoveKey(public_key=pub)


def draw_block(draw: Draw, st: Any, chain: Chain) -> list[Transaction]:
    """One block of 0-6 transactions on top of ``chain``'s executed state."""
    pending: dict[bytes, int] = {}
    txs = []
    for _ in range(draw(st.integers(0, 6))):
        sender_key = draw(st.sampled_from(KEYS))
        sender = address(sender_key)
        account = chain.account(sender)
        if account is None:
            usable = [sender_key]
        else:
            registered = {k.public_key for k in account.keys}
            usable = [k for k in KEYS if k.public_key().to_bytes() in registered]
        signer = draw(st.sampled_from([*usable * 12, *KEYS]))
        expected = pending.get(sender, 0 if account is None else account.nonce)
        nonce = max(0, expected + draw(st.sampled_from([0, 0, 0, 0, 0, -1, 1])))
        if nonce == expected:
            pending[sender] = expected + 1
        module, method, args = call(draw, st)
        gas_limit = draw(st.sampled_from([1_000_000] * 5 + [5_000]))
        txs.append(make_tx(signer, nonce, module, method, args, sender=sender, gas_limit=gas_limit))
    return txs
