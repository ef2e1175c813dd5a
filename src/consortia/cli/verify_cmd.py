"""``consortia export`` and ``consortia verify``: prove a chain is a real BFT chain.

``verify`` exit codes: 0 verified (the whole chain, or the prefix asked for
with ``--up-to``); 1 it does not verify (the report names the first bad height
and a ``VERIFY_*`` code: a broken rule, a truncated, empty or miscounted
export, a foreign genesis); 2 bad usage, an unreadable file or an export
format this version refuses (``VERIFY_EXPORT_VERSION``); 3 the node cannot be
reached. Errors print one line, ``error: <what> [<CODE>]``, with no traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from consortia.errors import NodeError
from consortia.node.config import NodeHome
from consortia.verify.errors import ExportVersionUnsupported, VerifyError

if TYPE_CHECKING:
    from consortia.verify.verifier import VerifyReport

# The genesis file and the verifier load the block transition and py-evm (about a
# second): they are imported in the commands that run them, so the rest of the CLI
# starts at once (docs/cli.md).

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def export_command(
    home: Annotated[Path, typer.Option("--home", help="Node home to export from.")],
    out: Annotated[Path, typer.Option("--out", help="Export file to write.")],
) -> None:
    """Write the node's committed chain (genesis, blocks, certificates, trailer) to a file."""
    from consortia.node.genesis_file import load_genesis
    from consortia.verify.export import write_export

    node = NodeHome(home)
    try:
        count = write_export(node.ledger_dir, load_genesis(node), out)
    except NodeError as exc:
        err.print(f"error: {exc.message} [{exc.code}]", markup=False)
        raise typer.Exit(2) from None
    except OSError as exc:
        err.print(f"error: cannot write {out}: {exc} [CLI_IO_ERROR]", markup=False)
        raise typer.Exit(2) from None
    console.print(f"exported {count} blocks to {out}", markup=False)


def _hex(data: bytes) -> str:
    return "0x" + data.hex() if data else ""


def _scope(report: VerifyReport, source: str) -> str:
    """What was verified, in words: the whole source or an explicit prefix."""
    top = report.blocks - 1
    if report.up_to is not None:
        held = ""
        if report.source_blocks is not None:
            held = (
                f" of the {report.source_blocks} in the export"
                if source == "export"
                else f" of the node's committed 0..{report.source_blocks - 1}"
            )
        return (
            f"PREFIX blocks 0..{top}{held} (--up-to {report.up_to}); "
            "blocks after it were NOT checked"
        )
    if source == "export":
        return f"the whole export, blocks 0..{top}, trailer checked"
    return f"blocks 0..{top}, the node's committed height when verification began"


def _print(report: VerifyReport, source: str, as_json: bool) -> None:
    if as_json:
        document = {
            "ok": report.ok,
            "code": report.code or None,
            "blocks": report.blocks,
            "transactions": report.transactions,
            "executed": report.executed,
            "genesis_id": _hex(report.genesis_id) or None,
            "last_height": report.blocks - 1 if report.blocks else None,
            "last_id": _hex(report.last_id) or None,
            "whole": report.up_to is None,
            "up_to": report.up_to,
            "source_blocks": report.source_blocks,
            "first_bad_height": report.first_bad_height,
            "problem": report.problem,
        }
        sys.stdout.write(json.dumps(document) + "\n")
        return
    if report.ok:
        console.print(
            f"[green]VERIFIED[/green]: {escape(_scope(report, source))}; "
            f"{report.transactions} transactions; every link, proposer signature, QC and "
            "transaction signature checked"
            + (", every state root re-executed" if report.executed else "")
        )
        console.print(f"last block: height {report.blocks - 1} id {_hex(report.last_id)}")
    else:
        console.print(
            f"[red]FAILED[/red] at height {report.first_bad_height} "
            + escape(f"[{report.code}]: {report.problem}")
        )
    if report.genesis_id:
        console.print(f"genesis: {_hex(report.genesis_id)}")


def _pinned(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        pinned = bytes.fromhex(value.strip().removeprefix("0x"))
    except ValueError:
        pinned = b""
    if len(pinned) != 32:
        err.print("error: --genesis must be a 32-byte block id in hex [CLI_BAD_HEX]")
        raise typer.Exit(2)
    return pinned


def verify_command(
    export: Annotated[Path | None, typer.Option("--export", help="Export file to verify.")] = None,
    rpc: Annotated[str | None, typer.Option("--rpc", help="Node API URL to verify.")] = None,
    genesis: Annotated[
        str | None,
        typer.Option("--genesis", help="Pin the chain: the id of its genesis block (hex)."),
    ] = None,
    up_to: Annotated[
        int | None,
        typer.Option("--up-to", min=0, help="Verify only blocks 0..H (an explicit prefix)."),
    ] = None,
    execute: Annotated[bool, typer.Option(help="Re-execute to check state roots.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check a chain without trusting the node: exit 0 if valid, 1 naming the first bad height.

    Without ``--up-to`` the whole chain must verify: an export to its trailer,
    a node up to its committed height when the run began.
    """
    if (export is None) == (rpc is None):
        err.print("error: give exactly one of --export FILE or --rpc URL [CLI_USAGE]")
        raise typer.Exit(2)
    pinned = _pinned(genesis)
    from consortia.verify.verifier import VerifyReport, verify_chain, verify_export

    try:
        if export is not None:
            report = verify_export(export, execute=execute, genesis_id=pinned, up_to=up_to)
            if report.code == ExportVersionUnsupported.code:
                err.print(f"error: {report.problem} [{report.code}]", markup=False)
                raise typer.Exit(2)
            source = "export"
        else:
            from consortia.verify.remote import fetch_chain

            assert rpc is not None
            source = "node"
            try:
                chain = fetch_chain(rpc, up_to=up_to)
            except VerifyError as error:
                report = VerifyReport(executed=execute, up_to=up_to).fail(error)
            else:
                report = verify_chain(
                    chain.genesis,
                    chain.records,
                    execute=execute,
                    epochs=chain.epochs,
                    genesis_id=pinned,
                    up_to=up_to,
                )
                report.source_blocks = chain.top + 1
    except httpx.HTTPError as exc:
        err.print(
            f"error: cannot fetch the chain from {rpc}: {exc} [NODE_UNREACHABLE]", markup=False
        )
        raise typer.Exit(3) from None
    except OSError as exc:
        err.print(f"error: cannot read {export}: {exc} [CLI_IO_ERROR]", markup=False)
        raise typer.Exit(2) from None
    _print(report, source, as_json)
    raise typer.Exit(0 if report.ok else 1)
