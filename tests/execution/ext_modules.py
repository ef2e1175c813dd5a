"""Small application modules that exercise the extension points (execution/extensions.py).

* ``limits``: a wallet limit per account that only a committee vote may set
  (``set_limit`` is governance-only), and ``spend`` under it.
* ``maturity``: takes its own genesis section (items maturing at heights).
* ``counter`` v1 and v2: v1 keeps each count as decimal text under
  ``counter/v1/<name>``; v2 keeps a canonical struct under ``counter/v2/<name>``
  and migrates v1's records when it activates.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

from consortia.codec import U64, Address, Canonical, Name
from consortia.execution.errors import ModuleError
from consortia.execution.events import EventStruct
from consortia.execution.extensions import GenesisSectionError
from consortia.execution.module import BlockContext, Method, TxContext
from consortia.execution.state_view import StateView

# ------------------------------------------------------------------ limits

LIMIT_CAP: Final = 10**12


class SetLimit(Canonical, frozen=True):
    account: Address
    amount: U64


class Spend(Canonical, frozen=True):
    amount: U64


class LimitSet(EventStruct, frozen=True):
    event_name = "limit_set"
    account: bytes
    amount: int
    by: bytes


class Spent(EventStruct, frozen=True):
    event_name = "spent"
    account: bytes
    amount: int


class LimitExceeded(ModuleError):
    code = "LIMITS_EXCEEDED"


class LimitTooHigh(ModuleError):
    code = "LIMITS_TOO_HIGH"


class LimitValue(Canonical, frozen=True):
    amount: U64


def limit_key(account: bytes) -> bytes:
    return b"limits/" + account


def _set_limit(ctx: TxContext, args: SetLimit) -> None:
    if args.amount > LIMIT_CAP:
        raise LimitTooHigh(f"limit {args.amount} above the cap {LIMIT_CAP}")
    ctx.state.put_struct(limit_key(args.account), LimitValue(amount=args.amount))
    ctx.touched.add(args.account)
    ctx.emit(LimitSet(account=args.account, amount=args.amount, by=ctx.sender))


def _spend(ctx: TxContext, args: Spend) -> None:
    found = ctx.state.get_struct(limit_key(ctx.sender), LimitValue)
    limit = 0 if found is None else found.amount
    if args.amount > limit:
        raise LimitExceeded(f"spend {args.amount} above the limit {limit}")
    ctx.emit(Spent(account=ctx.sender, amount=args.amount))


class LimitsModule:
    """Per-account wallet limits; only the committee sets them."""

    name = "limits"
    events: tuple[type[EventStruct], ...] = (LimitSet, Spent)
    governance_methods: Collection[str] = ("set_limit",)
    methods: Mapping[str, Method[Any]] = {
        "set_limit": Method(SetLimit, _set_limit, gas=2_000),
        "spend": Method(Spend, _spend),
    }

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """Nothing at genesis."""


# ---------------------------------------------------------------- maturity


class MaturityItem(Canonical, frozen=True):
    height: int
    amount: U64


class MaturityGenesis(Canonical, frozen=True):
    items: tuple[MaturityItem, ...] = ()


def maturity_key(height: int) -> bytes:
    return b"maturity/" + height.to_bytes(8, "big")


class MaturityModule:
    """Items that mature at heights, installed from its genesis section."""

    name = "maturity"
    events: tuple[type[EventStruct], ...] = ()
    methods: Mapping[str, Method[Any]] = {}
    genesis_type = MaturityGenesis

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """The section is installed by :meth:`install_genesis`."""

    def validate_genesis(self, section: MaturityGenesis) -> None:
        seen: set[int] = set()
        for i, item in enumerate(section.items):
            if item.height < 0:
                raise GenesisSectionError(f"items[{i}].height", "must be ≥ 0")
            if item.height in seen:
                raise GenesisSectionError(f"items[{i}].height", f"{item.height} appears twice")
            seen.add(item.height)

    def install_genesis(self, state: StateView, section: MaturityGenesis) -> None:
        for item in section.items:
            state.put_struct(maturity_key(item.height), item)


# ----------------------------------------------------------------- counter

V1_PREFIX: Final = b"counter/v1/"
V2_PREFIX: Final = b"counter/v2/"


class Bump(Canonical, frozen=True):
    name: Name


class Count(Canonical, frozen=True):
    value: U64
    since_height: U64
    """Height at which the record took this layout (the migration's height for migrated ones)."""


def _bump_v1(ctx: TxContext, args: Bump) -> None:
    key = V1_PREFIX + args.name.encode()
    raw = ctx.state.get(key)
    ctx.state.set(key, str(int(raw or b"0") + 1).encode())


def _bump_v2(ctx: TxContext, args: Bump) -> None:
    key = V2_PREFIX + args.name.encode()
    found = ctx.state.get_struct(key, Count)
    value = 1 if found is None else found.value + 1
    since = ctx.block.height if found is None else found.since_height
    ctx.state.put_struct(key, Count(value=value, since_height=since))


class CounterV1:
    """Counts as decimal text."""

    name = "counter"
    events: tuple[type[EventStruct], ...] = ()
    methods: Mapping[str, Method[Any]] = {"bump": Method(Bump, _bump_v1)}

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """Nothing at genesis."""


class CounterV2:
    """Counts as canonical structs; migrates v1's text records when it activates."""

    name = "counter"
    events: tuple[type[EventStruct], ...] = ()
    methods: Mapping[str, Method[Any]] = {"bump": Method(Bump, _bump_v2)}

    def __init__(self, migration_gas: int = 1_000_000) -> None:
        self.migration_gas = migration_gas
        self.runs = 0
        """How often :meth:`migrate` was entered (for the exactly-once check)."""

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """Nothing at genesis."""

    def migrate(self, state: StateView, block: BlockContext) -> None:
        self.runs += 1
        old = list(state.iterate(V1_PREFIX))
        for key, raw in old:
            name = key[len(V1_PREFIX) :]
            state.put_struct(V2_PREFIX + name, Count(value=int(raw), since_height=block.height))
            state.delete(key)
