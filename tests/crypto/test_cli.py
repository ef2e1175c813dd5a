"""The ``consortia crypto`` command line: every command, in-process and as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consortia.cli.crypto_cmd import app
from consortia.crypto import KeyType, PrivateKey, PublicKey, sha256, sm3

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("key_type", list(KeyType))
def test_keygen_pubkey_sign_verify_address(tmp_path: Path, key_type: KeyType) -> None:
    key, pub, msg = tmp_path / "k.pem", tmp_path / "p.pem", tmp_path / "m.txt"
    msg.write_bytes(b"hello")
    assert run("keygen", "--type", key_type.value, "--out", str(key))[0] == 0
    assert PrivateKey.from_pem(key.read_bytes()).key_type is key_type
    assert run("pubkey", "--key", str(key), "--out", str(pub))[0] == 0
    code, out, _ = run("sign", "--key", str(key), str(msg))
    assert code == 0
    sig = out.strip()
    assert PublicKey.from_pem(pub.read_bytes()).verify(b"hello", bytes.fromhex(sig))
    assert run("verify", "--pub", str(pub), "--sig", sig, str(msg))[:2] == (0, "OK\n")
    msg.write_bytes(b"hellO")
    assert run("verify", "--pub", str(pub), "--sig", sig, str(msg))[:2] == (1, "FAILED\n")
    code, out, _ = run("address", "--pub", str(pub))
    assert code == 0
    assert out.strip() == "0x" + PublicKey.from_pem(pub.read_bytes()).address().hex()


def test_sign_verify_with_user_id(tmp_path: Path) -> None:
    key, pub, msg = tmp_path / "k.pem", tmp_path / "p.pem", tmp_path / "m.txt"
    msg.write_bytes(b"id")
    run("keygen", "--type", "sm2", "--out", str(key))
    run("pubkey", "--key", str(key), "--out", str(pub))
    sig = run("sign", "--key", str(key), "--id", "alice", str(msg))[1].strip()
    assert run("verify", "--pub", str(pub), "--sig", sig, "--id", "alice", str(msg))[0] == 0
    assert run("verify", "--pub", str(pub), "--sig", sig, str(msg))[0] == 1


def test_hash(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"abc")
    assert run("hash", "--alg", "sm3", str(f))[1].strip() == sm3(b"abc").hex()
    assert run("hash", "--alg", "sha256", str(f))[1].strip() == sha256(b"abc").hex()


@pytest.mark.parametrize(("alg", "key_hex"), [("sm4-gcm", "00" * 16), ("aes-gcm", "11" * 32)])
def test_encrypt_decrypt(tmp_path: Path, alg: str, key_hex: str) -> None:
    plain, enc, dec = tmp_path / "p", tmp_path / "e", tmp_path / "d"
    plain.write_bytes(b"top secret")
    assert (
        run("encrypt", "--alg", alg, "--key-hex", key_hex, "--in", str(plain), "--out", str(enc))[0]
        == 0
    )
    assert (
        run("decrypt", "--alg", alg, "--key-hex", key_hex, "--in", str(enc), "--out", str(dec))[0]
        == 0
    )
    assert dec.read_bytes() == b"top secret"
    enc.write_bytes(enc.read_bytes()[:-1] + b"\x00")
    code, _, err = run(
        "decrypt", "--alg", alg, "--key-hex", key_hex, "--in", str(enc), "--out", str(dec)
    )
    assert code == 2
    assert "[CRYPTO_DECRYPTION_FAILED]" in err


def test_error_paths(tmp_path: Path) -> None:
    key, pub, msg, bad = (
        tmp_path / "k.pem",
        tmp_path / "p.pem",
        tmp_path / "m",
        tmp_path / "bad.pem",
    )
    msg.write_bytes(b"m")
    bad.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    run("keygen", "--type", "p256", "--out", str(key))
    run("pubkey", "--key", str(key), "--out", str(pub))
    msg_, bad_ = str(msg), str(bad)
    cases = [
        (("sign", "--key", str(tmp_path / "missing.pem"), str(msg)), "CLI_FILE_NOT_FOUND"),
        (("sign", "--key", str(key), str(tmp_path / "missing")), "CLI_FILE_NOT_FOUND"),
        (("sign", "--key", str(bad), str(msg)), "CRYPTO_INVALID_KEY"),
        (("pubkey", "--key", str(msg), "--out", str(pub)), "CRYPTO_INVALID_KEY"),
        (("verify", "--pub", str(key), "--sig", "00", str(msg)), "CRYPTO_INVALID_KEY"),
        (("verify", "--pub", str(pub), "--sig", "zz", str(msg)), "CLI_BAD_HEX"),
        (("address", "--pub", str(bad)), "CRYPTO_INVALID_KEY"),
        (("hash", "--alg", "sm3", str(tmp_path / "missing")), "CLI_FILE_NOT_FOUND"),
        (("encrypt", "--alg", "sm4-gcm", "--key-hex", "00" * 32, "--in", msg_, "--out", bad_),
         "CRYPTO_INVALID_KEY"),
        (("encrypt", "--alg", "aes-gcm", "--key-hex", "xyz", "--in", msg_, "--out", bad_),
         "CLI_BAD_HEX"),
        (("decrypt", "--alg", "aes-gcm", "--key-hex", "00" * 16, "--in", msg_, "--out", bad_),
         "CRYPTO_DECRYPTION_FAILED"),
        (("keygen", "--type", "sm2", "--out", str(tmp_path / "no" / "dir.pem")), "CLI_IO_ERROR"),
    ]  # fmt: skip
    for args, code in cases:
        exit_code, _, err = run(*args)
        assert exit_code == 2, args
        assert err.count("\n") == 1 and f"[{code}]" in err, (args, err)
        assert "Traceback" not in err
    assert run("keygen", "--type", "rsa", "--out", str(key))[0] == 2  # usage error from click
    # a valid-hex signature that is not a signature is just invalid
    assert run("verify", "--pub", str(pub), "--sig", "00", str(msg))[0] == 1


def _module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consortia.cli.crypto_cmd", *args],
        check=False,
        capture_output=True,
        text=True,
    )


def test_subprocess_round_trip_with_openssl(tmp_path: Path) -> None:
    key, pub, msg, sig = tmp_path / "k.pem", tmp_path / "p.pem", tmp_path / "m", tmp_path / "s"
    msg.write_bytes(b"via subprocess")
    assert _module("keygen", "--type", "sm2", "--out", str(key)).returncode == 0
    assert _module("pubkey", "--key", str(key), "--out", str(pub)).returncode == 0
    signed = _module("sign", "--key", str(key), str(msg))
    assert signed.returncode == 0
    sig.write_bytes(bytes.fromhex(signed.stdout.strip()))
    checked = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", str(pub),
         "-pkeyopt", "distid:1234567812345678", "-in", str(msg), "-sigfile", str(sig)],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    assert "Signature Verified Successfully" in checked.stdout
    ok = _module("verify", "--pub", str(pub), "--sig", signed.stdout.strip(), str(msg))
    assert (ok.returncode, ok.stdout) == (0, "OK\n")
    missing = _module("verify", "--pub", str(tmp_path / "nope"), "--sig", "00", str(msg))
    assert missing.returncode == 2
    assert (
        missing.stderr.strip() == f"error: no such file: {tmp_path / 'nope'} [CLI_FILE_NOT_FOUND]"
    )
