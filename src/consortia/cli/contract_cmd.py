"""``consortia contract compile|audit|submit-audit|deploy``: the contract toolchain.

``compile`` and ``audit`` work on local files, no node needed. Exit codes:
0 ok (``audit``: no high-severity finding); 1 ``audit`` found a
high-severity finding; 2 bad usage, unreadable source or compile error,
printed as one line ``error: <message> [<CODE>]`` on stderr (with ``--json``
also ``{"error": {"code", "message"}}`` on stdout). Compiler messages follow
the error line on stderr.

``submit-audit`` and ``deploy`` talk to a node with the client conventions
of ``consortia tx`` (``--node``, ``--home``, ``--keyring``, ``--json``;
[CLI-EXIT.1]): 1 the transaction committed with a non-OK status (for
``deploy``: refused by the audit gate, whose code and message are shown),
3 node unreachable, 4 rejected by the node (e.g. ``TX_PERMISSION_DENIED``
when the signer of ``submit-audit`` is not an auditor).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from consortia.api.jsonable import parse_hex, to_plain
from consortia.cli.client_cmd import (
    DEFAULT_HOME,
    Context,
    FromOpt,
    HomeOpt,
    KeyringOpt,
    NodeOpt,
    WaitOpt,
    handles_errors,
    usage,
)
from consortia.crypto import keccak256
from consortia.evm.audit.report import AuditReport, Severity
from consortia.evm.audit.runner import audit
from consortia.evm.compiler import CompiledContract, CompileFailed, ContractToolError, compile_file
from consortia.evm.errors import ApprovalRequired, AuditRefused, AuditRequired
from consortia.evm.types import Deploy
from consortia.ledger.types import STATUS_OK
from consortia.sdk import TransactionJson

__all__ = ["contract_app"]

contract_app = typer.Typer(
    help="Compile Solidity and Vyper contracts; audit them.", no_args_is_help=True
)
out = Console(highlight=False, soft_wrap=True)

EXIT_HIGH_FINDING = 1
EXIT_FAILED = 1
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


# ----------------------------------------------------- on a node: audit, deploy

ContractOpt = Annotated[
    str | None,
    typer.Option("--contract", help="Which contract of the file (needed when it defines several)."),
]
NoSlitherOpt = Annotated[
    bool, typer.Option("--no-slither", help="Run only Consortia's own checks.")
]


def _pick(file: Path, name: str | None) -> CompiledContract:
    """The one contract of ``file`` to audit or deploy (exit 2 if that is ambiguous)."""
    try:
        contracts = compile_file(file)
    except CompileFailed as exc:
        for message in exc.messages:
            typer.echo(message, err=True)
        usage(exc.message, exc.code)
    except ContractToolError as exc:
        usage(exc.message, exc.code)
    names = [c.name for c in contracts]
    if name is not None:
        found = [c for c in contracts if c.name == name]
        if not found:
            usage(f"{file} defines no contract {name!r} (it has: {', '.join(names)})")
        return found[0]
    if len(contracts) != 1:
        have = ", ".join(names) if names else "none"
        usage(f"{file} defines {len(contracts)} deployable contracts ({have}): pass --contract")
    return contracts[0]


def _abi_type(param: dict[str, Any]) -> str:
    """The canonical ABI type of an ABI parameter (tuples spelled out)."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param.get("components", []))
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def _abi_value(param: dict[str, Any], kind: str, value: Any) -> Any:
    """A JSON value as eth_abi wants it for ``kind`` (ints may be strings, bytes are hex)."""
    what = param.get("name") or kind
    if kind.endswith("]"):
        if not isinstance(value, list):
            raise ValueError(f"{what}: expected a JSON array for {kind}")
        return [_abi_value(param, kind[: kind.rindex("[")], item) for item in value]
    if kind == "tuple":
        components = param.get("components", [])
        if isinstance(value, dict):
            value = [value.get(c["name"]) for c in components]
        if not isinstance(value, list) or len(value) != len(components):
            raise ValueError(f"{what}: expected {len(components)} tuple fields")
        return tuple(
            _abi_value(c, str(c["type"]), v) for c, v in zip(components, value, strict=True)
        )
    if kind.startswith(("uint", "int")):
        if isinstance(value, str):
            return int(value, 0)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{what}: expected an integer for {kind}")
        return value
    if kind.startswith("bytes"):
        if not isinstance(value, str):
            raise ValueError(f"{what}: expected hex for {kind}")
        return parse_hex(value)
    return value  # address, string, bool: eth_abi checks them


def encode_constructor_args(abi: list[dict[str, Any]], args: list[Any]) -> bytes:
    """ABI-encoded constructor arguments (appended to the creation code).

    Raises:
        ValueError: ``args`` do not fit the constructor's parameters.
    """
    from eth_abi.abi import encode
    from eth_abi.exceptions import EncodingError

    constructor = next((item for item in abi if item.get("type") == "constructor"), None)
    params: list[dict[str, Any]] = list(constructor.get("inputs", [])) if constructor else []
    if len(args) != len(params):
        shown = ", ".join(f"{_abi_type(p)} {p.get('name', '')}".strip() for p in params)
        raise ValueError(
            f"the constructor takes {len(params)} argument(s) ({shown}), got {len(args)}"
        )
    if not params:
        return b""
    values = [_abi_value(p, str(p["type"]), a) for p, a in zip(params, args, strict=True)]
    try:
        return encode([_abi_type(p) for p in params], values)
    except EncodingError as exc:
        raise ValueError(str(exc)) from None


