"""What every client command shares: node and keyring resolution, output, exit codes.

Exit codes ([CLI-EXIT.1]): 0 ok; 1 the command's own failure (proof did not
verify, transaction committed with a non-OK status, not committed in time);
2 bad usage or input; 3 node unreachable; 4 rejected by the node. Failures
print one line ``error: <message> [<CODE>]`` on stderr (and, with ``--json``,
``{"error": {...}}`` as the one JSON document on stdout); never a traceback.

Also defines ``consortia query`` and ``consortia tx``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import msgspec
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from consortia.api.jsonable import ShapeError, from_plain, parse_hex, to_plain
from consortia.errors import NodeError
from consortia.execution.text import display_text
from consortia.ledger.types import STATUS_OK
from consortia.sdk import (
    ApiError,
    Client,
    NodeUnreachable,
    Signer,
    TransactionFailed,
    TransactionJson,
    TransactionTimeout,
    explain_state_record,
)

P = ParamSpec("P")
R = TypeVar("R")

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_REJECTED = 4

out = Console(highlight=False, soft_wrap=True)


# ---------------------------------------------------------------- options

NodeOpt = Annotated[
    str | None,
    typer.Option(
        "--node",
        envvar="CONSORTIA_NODE",
        help="Node API URL [default: api of the first node in <home>/network.json].",
        show_default=False,
    ),
]
HomeOpt = Annotated[Path, typer.Option("--home", help="Devnet directory.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
KeyringOpt = Annotated[
    Path | None,
    typer.Option(
        "--keyring",
        envvar="CONSORTIA_KEYRING",
        help="Directory of NAME.pem keys [default: <home>/keys].",
        show_default=False,
    ),
]
WaitOpt = Annotated[float, typer.Option("--wait", help="Seconds to wait for the commit (<= 60).")]
FromOpt = Annotated[str, typer.Option("--from", help="Signing key (name or PEM path).")]
ModuleOpt = Annotated[str, typer.Option("--module", help="Module, e.g. assets.")]
MethodOpt = Annotated[str, typer.Option("--method", help="Method, e.g. transfer.")]
ArgsJsonOpt = Annotated[str, typer.Option("--args-json", help="Arguments as a JSON object.")]
DEFAULT_HOME = Path(".devnet")


class CliFailure(Exception):
    """A command failed; ``exit_code`` says how (see the module docstring)."""

    def __init__(self, code: str, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code


def usage(message: str, code: str = "CLI_BAD_INPUT") -> NoReturn:
    """Stop with exit code 2."""
    raise CliFailure(code, message, EXIT_USAGE)


@dataclass
class Context:
    """Resolved common options of one command invocation."""

    home: Path
    node: str | None
    as_json: bool
    keyring_dir: Path | None = None

    @property
    def url(self) -> str:
        """The node URL: ``--node`` or the first node of the devnet."""
        if self.node:
            return self.node
        from consortia.node.network_file import read_network

        entries = read_network(self.home)
        if not entries:
            usage(f"{self.home}/network.json lists no nodes", "CLI_NO_NODE")
        return entries[0].api

    @property
    def keyring(self) -> Path:
        """The keyring directory."""
        return self.keyring_dir if self.keyring_dir is not None else self.home / "keys"

    @contextmanager
    def client(self) -> Iterator[Client]:
        """A client of the node, closed afterwards."""
        with Client(self.url, timeout=30.0) as client:
            yield client

    def signer(self, spec: str) -> Signer:
        """A key by keyring name or PEM path."""
        path = Path(spec)
        candidates = [path] if spec.endswith(".pem") or path.is_file() else []
        candidates.append(self.keyring / f"{spec}.pem")
        for candidate in candidates:
            if candidate.is_file():
                return Signer.from_pem_file(candidate)
        usage(f"no key {spec!r}: not a PEM file nor a key in {self.keyring}", "CLI_NO_SUCH_KEY")

    def address(self, spec: str) -> bytes:
        """An address given as ``0x`` hex, a keyring name or a PEM path."""
        if spec.startswith(("0x", "0X")):
            data = hex_arg(spec, "address")
            if len(data) != 20:
                usage(f"address {spec} must be 20 bytes, got {len(data)}", "CLI_BAD_ADDRESS")
            return data
        return self.signer(spec).address

    def emit(self, document: Any, human: Callable[[], None]) -> None:
        """Print ``document`` as JSON with ``--json``, else run ``human``."""
        if self.as_json:
            sys.stdout.write(json.dumps(to_plain(document), indent=2) + "\n")
        else:
            human()


def args_type_of(ctx: Context, module: str, method: str) -> Any:
    """The argument type of ``module.method`` on the chain ``ctx`` talks to.

    A built-in module's is known here; an application's module comes from the
    chain's genesis (``GET /v1/genesis/raw``) and the applications installed with
    this CLI. Exits 2 with a message saying which is missing.
    """
    from consortia.genesis import default_runtime  # loads the EVM: only for these commands

    runtime = default_runtime()
    if module not in runtime.modules:
        runtime = _chain_runtime(ctx, module)
    try:
        return runtime.method(module, method).args_type
    except NodeError as exc:
        usage(
            f"{module}.{method}: {exc.message} on this chain (its modules: "
            f"{', '.join(sorted(runtime.modules))})",
            exc.code,
        )


def _chain_runtime(ctx: Context, module: str) -> Any:
    """The runtime of the chain's genesis, read from the node; exits 2 when it cannot."""
    import httpx

    from consortia.codec import CodecError, decode
    from consortia.genesis import Genesis, runtime_for

    try:
        reply = httpx.get(f"{ctx.url}/v1/genesis/raw", timeout=30.0)
        reply.raise_for_status()
        genesis = decode(parse_hex(reply.json()["genesis"]), Genesis)
    except (httpx.HTTPError, ValueError, KeyError, TypeError, CodecError) as exc:
        usage(
            f"{module!r} is not a built-in module, and the chain's genesis (to find its "
            f"applications) could not be read from {ctx.url}: {exc}",
            "CLI_NO_GENESIS",
        )
    try:
        return runtime_for(genesis)
    except NodeError as exc:
        usage(
            f"{module!r} is not a built-in module, and this CLI cannot load the chain's "
            f"applications: {exc.message}",
            exc.code,
        )


