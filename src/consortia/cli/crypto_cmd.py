"""``consortia crypto``: keys, signatures, hashes and encryption on the command line, openssl-style.

Exit codes: 0 success (``verify``: signature valid), 1 ``verify``: signature invalid,
2 bad input. Bad input prints one line, ``error: <what> [<CODE>]``, to stderr and no
traceback; the codes are the crypto layer's stable codes plus ``CLI_FILE_NOT_FOUND``,
``CLI_IO_ERROR`` and ``CLI_BAD_HEX``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, NoReturn, ParamSpec, TypeVar

import typer

from consortia.crypto import (
    AES_GCM,
    DEFAULT_SM2_ID,
    SM4_GCM,
    Aead,
    CryptoError,
    KeyType,
    PrivateKey,
    PublicKey,
    sha256,
    sm3,
)

__all__ = ["app"]

app = typer.Typer(
    help="Keys, signatures, hashes and encryption (SM2/SM3/SM4, P-256, secp256k1, AES).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

P = ParamSpec("P")
R = TypeVar("R")


class HashAlg(enum.StrEnum):
    """Hash algorithms of ``hash``."""

    SM3 = "sm3"
    SHA256 = "sha256"


class AeadAlg(enum.StrEnum):
    """Ciphers of ``encrypt``/``decrypt``."""

    SM4_GCM = "sm4-gcm"
    AES_GCM = "aes-gcm"


_AEADS: dict[AeadAlg, Aead] = {AeadAlg.SM4_GCM: SM4_GCM, AeadAlg.AES_GCM: AES_GCM}
_HASHES: dict[HashAlg, Callable[[bytes], bytes]] = {HashAlg.SM3: sm3, HashAlg.SHA256: sha256}


class _InputError(Exception):
    """Bad command-line input with a stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _fail(code: str, message: str) -> NoReturn:
    typer.echo(f"error: {message} [{code}]", err=True)
    raise typer.Exit(2)


def _handles_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn crypto and input errors into one line on stderr and exit code 2."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CryptoError as exc:
            _fail(exc.code, exc.message)
        except _InputError as exc:
            _fail(exc.code, exc.message)

    return wrapper


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise _InputError("CLI_FILE_NOT_FOUND", f"no such file: {path}") from None
    except OSError as exc:
        raise _InputError("CLI_IO_ERROR", f"cannot read {path}: {exc.strerror}") from None


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise _InputError("CLI_IO_ERROR", f"cannot write {path}: {exc.strerror}") from None


def _hex(value: str, what: str) -> bytes:
    try:
        return bytes.fromhex(value.strip().removeprefix("0x"))
    except ValueError:
        raise _InputError("CLI_BAD_HEX", f"{what} is not valid hex") from None


def _user_id(value: str | None) -> bytes:
    return DEFAULT_SM2_ID if value is None else value.encode()


KeyOpt = Annotated[Path, typer.Option("--key", help="Private key PEM (PKCS#8 or SEC1).")]
PubOpt = Annotated[Path, typer.Option("--pub", help="Public key PEM (SubjectPublicKeyInfo).")]
IdOpt = Annotated[str | None, typer.Option("--id", help="SM2 user ID (default 1234567812345678).")]
FileArg = Annotated[Path, typer.Argument(help="Input file.")]


@app.command()
@_handles_errors
def keygen(
    key_type: Annotated[KeyType, typer.Option("--type", help="Key type.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the PKCS#8 PEM.")],
) -> None:
    """Generate a private key and write it as PKCS#8 PEM."""
    _write(out, PrivateKey.generate(key_type).to_pem())


@app.command()
@_handles_errors
def pubkey(
    key: KeyOpt,
    out: Annotated[Path, typer.Option("--out", help="Where to write the public key PEM.")],
) -> None:
    """Write the public key of a private key as SubjectPublicKeyInfo PEM."""
    _write(out, PrivateKey.from_pem(_read(key)).public_key().to_pem())


@app.command()
@_handles_errors
def sign(key: KeyOpt, file: FileArg, user_id: IdOpt = None) -> None:
    """Sign FILE; print the DER signature as hex."""
    private = PrivateKey.from_pem(_read(key))
    typer.echo(private.sign(_read(file), user_id=_user_id(user_id)).hex())


@app.command()
@_handles_errors
def verify(
    pub: PubOpt,
    sig: Annotated[str, typer.Option("--sig", help="DER signature as hex.")],
    file: FileArg,
    user_id: IdOpt = None,
) -> None:
    """Verify a signature over FILE: prints OK (exit 0) or FAILED (exit 1)."""
    public = PublicKey.from_pem(_read(pub))
    signature = _hex(sig, "--sig")
    if public.verify(_read(file), signature, user_id=_user_id(user_id)):
        typer.echo("OK")
        return
    typer.echo("FAILED")
    raise typer.Exit(1)


@app.command("hash")
@_handles_errors
def hash_(
    file: FileArg,
    alg: Annotated[HashAlg, typer.Option("--alg", help="Hash algorithm.")] = HashAlg.SM3,
) -> None:
    """Print the hash of FILE as hex."""
    typer.echo(_HASHES[alg](_read(file)).hex())


@app.command()
@_handles_errors
def address(pub: PubOpt) -> None:
    """Print the 20-byte account address of a public key as 0x-prefixed hex."""
    typer.echo("0x" + PublicKey.from_pem(_read(pub)).address().hex())


AlgOpt = Annotated[AeadAlg, typer.Option("--alg", help="Authenticated cipher.")]
KeyHexOpt = Annotated[str, typer.Option("--key-hex", help="Symmetric key as hex.")]
InOpt = Annotated[Path, typer.Option("--in", help="Input file.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Output file.")]


@app.command()
@_handles_errors
def encrypt(alg: AlgOpt, key_hex: KeyHexOpt, in_: InOpt, out: OutOpt) -> None:
    """Encrypt a file: output is nonce(12) || ciphertext || tag(16)."""
    key = _hex(key_hex, "--key-hex")
    _write(out, _AEADS[alg].encrypt(key, _read(in_)))


@app.command()
@_handles_errors
def decrypt(alg: AlgOpt, key_hex: KeyHexOpt, in_: InOpt, out: OutOpt) -> None:
    """Decrypt and authenticate a file written by ``encrypt``."""
    key = _hex(key_hex, "--key-hex")
    _write(out, _AEADS[alg].decrypt(key, _read(in_)))


if __name__ == "__main__":
    app()
