"""``consortia multisig``: weighted k-of-n accounts, and transactions signed offline.

A multisig account (docs/multisig.md) authorises a transaction when distinct
keys of its set, whose weights add up to its threshold, sign it. Signers need
not be together: ``prepare`` writes the unsigned transaction to a file, each
signer runs ``sign`` on it with their own key, and anyone runs ``submit``.
``set`` (key rotation) and ``send`` sign with several local keys at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from consortia.api.jsonable import from_plain
from consortia.cli.client_cmd import (
    DEFAULT_HOME,
    ArgsJsonOpt,
    Context,
    HomeOpt,
    JsonOpt,
    KeyringOpt,
    MethodOpt,
    ModuleOpt,
    NodeOpt,
    WaitOpt,
    args_type_of,
    handles_errors,
    hex_arg,
    report_transaction,
    show_fields,
    usage,
)
from consortia.codec import Canonical, CodecError
from consortia.sdk import Signer
from consortia.sdk.multisig import PendingMultisig, set_multisig_args

multisig_app = typer.Typer(
    help="Multisig accounts: weighted keys and a threshold; transactions signed offline.",
    no_args_is_help=True,
)

_KEY_TYPES = ("sm2", "p256", "secp256k1")
SignOpt = Annotated[
    list[str],
    typer.Option("--sign", help="A key that signs (name or PEM path); repeat for each signer."),
]
AccountArg = Annotated[str, typer.Argument(help="The multisig account: address, key name or PEM.")]
FileArg = Annotated[Path, typer.Argument(help="File of a pending multisig transaction.")]


def _weighted_key(ctx: Context, spec: str) -> tuple[str, bytes, int]:
    """``NAME[:WEIGHT]`` (a keyring key or PEM) or ``TYPE:0xPUBLICKEY[:WEIGHT]``."""
    parts = spec.split(":")
    if parts[0] in _KEY_TYPES:
        if len(parts) not in (2, 3):
            usage(f"--key {spec!r}: expected TYPE:0xPUBLICKEY[:WEIGHT]", "CLI_BAD_KEY")
        key_type, public_key = parts[0], hex_arg(parts[1], "public key")
        weight_text = parts[2] if len(parts) == 3 else "1"
    else:
        if len(parts) > 2:
            usage(f"--key {spec!r}: expected NAME[:WEIGHT]", "CLI_BAD_KEY")
        signer = ctx.signer(parts[0])
        key_type, public_key = signer.key_type.value, signer.public_key
        weight_text = parts[1] if len(parts) == 2 else "1"
    if not weight_text.isdigit():
        usage(f"--key {spec!r}: weight {weight_text!r} is not a whole number", "CLI_BAD_KEY")
    return key_type, public_key, int(weight_text)


def _args(ctx: Context, module: str, method: str, args_json: str) -> Canonical:
    """MODULE.METHOD's argument struct from JSON (bytes as hex); an application's
    module is resolved from the chain's genesis (:func:`args_type_of`)."""
    args_type = args_type_of(ctx, module, method)
    if args_type is bytes:
        usage(f"{module}.{method} takes a raw Ethereum transaction", "CLI_BAD_ARGS")
    try:
        data = json.loads(args_json)
    except ValueError as exc:
        usage(f"--args-json is not JSON: {exc}", "CLI_BAD_ARGS")
    args: Canonical = from_plain(data, args_type)
    return args


def _signers(ctx: Context, specs: list[str]) -> list[Signer]:
    if not specs:
        usage("name at least one --sign key", "CLI_NO_SIGNER")
    return [ctx.signer(spec) for spec in specs]


def _read(path: Path) -> PendingMultisig:
    try:
        document = json.loads(path.read_text())
        return PendingMultisig.from_hex(str(document["pending"]))
    except (ValueError, KeyError, TypeError, CodecError) as exc:
        usage(f"{path} is not a pending multisig transaction: {exc}", "CLI_BAD_PENDING")


def _write(path: Path, pending: PendingMultisig) -> None:
    path.write_text(json.dumps(_describe(pending), indent=2) + "\n")


def _describe(pending: PendingMultisig) -> dict[str, Any]:
    body = pending.body
    return {
        "sender": "0x" + body.sender.hex(),
        "nonce": body.nonce,
        "call": f"{body.module}.{body.method}",
        "args": "0x" + body.args.hex(),
        "expiry_height": body.expiry_height,
        "signers": [f"{e.key_type}:0x{e.public_key.hex()}" for e in pending.signatures],
        "pending": pending.to_hex(),
    }