def hex_arg(value: str, what: str) -> bytes:
    """Bytes of a hex argument; exit 2 if it is not hex."""
    try:
        return parse_hex(value)
    except ValueError as exc:
        usage(f"{what} is not hex: {exc}", "CLI_BAD_HEX")


def handles_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Map every failure to one stderr line and its exit code."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        as_json = bool(kwargs.get("as_json", False))
        try:
            return fn(*args, **kwargs)
        except CliFailure as exc:
            _fail(exc.code, exc.message, exc.exit_code, as_json)
        except ApiError as exc:
            _fail(exc.code, exc.message, EXIT_REJECTED, as_json)
        except NodeUnreachable as exc:
            _fail("NODE_UNREACHABLE", str(exc), EXIT_UNREACHABLE, as_json)
        except (TransactionFailed, TransactionTimeout) as exc:
            _fail(getattr(exc, "code", "TX_TIMEOUT"), str(exc), EXIT_FAILED, as_json)
        except NodeError as exc:
            _fail(exc.code, exc.message, EXIT_USAGE, as_json)
        except (ShapeError, msgspec.ValidationError) as exc:
            _fail("CLI_BAD_ARGS", str(exc), EXIT_USAGE, as_json)
        except OSError as exc:
            _fail("CLI_IO_ERROR", str(exc), EXIT_USAGE, as_json)

    return wrapper


