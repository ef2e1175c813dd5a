"""Suites and batch verification."""

from __future__ import annotations

import functools
import subprocess
import sys

import coincurve
import pytest

from consortia.crypto import (
    AES_GCM,
    SM4_GCM,
    SUITES,
    KeyType,
    PrivateKey,
    PublicKey,
    UnsupportedAlgorithm,
    ecrecover,
    get_suite,
    keccak256,
    sha256,
    sm3,
    verify_batch,
)
from consortia.crypto.batch import failed_check, run_checks


def test_suites() -> None:
    sm, intl = get_suite("sm"), get_suite("intl")
    assert (sm.hash_name, sm.hash, sm.consensus_key_type, sm.aead) == (
        "sm3",
        sm3,
        KeyType.SM2,
        SM4_GCM,
    )
    assert (intl.hash_name, intl.hash, intl.consensus_key_type, intl.aead) == (
        "sha256",
        sha256,
        KeyType.P256,
        AES_GCM,
    )
    assert set(SUITES) == {"sm", "intl"}
    assert len(sm.hash(b"x")) == 32


def test_unknown_suite_lists_known_names() -> None:
    with pytest.raises(UnsupportedAlgorithm, match="intl, sm"):
        get_suite("rot13")


def test_verify_batch_matches_individual_verify() -> None:
    items: list[tuple[PublicKey, bytes, bytes]] = []
    keys = [PrivateKey.generate(kt) for kt in KeyType for _ in range(3)]
    for i in range(60):
        key = keys[i % len(keys)]
        msg = f"message {i}".encode()
        sig = key.sign(msg)
        if i % 5 == 1:
            msg += b"!"
        elif i % 5 == 2:
            sig = b"\x30\x00"
        elif i % 5 == 3:
            sig = keys[(i + 1) % len(keys)].sign(msg)
        items.append((key.public_key(), msg, sig))
    expected = [k.verify(m, s) for k, m, s in items]
    assert verify_batch(items) == expected
    assert expected.count(True) == 24
    assert verify_batch(items[:3]) == expected[:3]
    assert verify_batch([]) == []


def test_verify_batch_user_id() -> None:
    key = PrivateKey.generate(KeyType.SM2)
    items = [(key.public_key(), bytes([i]), key.sign(bytes([i]), user_id=b"u")) for i in range(20)]
    assert verify_batch(items, user_id=b"u") == [True] * 20
    assert verify_batch(items) == [False] * 20


def test_a_node_runs_its_verification_workers_at_lower_priority() -> None:
    """lower_worker_priority applies to the worker threads only, not the caller's."""
    script = """
import os
from consortia.crypto import KeyType, PrivateKey, verify_batch
from consortia.crypto.batch import lower_worker_priority
lower_worker_priority(7)
key = PrivateKey.generate(KeyType.P256)
assert all(verify_batch([(key.public_key(), b"m", key.sign(b"m"))] * 64))
for task in sorted(os.listdir("/proc/self/task")):
    stat = open(f"/proc/self/task/{task}/stat").read()
    print(int(task) == os.getpid(), stat.rsplit(")", 1)[1].split()[16])
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    rows = [line.split() for line in out if line]
    assert ["True", "0"] in rows
    workers = [nice for is_main, nice in rows if is_main == "False"]
    assert workers and set(workers) == {"7"}


def test_run_checks_keeps_order_inline_and_across_workers() -> None:
    key = PrivateKey.generate(KeyType.SECP256K1)
    public = key.public_key()
    good = functools.partial(public.verify, b"m", key.sign(b"m"))
    bad = functools.partial(public.verify, b"m", key.sign(b"other"))
    for n in (3, 50):  # below and above the inline threshold
        checks = [good if i % 3 else bad for i in range(n)] + [failed_check]
        assert run_checks(checks) == [bool(i % 3) for i in range(n)] + [False]


def test_ecrecover_finds_the_ethereum_signer_and_nothing_from_garbage() -> None:
    secret = coincurve.PrivateKey(b"\x09" * 32)
    digest = keccak256(b"an Ethereum signing payload")
    signature = secret.sign_recoverable(digest, hasher=None)
    assert ecrecover(digest, signature) == secret.public_key.format(compressed=False)
    assert ecrecover(digest, bytes(65)) is None
    assert ecrecover(digest, signature[:64] + b"\x07") is None  # recovery id out of range
    assert ecrecover(digest, signature[:64]) is None  # no recovery id
