"""``consortia asset``: create, issue, transfer, burn and inspect assets.

Amounts are whole units with up to the asset's ``decimals`` places
(``12.50``), converted exactly; ``--raw`` takes base units.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

import typer
from rich.table import Table

from consortia.api.jsonable import to_plain
from consortia.cli.client_cmd import (
    DEFAULT_HOME,
    Context,
    FromOpt,
    HomeOpt,
    JsonOpt,
    KeyringOpt,
    NodeOpt,
    WaitOpt,
    cell,
    from_base_units,
    handles_errors,
    out,
    report_transaction,
    show_fields,
    to_base_units,
)
from consortia.execution.text import normalise
from consortia.modules.assets.types import Burn, Create, Issue, SupplyRule, Transfer
from consortia.sdk import Client

asset_app = typer.Typer(help="Create, move and inspect assets.", no_args_is_help=True)

AmountOpt = Annotated[str, typer.Option("--amount", help="Amount in whole units, e.g. 12.50.")]
ToOpt = Annotated[str, typer.Option("--to", help="Recipient: address, key name or PEM path.")]
RawOpt = Annotated[bool, typer.Option("--raw", help="Amounts are base units.")]


class RuleChoice(enum.StrEnum):
    """Supply rules of ``asset create``."""

    FIXED = "fixed"
    CAPPED = "capped"
    UNLIMITED = "unlimited"


def _decimals(client: Client, symbol: str) -> int:
    return client.asset(symbol).decimals


@asset_app.command("create")
@handles_errors
def asset_create(
    symbol: Annotated[str, typer.Argument(help="Symbol, e.g. CNY.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    decimals: Annotated[int, typer.Option("--decimals", min=0, max=18, help="Decimal places.")],
    supply_rule: Annotated[RuleChoice, typer.Option("--supply-rule", help="Supply rule.")],
    from_: FromOpt,
    max_supply: Annotated[
        str | None, typer.Option("--max-supply", help="Cap (fixed/capped), in units.")
    ] = None,
    not_burnable: Annotated[bool, typer.Option("--not-burnable", help="Forbid burning.")] = False,
    raw: RawOpt = False,
    wait: WaitOpt = 10.0,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Define an asset with --from as issuer."""
    ctx = Context(home, node, as_json, keyring)
    cap = 0 if max_supply is None else to_base_units(max_supply, decimals, raw=raw)
    rule = SupplyRule(supply_rule.value)
    # NFC here; anything else the text rule refuses exits 2 with TX_BAD_NAME, unsent.
    args = Create(symbol, normalise(name), decimals, rule, cap, not not_burnable)
    signer = ctx.signer(from_)
    with ctx.client() as client:
        record = client.send(signer, "assets", "create", args, wait=wait, check=False)
    report_transaction(ctx, record)


def _move(
    ctx: Context,
    from_: str,
    symbol: str,
    amount: str,
    raw: bool,
    wait: float,
    method: str,
    to: str | None,
) -> None:
    signer = ctx.signer(from_)
    recipient = None if to is None else ctx.address(to)
    with ctx.client() as client:
        units = to_base_units(amount, 0 if raw else _decimals(client, symbol), raw=raw)
        args: Any
        if method == "burn":
            args = Burn(symbol, units)
        else:
            assert recipient is not None
            args = (Issue if method == "issue" else Transfer)(symbol, recipient, units)
        record = client.send(signer, "assets", method, args, wait=wait, check=False)
    report_transaction(ctx, record)


@asset_app.command("issue")
@handles_errors
def asset_issue(
    symbol: Annotated[str, typer.Argument(help="Symbol.")],
    to: ToOpt,
    amount: AmountOpt,
    from_: FromOpt,
    raw: RawOpt = False,
    wait: WaitOpt = 10.0,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue new units to --to (issuer only)."""
    _move(Context(home, node, as_json, keyring), from_, symbol, amount, raw, wait, "issue", to)


@asset_app.command("transfer")
@handles_errors
def asset_transfer(
    symbol: Annotated[str, typer.Argument(help="Symbol.")],
    to: ToOpt,
    amount: AmountOpt,
    from_: FromOpt,
    raw: RawOpt = False,
    wait: WaitOpt = 10.0,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move units from --from to --to."""
    ctx = Context(home, node, as_json, keyring)
    _move(ctx, from_, symbol, amount, raw, wait, "transfer", to)


@asset_app.command("burn")
@handles_errors
def asset_burn(
    symbol: Annotated[str, typer.Argument(help="Symbol.")],
    amount: AmountOpt,
    from_: FromOpt,
    raw: RawOpt = False,
    wait: WaitOpt = 10.0,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Destroy units --from holds."""
    _move(Context(home, node, as_json, keyring), from_, symbol, amount, raw, wait, "burn", None)


@asset_app.command("balance")
@handles_errors
def asset_balance(
    who: Annotated[str, typer.Argument(help="Address, key name or PEM path.")],
    symbol: Annotated[str | None, typer.Argument(help="Only this asset.")] = None,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Balances of an account, in whole units and base units."""
    ctx = Context(home, node, as_json, keyring)
    address = ctx.address(who)
    with ctx.client() as client:
        account = client.account(address)
        held = {b.symbol: b.amount for b in account.balances}
        symbols = [symbol] if symbol is not None else sorted(held)
        rows = []
        for sym in symbols:
            decimals = _decimals(client, sym)
            units = held.get(sym, 0)
            rows.append(
                {
                    "symbol": sym,
                    "amount": from_base_units(units, decimals),
                    "base_units": units,
                    "decimals": decimals,
                }
            )
    document = {"address": account.address, "height": account.height, "balances": rows}

    def human() -> None:
        table = Table("symbol", "amount", "base units", title=f"{account.address}")
        for row in rows:
            table.add_row(cell(row["symbol"]), cell(row["amount"]), cell(row["base_units"]))
        out.print(table)

    ctx.emit(document, human)


@asset_app.command("show")
@handles_errors
def asset_show(
    symbol: Annotated[str, typer.Argument(help="Symbol.")],
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    as_json: JsonOpt = False,
) -> None:
    """An asset's definition and supply."""
    ctx = Context(home, node, as_json)
    with ctx.client() as client:
        asset = client.asset(symbol)
    fields = to_plain(asset)
    fields["supply (units)"] = from_base_units(asset.supply, asset.decimals)
    ctx.emit(asset, lambda: show_fields(f"asset {symbol}", fields))
