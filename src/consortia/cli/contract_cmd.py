"""``consortia contract compile|audit``: the contract toolchain on the command line.

Works on local files, no node needed. Exit codes: 0 ok (``audit``: no
high-severity finding); 1 ``audit`` found a high-severity finding; 2 bad
usage, unreadable source or compile error, printed as one line
``error: <message> [<CODE>]`` on stderr (with ``--json`` also
``{"error": {"code", "message"}}`` on stdout). Compiler messages follow the
error line on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from consortia.evm.audit import AuditReport, Severity, audit
from consortia.evm.compiler import CompiledContract, CompileFailed, ContractToolError, compile_file

__all__ = ["contract_app"]

contract_app = typer.Typer(
    help="Compile Solidity and Vyper contracts; audit them.", no_args_is_help=True
)
out = Console(highlight=False, soft_wrap=True)

EXIT_HIGH_FINDING = 1
EXIT_USAGE = 2

FileArg = Annotated[Path, typer.Argument(help="Contract source: a .sol or .vy file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _fail(exc: ContractToolError, as_json: bool) -> NoReturn:
    if as_json:
        sys.stdout.write(json.dumps({"error": exc.to_dict()}) + "\n")
    typer.echo(f"error: {exc.message} [{exc.code}]", err=True)
    if isinstance(exc, CompileFailed):
        for message in exc.messages:
            typer.echo(message, err=True)
    raise typer.Exit(EXIT_USAGE)


def _compile(path: Path, as_json: bool) -> list[CompiledContract]:
    try:
        contracts = compile_file(path)
    except ContractToolError as exc:
        _fail(exc, as_json)
    if not contracts:
        _fail(ContractToolError(f"{path} defines no deployable contract"), as_json)
    return contracts


@contract_app.command("compile")
def compile_command(
    file: FileArg,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Write one artifact NAME.json per contract here."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Compile a contract; print name, sizes and hashes (or the artifacts as JSON)."""
    contracts = _compile(file, as_json)
    artifacts = [c.artifact() for c in contracts]
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            for artifact in artifacts:
                target = out_dir / f"{artifact['contractName']}.json"
                target.write_text(json.dumps(artifact, indent=2) + "\n")
        except OSError as exc:
            err = ContractToolError(f"cannot write artifacts to {out_dir}: {exc}")
            _fail(err, as_json)
    if as_json:
        sys.stdout.write(json.dumps({"contracts": artifacts}, indent=2) + "\n")
        return
    title = escape(f"{file} ({contracts[0].compiler_version})")
    table = Table(title=title, title_justify="left")
    for column in ("contract", "language", "init bytes", "runtime bytes", "source sha256"):
        table.add_column(column)
    for c in contracts:
        table.add_row(
            escape(c.name),
            c.language.value,
            str(len(c.bytecode)),
            str(len(c.runtime_bytecode)),
            c.source_hash.hex()[:16] + "…",
        )
    out.print(table)
    if out_dir is not None:
        out.print(escape(f"wrote {len(artifacts)} artifact(s) to {out_dir}"))


def _report_json(report: AuditReport) -> dict[str, Any]:
    return {
        "contract": report.contract,
        "language": report.language,
        "source_hash": "0x" + report.source_hash.hex(),
        "bytecode_hash": "0x" + report.bytecode_hash.hex(),
        "runtime_code_hash": "0x" + report.runtime_code_hash.hex(),
        "tools": {t.name: t.version for t in report.tools},
        "has_high": report.has_high,
        "findings": [
            {
                "tool": f.tool,
                "check": f.check,
                "severity": f.severity.value,
                "description": f.description,
                "location": None
                if f.location is None
                else {
                    "file": f.location.file,
                    "line": f.location.line,
                    "end_line": f.location.end_line,
                },
            }
            for f in report.findings
        ],
        "report": "0x" + report.to_bytes().hex(),
    }


_SEVERITY_STYLE = {
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFORMATIONAL: "dim",
}


def _show_report(report: AuditReport) -> None:
    counts = report.counts()
    summary = ", ".join(f"{counts[s]} {s.value}" for s in Severity)
    out.print(f"[bold]{escape(report.contract)}[/bold] ({report.language}): {summary}")
    out.print(f"  runtime code keccak256 0x{report.runtime_code_hash.hex()}")
    out.print("  tools: " + escape(", ".join(f"{t.name} {t.version}" for t in report.tools)))
    if not report.findings:
        return
    table = Table(show_header=True, header_style="bold")
    for column in ("severity", "check", "where", "description"):
        table.add_column(column, overflow="fold")
    for f in report.findings:
        where = "" if f.location is None else f"{f.location.file}:{f.location.line}"
        style = _SEVERITY_STYLE[f.severity]
        table.add_row(
            f"[{style}]{f.severity.value}[/{style}]",
            escape(f"{f.tool}:{f.check}"),
            escape(where),
            escape(f.description),
        )
    out.print(table)


@contract_app.command("audit")
def audit_command(
    file: FileArg,
    no_slither: Annotated[
        bool, typer.Option("--no-slither", help="Run only Consortia's own checks.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Audit a contract: Slither (Solidity) and Consortia's checks; exit 1 on a high finding."""
    contracts = _compile(file, as_json)
    try:
        reports = audit(contracts, slither=not no_slither)
    except ContractToolError as exc:
        _fail(exc, as_json)
    if as_json:
        sys.stdout.write(json.dumps({"reports": [_report_json(r) for r in reports]}, indent=2))
        sys.stdout.write("\n")
    else:
        for report in reports:
            _show_report(report)
    if any(r.has_high for r in reports):
        raise typer.Exit(EXIT_HIGH_FINDING)
