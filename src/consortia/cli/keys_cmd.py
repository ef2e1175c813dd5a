"""``consortia keys``: a keyring directory of ``NAME.pem`` private keys."""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from consortia.cli.client_cmd import (
    DEFAULT_HOME,
    Context,
    HomeOpt,
    JsonOpt,
    KeyringOpt,
    handles_errors,
    out,
    show_fields,
    usage,
)
from consortia.crypto import KeyType, PrivateKey
from consortia.sdk import Signer

keys_app = typer.Typer(help="Manage the keyring (NAME.pem files).", no_args_is_help=True)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")


class KeyTypeChoice(enum.StrEnum):
    """Key types ``keys new`` can generate."""

    SM2 = "sm2"
    P256 = "p256"
    SECP256K1 = "secp256k1"


def _describe(name: str, signer: Signer) -> dict[str, str]:
    return {
        "name": name,
        "address": "0x" + signer.address.hex(),
        "key_type": signer.key_type.value,
        "public_key": "0x" + signer.public_key.hex(),
    }


def _target(ctx: Context, name: str) -> Path:
    if not _NAME.match(name):
        usage(f"key name {name!r} must be letters, digits, '_', '.', '-'", "CLI_BAD_KEY_NAME")
    path = ctx.keyring / f"{name}.pem"
    if path.exists():
        usage(f"key {name!r} already exists in {ctx.keyring}", "CLI_KEY_EXISTS")
    return path


def _store(ctx: Context, name: str, key: PrivateKey) -> None:
    path = _target(ctx, name)
    ctx.keyring.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.to_pem())
    path.chmod(0o600)
    info = _describe(name, Signer(key))
    ctx.emit(info, lambda: show_fields(f"key {name} written to {path}", info))


@keys_app.command("new")
@handles_errors
def keys_new(
    name: Annotated[str, typer.Argument(help="Key name.")],
    key_type: Annotated[KeyTypeChoice, typer.Option("--type", help="Key type.")] = (
        KeyTypeChoice.SM2
    ),
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Generate a key NAME in the keyring."""
    ctx = Context(home, None, as_json, keyring)
    _target(ctx, name)
    _store(ctx, name, PrivateKey.generate(KeyType(key_type.value)))


@keys_app.command("import")
@handles_errors
def keys_import(
    name: Annotated[str, typer.Argument(help="Key name.")],
    pem: Annotated[Path, typer.Argument(help="PEM file of a private key.")],
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy a PEM private key into the keyring as NAME."""
    ctx = Context(home, None, as_json, keyring)
    _store(ctx, name, PrivateKey.from_pem(pem.read_bytes()))


@keys_app.command("list")
@handles_errors
def keys_list(
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every key in the keyring."""
    ctx = Context(home, None, as_json, keyring)
    paths = sorted(ctx.keyring.glob("*.pem")) if ctx.keyring.is_dir() else []
    keys = [_describe(p.stem, Signer.from_pem_file(p)) for p in paths]

    def human() -> None:
        table = Table("name", "type", "address")
        for key in keys:
            table.add_row(key["name"], key["key_type"], key["address"])
        out.print(table)

    ctx.emit(keys, human)


@keys_app.command("show")
@handles_errors
def keys_show(
    name: Annotated[str, typer.Argument(help="Key name or PEM path.")],
    home: HomeOpt = DEFAULT_HOME,
    keyring: KeyringOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Address, key type and public key of a key."""
    ctx = Context(home, None, as_json, keyring)
    info = _describe(Path(name).stem, ctx.signer(name))
    ctx.emit(info, lambda: show_fields(f"key {info['name']}", info))