@multisig_app.command("set")
@handles_errors
def multisig_set(
    account: AccountArg,
    key: Annotated[
        list[str],
        typer.Option("--key", help="A key of the new set: NAME[:WEIGHT] or TYPE:0xKEY[:WEIGHT]."),
    ],
    threshold: Annotated[int, typer.Option("--threshold", help="Least total weight to sign.")],
    sign: SignOpt,
    wait: WaitOpt = 10.0,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give ACCOUNT a weighted key set and threshold (key rotation): ``accounts.set_multisig``
    signed by --sign keys that meet the account's *current* threshold."""
    ctx = Context(home, node, as_json, keyring)
    keys = [_weighted_key(ctx, spec) for spec in key]
    args = set_multisig_args(keys, threshold)
    with ctx.client() as client:
        record = client.send_multisig(
            _signers(ctx, sign),
            ctx.address(account),
            "accounts",
            "set_multisig",
            args,
            wait=wait,
            check=False,
        )
    report_transaction(ctx, record)


@multisig_app.command("send")
@handles_errors
def multisig_send(
    account: AccountArg,
    module: ModuleOpt,
    method: MethodOpt,
    args_json: ArgsJsonOpt,
    sign: SignOpt,
    gas_limit: Annotated[int, typer.Option(help="Gas limit.")] = 200_000,
    wait: WaitOpt = 10.0,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send MODULE.METHOD from ACCOUNT signed by every --sign key at once."""
    ctx = Context(home, node, as_json, keyring)
    args = _args(ctx, module, method, args_json)
    with ctx.client() as client:
        record = client.send_multisig(
            _signers(ctx, sign),
            ctx.address(account),
            module,
            method,
            args,
            wait=wait,
            gas_limit=gas_limit,
            check=False,
        )
    report_transaction(ctx, record)


@multisig_app.command("prepare")
@handles_errors
def multisig_prepare(
    account: AccountArg,
    module: ModuleOpt,
    method: MethodOpt,
    args_json: ArgsJsonOpt,
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the transaction.")],
    gas_limit: Annotated[int, typer.Option(help="Gas limit.")] = 200_000,
    expiry_blocks: Annotated[int, typer.Option(help="Blocks until it expires.")] = 1_000,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write ACCOUNT's unsigned MODULE.METHOD at its next nonce to --out, for signers."""
    ctx = Context(home, node, as_json, keyring)
    args = _args(ctx, module, method, args_json)
    with ctx.client() as client:
        pending = client.prepare(
            ctx.address(account),
            module,
            method,
            args,
            gas_limit=gas_limit,
            expiry_blocks=expiry_blocks,
        )
    _write(out_file, pending)
    info = _describe(pending)
    ctx.emit(info, lambda: show_fields(f"unsigned transaction written to {out_file}", info))


@multisig_app.command("sign")
@handles_errors
def multisig_sign(
    file: FileArg,
    key: Annotated[str, typer.Option("--key", help="Your signing key (name or PEM path).")],
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add your signature to the pending transaction in FILE (offline: no node needed)."""
    ctx = Context(home, None, as_json, keyring)
    try:
        pending = _read(file).with_signature(ctx.signer(key))
    except ValueError as exc:
        usage(str(exc), "CLI_ALREADY_SIGNED")
    _write(file, pending)
    info = _describe(pending)
    ctx.emit(info, lambda: show_fields(f"signed {file}", info))


@multisig_app.command("show")
@handles_errors
def multisig_show(file: FileArg, as_json: JsonOpt = False) -> None:
    """What the pending transaction in FILE does and who has signed it."""
    ctx = Context(DEFAULT_HOME, None, as_json)
    info = _describe(_read(file))
    ctx.emit(info, lambda: show_fields(str(file), info))


@multisig_app.command("submit")
@handles_errors
def multisig_submit(
    file: FileArg,
    wait: WaitOpt = 10.0,
    node: NodeOpt = None,
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Submit the transaction in FILE with the signatures it has collected."""
    ctx = Context(home, node, as_json, keyring)
    try:
        tx = _read(file).transaction()
    except ValueError as exc:
        usage(str(exc), "CLI_NOT_SIGNED")
    with ctx.client() as client:
        record = client.submit(tx, wait=wait)
    report_transaction(ctx, record)
