"""Model-based test of the assets module against a dict model ([ASSET-SUPPLY.1]).

Every rule sends one real transaction through the executor on an LMDB chain
and predicts its status from the model. Invariants after every step: each
asset's supply equals the sum of its stored balances, no stored balance is
zero or negative, and chain and model agree on every balance and supply.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from consortia.codec import U64_MAX, decode
from consortia.crypto import KeyType
from consortia.modules.assets.types import (
    BAL_PREFIX,
    Balance,
    Burn,
    Create,
    Issue,
    SupplyRule,
    Transfer,
)
from execution.chain import Chain, address, key, make_tx

KEYS = (key(KeyType.SM2, 41), key(KeyType.P256, 42), key(KeyType.SECP256K1, 43))
ADDRESSES = tuple(address(k) for k in KEYS)
SYMBOLS = ("AAA", "BBB")
AMOUNTS = st.one_of(st.integers(1, 50), st.sampled_from([2**32, 2**63, U64_MAX - 1, U64_MAX]))
party = st.integers(0, len(KEYS) - 1)
symbols = st.sampled_from(SYMBOLS)


@dataclass
class ModelAsset:
    issuer: int
    rule: SupplyRule
    cap: int
    burnable: bool
    supply: int = 0


class AssetsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._tmp = tempfile.TemporaryDirectory()
        self.chain = Chain.open(Path(self._tmp.name) / "db")
        self.nonces = [0] * len(KEYS)
        self.assets: dict[str, ModelAsset] = {}
        self.balances: dict[tuple[int, str], int] = {}

    def teardown(self) -> None:
        self.chain.close()
        self._tmp.cleanup()

    def send(self, who: int, method: str, args: object, expected: str) -> None:
        tx = make_tx(KEYS[who], self.nonces[who], "assets", method, args)
        self.nonces[who] += 1
        status = self.chain.run(tx).receipt.status
        assert status == expected, f"{method} {args}: got {status}, model says {expected}"

    def held(self, who: int, symbol: str) -> int:
        return self.balances.get((who, symbol), 0)

    def credit(self, who: int, symbol: str, delta: int) -> None:
        amount = self.held(who, symbol) + delta
        assert amount >= 0
        if amount:
            self.balances[(who, symbol)] = amount
        else:
            self.balances.pop((who, symbol), None)

    @rule(
        who=party,
        symbol=symbols,
        rule_=st.sampled_from(list(SupplyRule)),
        cap=st.sampled_from([0, 1, 100, U64_MAX]),
        burnable=st.booleans(),
    )
    def create(self, who: int, symbol: str, rule_: SupplyRule, cap: int, burnable: bool) -> None:
        args = Create(
            symbol=symbol,
            name=symbol,
            decimals=0,
            supply_rule=rule_,
            max_supply=cap,
            burnable=burnable,
        )
        if symbol in self.assets:
            expected = "ASSET_EXISTS"
        elif (rule_ is SupplyRule.UNLIMITED) != (cap == 0):
            expected = "ASSET_INVALID_SUPPLY_RULE"
        else:
            expected = "OK"
        self.send(who, "create", args, expected)
        if expected == "OK":
            asset = self.assets[symbol] = ModelAsset(who, rule_, cap, burnable)
            if rule_ is SupplyRule.FIXED:
                asset.supply = cap
                self.credit(who, symbol, cap)

    @rule(who=party, symbol=symbols, to=party, amount=AMOUNTS)
    def issue(self, who: int, symbol: str, to: int, amount: int) -> None:
        asset = self.assets.get(symbol)
        limit = 0
        if asset is not None:
            limit = U64_MAX if asset.rule is SupplyRule.UNLIMITED else asset.cap
        if asset is None:
            expected = "ASSET_NOT_FOUND"
        elif asset.issuer != who:
            expected = "ASSET_NOT_ISSUER"
        elif asset.rule is SupplyRule.FIXED or asset.supply + amount > limit:
            expected = "ASSET_SUPPLY_EXCEEDED"
        else:
            expected = "OK"
        self.send(who, "issue", Issue(symbol, ADDRESSES[to], amount), expected)
        if expected == "OK":
            assert asset is not None
            asset.supply += amount
            self.credit(to, symbol, amount)

    @rule(who=party, symbol=symbols, to=party, amount=AMOUNTS)
    def transfer(self, who: int, symbol: str, to: int, amount: int) -> None:
        if symbol not in self.assets:
            expected = "ASSET_NOT_FOUND"
        elif self.held(who, symbol) < amount:
            expected = "ASSET_INSUFFICIENT_BALANCE"
        else:
            expected = "OK"
        self.send(who, "transfer", Transfer(symbol, ADDRESSES[to], amount), expected)
        if expected == "OK":
            self.credit(who, symbol, -amount)
            self.credit(to, symbol, amount)

    @rule(who=party, symbol=symbols, amount=AMOUNTS)
    def burn(self, who: int, symbol: str, amount: int) -> None:
        asset = self.assets.get(symbol)
        if asset is None:
            expected = "ASSET_NOT_FOUND"
        elif not asset.burnable:
            expected = "ASSET_NOT_BURNABLE"
        elif self.held(who, symbol) < amount:
            expected = "ASSET_INSUFFICIENT_BALANCE"
        else:
            expected = "OK"
        self.send(who, "burn", Burn(symbol, amount), expected)
        if expected == "OK":
            assert asset is not None
            asset.supply -= amount
            self.credit(who, symbol, -amount)

    @rule(who=party, symbol=symbols, amount=AMOUNTS)
    def transfer_all_then_some(self, who: int, symbol: str, amount: int) -> None:
        """Move the whole balance to the next party, so balance keys get deleted."""
        held = self.held(who, symbol)
        if symbol in self.assets and held:
            self.transfer(who, symbol, (who + 1) % len(KEYS), held)

    @invariant()
    def supply_is_the_sum_of_balances(self) -> None:
        """[ASSET-SUPPLY.1]"""
        stored: dict[tuple[int, str], int] = {}
        for raw_key, raw_value in self.chain.dump(BAL_PREFIX).items():
            rest = raw_key[len(BAL_PREFIX) :]
            holder, symbol = ADDRESSES.index(rest[:20]), rest[21:].decode()
            amount = decode(raw_value, Balance).amount
            assert 0 < amount <= U64_MAX
            stored[(holder, symbol)] = amount
        assert stored == self.balances
        for symbol, model in self.assets.items():
            asset = self.chain.asset(symbol)
            assert asset is not None
            total = sum(v for (_, s), v in stored.items() if s == symbol)
            assert asset.supply == total == model.supply
            assert asset.supply <= (U64_MAX if model.rule is SupplyRule.UNLIMITED else model.cap)
        for symbol in set(SYMBOLS) - set(self.assets):
            assert self.chain.asset(symbol) is None


AssetsMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAssetsMachine = AssetsMachine.TestCase
