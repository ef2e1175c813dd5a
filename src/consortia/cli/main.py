"""The ``consortia`` command: every command group mounted on one typer app."""

from __future__ import annotations

import typer

from consortia.cli import bench_cmd, crypto_cmd, network_cmd, verify_cmd

app = typer.Typer(
    no_args_is_help=True,
    help="Consortia: a consortium BFT blockchain (national and international crypto suites).",
)
app.add_typer(crypto_cmd.app, name="crypto")
app.command("init")(network_cmd.init_command)
app.add_typer(network_cmd.node_app, name="node")
app.add_typer(network_cmd.devnet_app, name="devnet")
app.add_typer(bench_cmd.bench_app, name="bench")
app.command("export")(verify_cmd.export_command)
app.command("verify")(verify_cmd.verify_command)


if __name__ == "__main__":
    app()