def _fail(code: str, message: str, exit_code: int, as_json: bool) -> NoReturn:
    if as_json:
        sys.stdout.write(json.dumps({"error": {"code": code, "message": message}}) + "\n")
    typer.echo(f"error: {message} [{code}]", err=True)
    raise typer.Exit(exit_code)


# ----------------------------------------------------------------- output


def cell(value: object) -> Text:
    """``value`` as a table cell shown literally: no rich markup, and every
    control, bidi or invisible character escaped (``\\u{000A}``), so data a
    node returns can neither forge a row nor reorder what the reader sees."""
    return Text(display_text(str(value)))


def show_fields(title: str, fields: dict[str, Any]) -> None:
    """A two-column table of a document's fields (every cell through :func:`cell`)."""
    table = Table(title=cell(title), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in fields.items():
        shown = json.dumps(value) if isinstance(value, dict | list) else str(value)
        table.add_row(cell(name), cell(shown))
    out.print(table)


def report_transaction(ctx: Context, record: TransactionJson) -> None:
    """Print a sent transaction's record; exit 1 if it committed with a non-OK status."""
    receipt = record.receipt

    def human() -> None:
        if record.status != "committed":
            out.print(f"pending {record.tx_id}")
            return
        status = receipt.status if receipt else "?"
        out.print(f"committed {record.tx_id} at height {record.height}: {status}")
        if receipt is not None and receipt.message:
            out.print(f"  {receipt.message}")

    ctx.emit(record, human)
    if receipt is not None and receipt.status != STATUS_OK:
        typer.echo(f"error: {receipt.message} [{receipt.status}]", err=True)
        raise typer.Exit(EXIT_FAILED)


def to_base_units(text: str, decimals: int, *, raw: bool = False) -> int:
    """Exact base units of an amount in whole units (``12.50``), or of ``--raw`` units."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        usage(f"amount {text!r} is not a number", "CLI_BAD_AMOUNT")
    if not value.is_finite() or value <= 0:
        usage(f"amount {text!r} must be a positive number", "CLI_BAD_AMOUNT")
    scaled = value if raw else value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        what = "--raw amounts are whole base units" if raw else f"at most {decimals} decimals"
        usage(f"amount {text} has too much precision ({what})", "CLI_BAD_AMOUNT")
    units = int(scaled)
    if units >= 2**64:
        usage(f"amount {text} is above the largest amount (2^64 - 1 base units)", "CLI_BAD_AMOUNT")
    return units


def from_base_units(units: int, decimals: int) -> str:
    """``units`` written in whole units with exactly ``decimals`` places."""
    if decimals == 0:
        return str(units)
    return f"{Decimal(units).scaleb(-decimals):.{decimals}f}"


# ----------------------------------------------------------------- query

query_app = typer.Typer(help="Read blocks, transactions, accounts, state.", no_args_is_help=True)


@query_app.command("block")
@handles_errors
def query_block(
    height: Annotated[str, typer.Argument(help="Height or 'latest'.")] = "latest",
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    as_json: JsonOpt = False,
) -> None:
    """A block by height (default: the latest)."""
    if height != "latest" and not height.isdigit():
        usage(f"height must be a number or 'latest', not {height!r}", "CLI_BAD_HEIGHT")
    ctx = Context(home, node, as_json)
    with ctx.client() as client:
        block = client.block(height if height == "latest" else int(height))

    def human() -> None:
        fields = to_plain(block.header)
        fields.pop("justify")
        show_fields(f"block {block.height}  {block.id}", fields)
        out.print(f"justify: round {block.header.justify.round}, {block.header.justify.block_id}")
        out.print(f"transactions ({len(block.transactions)}):")
        for tx_id in block.transactions:
            out.print(f"  {tx_id}")

    ctx.emit(block, human)


@query_app.command("tx")
@handles_errors
def query_tx(
    tx_id: Annotated[str, typer.Argument(help="Transaction id (hex).")],
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    as_json: JsonOpt = False,
) -> None:
    """A transaction: committed with its receipt, or pending."""
    if len(hex_arg(tx_id, "tx id")) != 32:
        usage("tx id must be 32 bytes of hex", "CLI_BAD_HEX")
    ctx = Context(home, node, as_json)
    with ctx.client() as client:
        record = client.transaction(tx_id)

    def human() -> None:
        fields: dict[str, Any] = {"tx_id": record.tx_id, "status": record.status}
        if record.tx is not None:
            fields |= {"height": record.height, "index": record.index}
            fields |= {k: v for k, v in to_plain(record.tx).items() if k != "args"}
        if record.receipt is not None:
            fields |= {f"receipt.{k}": v for k, v in to_plain(record.receipt).items()}
        show_fields("transaction", fields)

    ctx.emit(record, human)


@query_app.command("account")
@handles_errors
def query_account(
    who: Annotated[str, typer.Argument(help="Address, key name or PEM path.")],
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """An account: nonce, keys, balances (base units), newest transactions."""
    ctx = Context(home, node, as_json, keyring)
    address = ctx.address(who)
    with ctx.client() as client:
        account = client.account(address)
    ctx.emit(account, lambda: show_fields(f"account {account.address}", to_plain(account)))


@query_app.command("state")
@handles_errors
def query_state(
    key: Annotated[str, typer.Argument(help="State key (hex).")],
    version: Annotated[int | None, typer.Option(help="State version (height).")] = None,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    as_json: JsonOpt = False,
) -> None:
    """A state value; its proof is checked offline (exit 1 if it does not verify)."""
    hex_arg(key, "key")
    ctx = Context(home, node, as_json)
    with ctx.client() as client:
        suite = client.status().suite
        record = client.state(key, version)
    problem = explain_state_record(record, suite)
    document = {**to_plain(record), "verified": problem is None, "problem": problem}

    def human() -> None:
        fields = {k: v for k, v in document.items() if k not in ("proof", "header", "problem")}
        show_fields("state", fields)
        out.print("VERIFIED" if problem is None else f"NOT VERIFIED: {problem}")

    ctx.emit(document, human)
    if problem is not None:
        typer.echo(f"error: state proof check failed: {problem} [CLI_PROOF_INVALID]", err=True)
        raise typer.Exit(EXIT_FAILED)


@query_app.command("status")
@handles_errors
def query_status(
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    as_json: JsonOpt = False,
) -> None:
    """The node's status."""
    ctx = Context(home, node, as_json)
    with ctx.client() as client:
        status = client.status()
    ctx.emit(status, lambda: show_fields(f"node {status.name}", to_plain(status)))


# -------------------------------------------------------------------- tx

tx_app = typer.Typer(help="Send any module method as a transaction.", no_args_is_help=True)


@tx_app.command("send")
@handles_errors
def tx_send(
    module: ModuleOpt,
    method: MethodOpt,
    args_json: ArgsJsonOpt,
    from_: Annotated[str, typer.Option("--from", help="Signing key (name or PEM path).")],
    gas_limit: Annotated[int, typer.Option(help="Gas limit.")] = 200_000,
    wait: WaitOpt = 10.0,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build MODULE.METHOD's argument struct from JSON (bytes as hex), sign, send, wait."""
    ctx = Context(home, node, as_json, keyring)
    args_type = args_type_of(ctx, module, method)
    if args_type is bytes:
        usage(
            f"{module}.{method} carries a raw signed Ethereum transaction: send it with "
            "eth_sendRawTransaction",
            "CLI_BAD_ARGS",
        )
    try:
        data = json.loads(args_json)
    except ValueError as exc:
        usage(f"--args-json is not JSON: {exc}", "CLI_BAD_ARGS")
    args = from_plain(data, args_type)
    signer = ctx.signer(from_)
    with ctx.client() as client:
        record = client.send(
            signer, module, method, args, wait=wait, gas_limit=gas_limit, check=False
        )
    report_transaction(ctx, record)
