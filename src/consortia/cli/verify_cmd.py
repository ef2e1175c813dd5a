"""``consortia export`` and ``consortia verify``: prove a chain is a real BFT chain."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from consortia.codec import CodecError
from consortia.node.assembly import load_genesis
from consortia.node.config import ConfigError, NodeHome
from consortia.verify.export import read_export, write_export
from consortia.verify.verifier import VerifyReport, verify_chain

console = Console()
err = Console(stderr=True)


def export_command(
    home: Annotated[Path, typer.Option("--home", help="Node home to export from.")],
    out: Annotated[Path, typer.Option("--out", help="Export file to write.")],
) -> None:
    """Write the node's committed chain (genesis, blocks, certificates) to a file."""
    node = NodeHome(home)
    try:
        count = write_export(node.ledger_dir, load_genesis(node), out)
    except ConfigError as exc:
        err.print(f"error: {exc.message} [{exc.code}]", markup=False)
        raise typer.Exit(2) from None
    console.print(f"exported {count} blocks to {out}")


def _print(report: VerifyReport, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "ok": report.ok,
                    "blocks": report.blocks,
                    "transactions": report.transactions,
                    "executed": report.executed,
                    "first_bad_height": report.first_bad_height,
                    "problem": report.problem,
                }
            )
            + "\n"
        )
    elif report.ok:
        console.print(
            f"[green]VERIFIED[/green]: {report.blocks} blocks, {report.transactions} transactions; "
            "every link, proposer signature, QC and transaction signature checked"
            + (", every state root re-executed" if report.executed else "")
        )
    else:
        console.print(
            f"[red]FAILED[/red] at height {report.first_bad_height}: {report.problem}",
            highlight=False,
        )


def verify_command(
    export: Annotated[Path | None, typer.Option("--export", help="Export file to verify.")] = None,
    rpc: Annotated[str | None, typer.Option("--rpc", help="Node API URL to verify.")] = None,
    execute: Annotated[bool, typer.Option(help="Re-execute to check state roots.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check a chain without trusting the node: exit 0 if valid, 1 naming the first bad height."""
    if (export is None) == (rpc is None):
        err.print("error: give exactly one of --export FILE or --rpc URL [CLI_USAGE]")
        raise typer.Exit(2)
    try:
        if export is not None:
            header, blocks = read_export(export)
            report = verify_chain(
                header.genesis,
                ((b.block, b.certificate) for b in blocks),
                execute=execute,
                epochs={start.epoch: start for start in header.epochs},
            )
        else:
            from consortia.verify.remote import fetch_chain

            assert rpc is not None
            genesis, records, epochs = fetch_chain(rpc)
            report = verify_chain(genesis, records, execute=execute, epochs=epochs)
    except httpx.HTTPError as exc:
        err.print(
            f"error: cannot fetch the chain from {rpc}: {exc} [NODE_UNREACHABLE]", markup=False
        )
        raise typer.Exit(3) from None
    except (OSError, ValueError, CodecError) as exc:
        err.print(f"error: cannot read the chain: {exc} [VERIFY_INPUT]", markup=False)
        raise typer.Exit(2) from None
    _print(report, as_json)
    raise typer.Exit(0 if report.ok else 1)
