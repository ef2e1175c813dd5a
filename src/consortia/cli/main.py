"""``consortia``: the command line, one typer app mounting every command group."""

from __future__ import annotations

import typer

from consortia.cli import bench_cmd, client_cmd, crypto_cmd, network_cmd, verify_cmd
from consortia.cli.asset_cmd import asset_app
from consortia.cli.contract_cmd import contract_app
from consortia.cli.gov_cmd import gov_app, org_app, role_app
from consortia.cli.keys_cmd import keys_app
from consortia.cli.multisig_cmd import multisig_app

app = typer.Typer(
    name="consortia",
    help="Consortia: a consortium blockchain. Run networks, manage keys, move assets, query.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("init")(network_cmd.init_command)
app.add_typer(network_cmd.node_app, name="node")
app.add_typer(network_cmd.devnet_app, name="devnet")
app.add_typer(keys_app, name="keys")
app.add_typer(multisig_app, name="multisig")
app.add_typer(asset_app, name="asset")
app.add_typer(gov_app, name="gov")
app.add_typer(org_app, name="org")
app.add_typer(role_app, name="role")
app.add_typer(client_cmd.query_app, name="query")
app.add_typer(client_cmd.tx_app, name="tx")
app.add_typer(crypto_cmd.app, name="crypto")
app.add_typer(bench_cmd.bench_app, name="bench")
app.add_typer(contract_app, name="contract")
app.command("export")(verify_cmd.export_command)
app.command("verify")(verify_cmd.verify_command)

__all__ = ["app"]
