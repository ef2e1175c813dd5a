"""Crash safety: an aborted write transaction leaves the previous version intact."""

from __future__ import annotations

from pathlib import Path

import lmdb
import pytest

from consortia.state import StateTree, verify_proof

from .conftest import naive_root, open_env, sha256


class Boom(Exception):
    pass


class FailingHash:
    """SHA-256 that raises after ``budget`` calls once armed."""

    def __init__(self) -> None:
        self.budget: int | None = None

    def __call__(self, data: bytes) -> bytes:
        if self.budget is not None:
            if self.budget == 0:
                raise Boom
            self.budget -= 1
        return sha256(data)


@pytest.mark.parametrize("budget", [0, 10, 500, 3_000])
def test_abort_mid_apply_keeps_previous_version(tmp_path: Path, budget: int) -> None:
    hash_fn = FailingHash()
    env = open_env(tmp_path / "db")
    tree = StateTree(env, hash_fn)
    first = {b"k%d" % i: b"v%d" % i for i in range(500)}
    with env.begin(write=True) as txn:
        root0 = tree.apply(txn, 0, first)
    hash_fn.budget = budget
    second: dict[bytes, bytes | None] = {b"k%d" % i: b"w%d" % i for i in range(250, 900)}
    second.update({b"k%d" % i: None for i in range(100)})
    with pytest.raises(Boom), env.begin(write=True) as txn:
        tree.apply(txn, 1, second)
    hash_fn.budget = None
    with env.begin() as txn:
        assert tree.latest_version(txn) == 0
        assert tree.root(txn, 0) == root0
        assert dict(tree.iterate(txn, 0)) == first
        assert verify_proof(sha256, root0, b"k3", b"v3", tree.prove(txn, b"k3", 0))
    # The same version can be written again after the failure, with the right root.
    with env.begin(write=True) as txn:
        root1 = tree.apply(txn, 1, second)
    expected = dict(first)
    for key, value in second.items():
        if value is None:
            expected.pop(key, None)
        else:
            expected[key] = value
    assert root1 == naive_root(sha256, expected)
    env.close()


def test_reopen_after_abort_sees_committed_state(tmp_path: Path) -> None:
    env = open_env(tmp_path / "db")
    tree = StateTree(env, sha256)
    with env.begin(write=True) as txn:
        root0 = tree.apply(txn, 0, {b"a": b"1"})
    txn = env.begin(write=True)
    tree.apply(txn, 1, {b"a": b"2"})
    txn.abort()
    env.close()
    env = open_env(tmp_path / "db")
    tree = StateTree(env, sha256)
    with env.begin() as read:
        assert tree.latest_version(read) == 0
        assert tree.root(read, 0) == root0
        assert tree.get(read, b"a") == b"1"
    env.close()


def test_shared_transaction_with_other_writes(tmp_path: Path) -> None:
    """Ledger and state in one write transaction: both commit or neither does."""
    env = open_env(tmp_path / "db")
    tree = StateTree(env, sha256)
    with env.begin(write=True) as txn:
        ledger = env.open_db(b"ledger.blocks", txn=txn)
    with pytest.raises(Boom), env.begin(write=True) as txn:
        txn.put(b"block-0", b"header", db=ledger)
        tree.apply(txn, 0, {b"a": b"1"})
        raise Boom
    with env.begin() as txn:
        assert txn.get(b"block-0", db=ledger) is None
        assert tree.latest_version(txn) is None
    _ = lmdb  # the test is about LMDB semantics
    env.close()
