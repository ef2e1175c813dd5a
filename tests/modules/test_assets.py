"""Assets module: supply rules, issuance, transfers, burning, limits and errors."""

from __future__ import annotations

import pytest

from consortia.codec import U64_MAX, encode
from consortia.crypto import KeyType, PrivateKey
from consortia.execution.executor import TxOutcome
from consortia.modules.assets.types import (
    Asset,
    Burn,
    Create,
    Issue,
    SupplyRule,
    Transfer,
    balance_key,
)
from execution.chain import Chain, address, key, make_tx

ISSUER = key(KeyType.SM2, 31)
HOLDER = key(KeyType.P256, 32)


class Party:
    """Sends assets calls from one key, keeping its nonce."""

    def __init__(self, chain: Chain, signer: PrivateKey) -> None:
        self.chain = chain
        self.key = signer
        self.address = address(signer)
        self.nonce = 0

    def send(self, method: str, args: object) -> str:
        return self.call(method, args).receipt.status

    def call(self, method: str, args: object) -> TxOutcome:
        outcome = self.chain.run(make_tx(self.key, self.nonce, "assets", method, args))
        self.nonce += 1
        return outcome

    def balance(self, symbol: str = "CNY") -> int:
        return self.chain.balance(self.address, symbol)


@pytest.fixture
def issuer(chain: Chain) -> Party:
    return Party(chain, ISSUER)


@pytest.fixture
def holder(chain: Chain) -> Party:
    return Party(chain, HOLDER)


def create(rule: SupplyRule, cap: int = 0, *, symbol: str = "CNY", burnable: bool = True) -> Create:
    return Create(
        symbol=symbol, name="yuan", decimals=2, supply_rule=rule, max_supply=cap, burnable=burnable
    )


def supply(chain: Chain, symbol: str = "CNY") -> int:
    asset = chain.asset(symbol)
    assert asset is not None
    return asset.supply


# ------------------------------------------------------------------ create


def test_create_stores_the_definition(issuer: Party) -> None:
    assert issuer.send("create", create(SupplyRule.CAPPED, 1_000, burnable=False)) == "OK"
    assert issuer.chain.asset("CNY") == Asset(
        symbol="CNY",
        name="yuan",
        issuer=issuer.address,
        decimals=2,
        supply_rule=SupplyRule.CAPPED,
        max_supply=1_000,
        burnable=False,
        supply=0,
    )


@pytest.mark.parametrize(
    ("rule", "cap", "status"),
    [
        (SupplyRule.UNLIMITED, 0, "OK"),
        (SupplyRule.UNLIMITED, 1, "ASSET_INVALID_SUPPLY_RULE"),
        (SupplyRule.CAPPED, 0, "ASSET_INVALID_SUPPLY_RULE"),
        (SupplyRule.CAPPED, 1, "OK"),
        (SupplyRule.FIXED, 0, "ASSET_INVALID_SUPPLY_RULE"),
        (SupplyRule.FIXED, U64_MAX, "OK"),
    ],
)
def test_supply_rule_validation(issuer: Party, rule: SupplyRule, cap: int, status: str) -> None:
    assert issuer.send("create", create(rule, cap)) == status
    assert (issuer.chain.asset("CNY") is not None) == (status == "OK")


def test_fixed_supply_is_minted_to_the_issuer(issuer: Party) -> None:
    outcome = issuer.call("create", create(SupplyRule.FIXED, 5_000))
    assert outcome.receipt.status == "OK"
    assert issuer.balance() == 5_000
    assert supply(issuer.chain) == 5_000
    assert outcome.receipt.events[0].name == "created"
    assert issuer.send("issue", Issue("CNY", issuer.address, 1)) == "ASSET_SUPPLY_EXCEEDED"


def test_symbol_is_taken_once(issuer: Party, holder: Party) -> None:
    assert issuer.send("create", create(SupplyRule.UNLIMITED)) == "OK"
    assert holder.send("create", create(SupplyRule.CAPPED, 9)) == "ASSET_EXISTS"
    asset = issuer.chain.asset("CNY")
    assert asset is not None
    assert asset.issuer == issuer.address


@pytest.mark.parametrize(
    "fields",
    [
        ["cny", "n", 0, "capped", 1, True],  # lower-case symbol
        ["C" * 33, "n", 0, "capped", 1, True],  # symbol too long
        ["CNY", "", 0, "capped", 1, True],  # empty name
        ["CNY", "n" * 129, 0, "capped", 1, True],  # name too long
        ["CNY", "n", 19, "capped", 1, True],  # decimals above 18
        ["CNY", "n", 0, "pegged", 1, True],  # no such rule
    ],
)
def test_create_argument_validation(issuer: Party, fields: list[object]) -> None:
    tx = make_tx(ISSUER, 0, "assets", "create", None, raw_args=encode(fields))
    assert issuer.chain.run(tx).receipt.status == "TX_BAD_ARGS"


# ------------------------------------------------------------------- issue


def test_only_the_issuer_issues(issuer: Party, holder: Party) -> None:
    issuer.send("create", create(SupplyRule.UNLIMITED))
    assert holder.send("issue", Issue("CNY", holder.address, 10)) == "ASSET_NOT_ISSUER"
    assert supply(issuer.chain) == 0
    outcome = issuer.call("issue", Issue("CNY", holder.address, 10))
    assert outcome.receipt.status == "OK"
    assert outcome.touched == (holder.address,)
    assert holder.balance() == 10


def test_issue_of_an_unknown_asset(issuer: Party) -> None:
    assert issuer.send("issue", Issue("NONE", issuer.address, 1)) == "ASSET_NOT_FOUND"


