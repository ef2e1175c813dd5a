"""Assets module: create, issue, transfer and burn fungible assets.

Invariant [ASSET-SUPPLY.1]: an asset's ``supply`` equals the sum of all its
balances, after every transaction. Balances never go negative and never
exceed 2**64 - 1 base units. Later applications (digital currency, settlement)
build on :func:`move`, :func:`mint` and :func:`destroy` rather than on the
transaction handlers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from consortia.codec import U64_MAX
from consortia.execution.events import EventStruct
from consortia.execution.module import Method, TxContext
from consortia.execution.state_view import StateView
from consortia.modules.assets.errors import (
    AssetExists,
    AssetNotFound,
    InsufficientBalance,
    InvalidSupplyRule,
    NotBurnable,
    NotIssuer,
    SupplyExceeded,
)
from consortia.modules.assets.events import EVENTS, Burned, Created, Issued, Transferred
from consortia.modules.assets.types import (
    Asset,
    Balance,
    Burn,
    Create,
    Issue,
    SupplyRule,
    Transfer,
    balance_key,
    definition_key,
)

_ZERO: Final = Balance(amount=0)


def load_asset(state: StateView, symbol: str) -> Asset:
    """The asset ``symbol``; raises :class:`AssetNotFound`."""
    asset = state.get_struct(definition_key(symbol), Asset)
    if asset is None:
        raise AssetNotFound(f"no asset {symbol!r}")
    return asset


def balance_of(state: StateView, address: bytes, symbol: str) -> int:
    """Base units of ``symbol`` held by ``address``."""
    return (state.get_struct(balance_key(address, symbol), Balance) or _ZERO).amount


def _set_balance(state: StateView, address: bytes, symbol: str, amount: int) -> None:
    key = balance_key(address, symbol)
    if amount == 0:
        state.delete(key)
    else:
        state.put_struct(key, Balance(amount=amount))


def move(state: StateView, symbol: str, source: bytes, target: bytes, amount: int) -> None:
    """Move ``amount`` from ``source`` to ``target``; raises InsufficientBalance."""
    held = balance_of(state, source, symbol)
    if held < amount:
        raise InsufficientBalance(f"balance {held} of {symbol} is below {amount}")
    if source == target:
        return
    _set_balance(state, source, symbol, held - amount)
    _set_balance(state, target, symbol, balance_of(state, target, symbol) + amount)


def mint(state: StateView, asset: Asset, target: bytes, amount: int) -> Asset:
    """Create ``amount`` new units for ``target`` within the supply rule."""
    new_supply = asset.supply + amount
    limit = U64_MAX if asset.supply_rule is SupplyRule.UNLIMITED else asset.max_supply
    if new_supply > limit:
        raise SupplyExceeded(f"supply {new_supply} of {asset.symbol} would exceed {limit}")
    updated = _with_supply(asset, new_supply)
    state.put_struct(definition_key(asset.symbol), updated)
    _set_balance(state, target, asset.symbol, balance_of(state, target, asset.symbol) + amount)
    return updated


def destroy(state: StateView, asset: Asset, holder: bytes, amount: int) -> Asset:
    """Destroy ``amount`` units held by ``holder``."""
    held = balance_of(state, holder, asset.symbol)
    if held < amount:
        raise InsufficientBalance(f"balance {held} of {asset.symbol} is below {amount}")
    updated = _with_supply(asset, asset.supply - amount)
    state.put_struct(definition_key(asset.symbol), updated)
    _set_balance(state, holder, asset.symbol, held - amount)
    return updated


def _with_supply(asset: Asset, supply: int) -> Asset:
    return Asset(
        symbol=asset.symbol,
        name=asset.name,
        issuer=asset.issuer,
        decimals=asset.decimals,
        supply_rule=asset.supply_rule,
        max_supply=asset.max_supply,
        burnable=asset.burnable,
        supply=supply,
    )


def _create(ctx: TxContext, args: Create) -> None:
    if ctx.state.get(definition_key(args.symbol)) is not None:
        raise AssetExists(f"asset {args.symbol!r} already exists")
    if args.supply_rule is SupplyRule.UNLIMITED and args.max_supply != 0:
        raise InvalidSupplyRule("an unlimited asset must have max_supply 0")
    if args.supply_rule is not SupplyRule.UNLIMITED and args.max_supply == 0:
        raise InvalidSupplyRule(f"a {args.supply_rule.value} asset needs max_supply > 0")
    asset = Asset(
        symbol=args.symbol,
        name=args.name,
        issuer=ctx.sender,
        decimals=args.decimals,
        supply_rule=args.supply_rule,
        max_supply=args.max_supply,
        burnable=args.burnable,
        supply=0,
    )
    ctx.state.put_struct(definition_key(args.symbol), asset)
    if args.supply_rule is SupplyRule.FIXED:
        mint(ctx.state, asset, ctx.sender, args.max_supply)
    ctx.emit(Created(symbol=args.symbol, issuer=ctx.sender, rule=args.supply_rule.value))


def _issue(ctx: TxContext, args: Issue) -> None:
    asset = load_asset(ctx.state, args.symbol)
    if asset.issuer != ctx.sender:
        raise NotIssuer(f"only the issuer of {args.symbol} may issue it")
    if asset.supply_rule is SupplyRule.FIXED:
        raise SupplyExceeded(f"{args.symbol} has a fixed supply")
    mint(ctx.state, asset, args.to, args.amount)
    ctx.touched.add(args.to)
    ctx.emit(Issued(symbol=args.symbol, to=args.to, amount=args.amount))


def _transfer(ctx: TxContext, args: Transfer) -> None:
    load_asset(ctx.state, args.symbol)
    move(ctx.state, args.symbol, ctx.sender, args.to, args.amount)
    ctx.touched.add(args.to)
    ctx.emit(Transferred(symbol=args.symbol, sender=ctx.sender, to=args.to, amount=args.amount))


def _burn(ctx: TxContext, args: Burn) -> None:
    asset = load_asset(ctx.state, args.symbol)
    if not asset.burnable:
        raise NotBurnable(f"{args.symbol} cannot be burned")
    destroy(ctx.state, asset, ctx.sender, args.amount)
    ctx.emit(Burned(symbol=args.symbol, holder=ctx.sender, amount=args.amount))


class AssetsModule:
    """The ``assets`` module."""

    name = "assets"
    methods: Mapping[str, Method[Any]] = {
        "create": Method(Create, _create, gas=5_000),
        "issue": Method(Issue, _issue, gas=2_000),
        "transfer": Method(Transfer, _transfer, gas=2_000),
        "burn": Method(Burn, _burn, gas=2_000),
    }
    events: tuple[type[EventStruct], ...] = EVENTS

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """Assets start empty; issuers create them by transaction."""


MODULE = AssetsModule()