def _event(record: TransactionJson, name: str) -> dict[str, str] | None:
    receipt = record.receipt
    if receipt is None:
        return None
    return next((e.attributes for e in receipt.events if e.name == name), None)


@contract_app.command("submit-audit")
@handles_errors
def submit_audit_command(
    file: FileArg,
    from_: FromOpt,
    contract: ContractOpt = None,
    no_slither: NoSlitherOpt = False,
    gas_limit: Annotated[int, typer.Option(help="Gas limit.")] = 1_000_000,
    wait: WaitOpt = 10.0,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Audit a contract and record its report on chain (evm.submit_audit; auditors only)."""
    compiled = _pick(file, contract)
    try:
        (report,) = audit([compiled], slither=not no_slither)
    except ContractToolError as exc:
        usage(exc.message, exc.code)
    ctx = Context(home, node, as_json, keyring)
    signer = ctx.signer(from_)
    if not as_json:
        _show_report(report)
    with ctx.client() as client:
        record = client.send(
            signer, "evm", "submit_audit", report, wait=wait, gas_limit=gas_limit, check=False
        )
    document = {**to_plain(record), "audit": _report_json(report)}

    def human() -> None:
        out.print(f"recorded the audit of {escape(report.contract)} at height {record.height}")
        if report.has_high:
            high = sorted({f.check for f in report.findings if f.severity is Severity.HIGH})
            out.print(
                "[yellow]deployment stays refused until governance waives: "
                + escape(", ".join(high))
                + "[/yellow] (consortia gov propose waive_finding)"
            )

    _finish(as_json, record, document, human)


def _finish(
    as_json: bool,
    record: TransactionJson,
    document: dict[str, Any],
    human: Callable[[], None],
    hint: str | None = None,
) -> None:
    """Print the outcome of a sent transaction; exit 1 if it committed with a non-OK status."""
    receipt = record.receipt
    if as_json:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    elif record.status != "committed":
        out.print(f"pending {record.tx_id}")
    elif receipt is not None and receipt.status == STATUS_OK:
        human()
    if receipt is not None and receipt.status != STATUS_OK:
        typer.echo(f"error: {receipt.message} [{receipt.status}]", err=True)
        if hint is not None and not as_json:
            typer.echo(f"hint: {hint}", err=True)
        raise typer.Exit(EXIT_FAILED)


_GATE_HINTS = {
    AuditRequired.code: "an auditor records a report: consortia contract submit-audit FILE "
    "--from AUDITOR",
    AuditRefused.code: "governance can waive a finding: consortia gov propose waive_finding "
    '--payload-json \'{{"code_hash": "{code_hash}", "check": "CHECK", '
    '"reason": "..."}}\'',
    ApprovalRequired.code: "governance approves the code: consortia gov propose approve_contract "
    '--payload-json \'{{"code_hash": "{code_hash}"}}\'',
}


@contract_app.command("deploy")
@handles_errors
def deploy_command(
    file: FileArg,
    from_: FromOpt,
    contract: ContractOpt = None,
    args_json: Annotated[
        str, typer.Option("--args-json", help="Constructor arguments as a JSON array.")
    ] = "[]",
    gas_limit: Annotated[int, typer.Option(help="Gas limit.")] = 5_000_000,
    wait: WaitOpt = 10.0,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compile and deploy a contract (evm.deploy); prints its address.

    Exit 1 when the audit gate refuses it: the receipt's code and message
    (naming each unwaived high-severity finding) are printed.
    """
    compiled = _pick(file, contract)
    try:
        args = json.loads(args_json)
    except ValueError as exc:
        usage(f"--args-json is not JSON: {exc}", "CLI_BAD_ARGS")
    if not isinstance(args, list):
        usage("--args-json must be a JSON array of constructor arguments", "CLI_BAD_ARGS")
    try:
        encoded = encode_constructor_args(compiled.abi, args)
    except ValueError as exc:
        usage(f"constructor arguments of {compiled.name}: {exc}", "CLI_BAD_ARGS")
    code_hash = "0x" + keccak256(compiled.runtime_bytecode).hex()
    ctx = Context(home, node, as_json, keyring)
    signer = ctx.signer(from_)
    with ctx.client() as client:
        record = client.send(
            signer,
            "evm",
            "deploy",
            Deploy(code=compiled.bytecode + encoded),
            wait=wait,
            gas_limit=gas_limit,
            check=False,
        )
    created = _event(record, "contract_created")
    from eth_utils.address import to_checksum_address  # pydantic under it: load only here

    address = to_checksum_address("0x" + created["address"]) if created else None
    document = {
        **to_plain(record),
        "contract": compiled.name,
        "address": address,
        "code_hash": "0x" + created["code_hash"] if created else code_hash,
    }

    def human() -> None:
        gas = record.receipt.gas_used if record.receipt else 0
        out.print(f"deployed {escape(compiled.name)} at {address}")
        out.print(f"  tx {record.tx_id} at height {record.height}, gas used {gas}")
        out.print(f"  runtime code keccak256 {code_hash}")

    status = record.receipt.status if record.receipt else ""
    hint = _GATE_HINTS.get(status)
    _finish(as_json, record, document, human, hint and hint.format(code_hash=code_hash))