def test_capped_issuance_stops_at_the_cap(issuer: Party, holder: Party) -> None:
    issuer.send("create", create(SupplyRule.CAPPED, 100))
    assert issuer.send("issue", Issue("CNY", holder.address, 60)) == "OK"
    assert issuer.send("issue", Issue("CNY", holder.address, 41)) == "ASSET_SUPPLY_EXCEEDED"
    assert issuer.send("issue", Issue("CNY", holder.address, 40)) == "OK"
    assert supply(issuer.chain) == holder.balance() == 100
    # Burning makes room again under the cap.
    assert holder.send("burn", Burn("CNY", 30)) == "OK"
    assert issuer.send("issue", Issue("CNY", issuer.address, 30)) == "OK"
    assert supply(issuer.chain) == 100


def test_unlimited_supply_overflows_at_2_64_minus_1(issuer: Party, holder: Party) -> None:
    issuer.send("create", create(SupplyRule.UNLIMITED))
    assert issuer.send("issue", Issue("CNY", holder.address, U64_MAX - 1)) == "OK"
    assert issuer.send("issue", Issue("CNY", issuer.address, 2)) == "ASSET_SUPPLY_EXCEEDED"
    assert issuer.send("issue", Issue("CNY", issuer.address, 1)) == "OK"
    assert supply(issuer.chain) == U64_MAX
    assert issuer.send("issue", Issue("CNY", issuer.address, 1)) == "ASSET_SUPPLY_EXCEEDED"
    # All units in one account: a transfer cannot push a balance past the limit.
    assert issuer.send("transfer", Transfer("CNY", holder.address, 1)) == "OK"
    assert holder.balance() == U64_MAX


def test_zero_amount_is_bad_args(issuer: Party) -> None:
    issuer.send("create", create(SupplyRule.UNLIMITED))
    raw = encode(["CNY", issuer.address, 0])
    tx = make_tx(ISSUER, issuer.nonce, "assets", "issue", None, raw_args=raw)
    assert issuer.chain.run(tx).receipt.status == "TX_BAD_ARGS"


# ---------------------------------------------------------------- transfer


def test_transfer_moves_units_and_emits(issuer: Party, holder: Party) -> None:
    issuer.send("create", create(SupplyRule.FIXED, 1_000))
    outcome = issuer.call("transfer", Transfer("CNY", holder.address, 400))
    assert outcome.receipt.status == "OK"
    assert (issuer.balance(), holder.balance()) == (600, 400)
    (event,) = outcome.receipt.events
    assert event.attributes == (
        ("symbol", "CNY"),
        ("sender", issuer.address.hex()),
        ("to", holder.address.hex()),
        ("amount", "400"),
    )
    assert outcome.touched == (holder.address,)


def test_transfer_of_the_whole_balance_deletes_the_key(issuer: Party, holder: Party) -> None:
    issuer.send("create", create(SupplyRule.FIXED, 10))
    assert issuer.send("transfer", Transfer("CNY", holder.address, 10)) == "OK"
    assert issuer.chain.dump(balance_key(issuer.address, "CNY")) == {}
    assert holder.balance() == 10


def test_self_transfer_changes_nothing_but_the_nonce(issuer: Party) -> None:
    issuer.send("create", create(SupplyRule.FIXED, 10))
    before = issuer.chain.dump(b"assets/")
    outcome = issuer.call("transfer", Transfer("CNY", issuer.address, 10))
    assert outcome.receipt.status == "OK"
    assert outcome.touched == ()
    assert issuer.chain.dump(b"assets/") == before
    assert issuer.send("transfer", Transfer("CNY", issuer.address, 11)) == (
        "ASSET_INSUFFICIENT_BALANCE"
    )


def test_insufficient_balance(issuer: Party, holder: Party) -> None:
    issuer.send("create", create(SupplyRule.FIXED, 10))
    assert holder.send("transfer", Transfer("CNY", issuer.address, 1)) == (
        "ASSET_INSUFFICIENT_BALANCE"
    )
    assert issuer.send("transfer", Transfer("CNY", holder.address, 11)) == (
        "ASSET_INSUFFICIENT_BALANCE"
    )
    assert issuer.balance() == 10


def test_transfer_of_an_unknown_asset(holder: Party) -> None:
    assert holder.send("transfer", Transfer("NONE", holder.address, 1)) == "ASSET_NOT_FOUND"


# -------------------------------------------------------------------- burn


def test_burn_reduces_balance_and_supply(issuer: Party, holder: Party) -> None:
    issuer.send("create", create(SupplyRule.FIXED, 100))
    issuer.send("transfer", Transfer("CNY", holder.address, 40))
    outcome = holder.call("burn", Burn("CNY", 15))
    assert outcome.receipt.status == "OK"
    assert outcome.receipt.events[0].attributes == (
        ("symbol", "CNY"),
        ("holder", holder.address.hex()),
        ("amount", "15"),
    )
    assert holder.balance() == 25
    assert supply(issuer.chain) == 85
    assert holder.send("burn", Burn("CNY", 26)) == "ASSET_INSUFFICIENT_BALANCE"
    assert supply(issuer.chain) == 85


def test_non_burnable_assets_cannot_be_burned(issuer: Party) -> None:
    issuer.send("create", create(SupplyRule.FIXED, 100, burnable=False))
    assert issuer.send("burn", Burn("CNY", 1)) == "ASSET_NOT_BURNABLE"
    assert supply(issuer.chain) == issuer.balance() == 100


def test_burn_of_an_unknown_asset(holder: Party) -> None:
    assert holder.send("burn", Burn("NONE", 1)) == "ASSET_NOT_FOUND"
