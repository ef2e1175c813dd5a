"""Basic behaviour and input checks of StateTree."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import lmdb
import pytest

from consortia.state import (
    EMPTY_ROOT,
    InvalidProof,
    InvalidVersion,
    StateError,
    StateTree,
    VersionNotFound,
    verify_proof,
)
from consortia.state.errors import InvalidProof as InvalidProofFromErrors

from .conftest import HashFn, naive_root, open_env, sha256


def test_error_codes() -> None:
    assert StateError("x").code == "STATE_ERROR"
    assert VersionNotFound("x").code == "STATE_VERSION_NOT_FOUND"
    assert VersionNotFound("x").http_status == 404
    assert InvalidVersion("x").code == "STATE_INVALID_VERSION"
    assert InvalidProof("x").code == "STATE_INVALID_PROOF"
    assert InvalidProof is InvalidProofFromErrors
    assert issubclass(VersionNotFound, StateError)


def test_versions_must_be_sequential(env: lmdb.Environment, hash_fn: HashFn) -> None:
    tree = StateTree(env, hash_fn)
    with env.begin(write=True) as txn:
        assert tree.latest_version(txn) is None
        with pytest.raises(InvalidVersion):
            tree.apply(txn, 1, {})
        assert tree.apply(txn, 0, {}) == EMPTY_ROOT
        with pytest.raises(InvalidVersion):
            tree.apply(txn, 0, {})
        with pytest.raises(InvalidVersion):
            tree.apply(txn, 2, {})
        with pytest.raises(InvalidVersion):
            tree.apply(txn, -1, {})
        tree.apply(txn, 1, {b"a": b"b"})
        assert tree.latest_version(txn) == 1
        with pytest.raises(VersionNotFound):
            tree.root(txn, 2)
        with pytest.raises(VersionNotFound):
            tree.get(txn, b"a", 5)


def test_input_checks(env: lmdb.Environment) -> None:
    tree = StateTree(env, sha256)
    with env.begin(write=True) as txn:
        with pytest.raises(StateError):
            tree.apply(txn, 0, {b"k" * 257: b"v"})
        with pytest.raises(StateError):
            tree.apply(txn, 0, {b"k": b"v" * ((1 << 20) + 1)})
        with pytest.raises(StateError):
            tree.apply(txn, 0, {"k": b"v"})  # type: ignore[dict-item]
        with pytest.raises(StateError):
            tree.apply(txn, 0, {b"k": "v"})  # type: ignore[dict-item]
        root = tree.apply(txn, 0, {b"k" * 256: b"v" * (1 << 20), b"": b""})
        assert tree.get(txn, b"k" * 256) == b"v" * (1 << 20)
        assert tree.get(txn, b"") == b""
        assert root == naive_root(sha256, {b"k" * 256: b"v" * (1 << 20), b"": b""})
    with pytest.raises(StateError):
        StateTree(env, lambda data: hashlib.sha512(data).digest())


def test_noop_updates_keep_root_and_nodes(env: lmdb.Environment, hash_fn: HashFn) -> None:
    tree = StateTree(env, hash_fn)
    with env.begin(write=True) as txn:
        root = tree.apply(txn, 0, {b"a": b"1", b"b": b"2", b"c": b"3"})
        assert tree.apply(txn, 1, {b"a": b"1", b"zz": None}) == root
        assert tree.apply(txn, 2, {}) == root
        assert tree.root(txn, 2) == root
        assert tree.get(txn, b"a", 0) == b"1"


def test_delete_to_empty_and_back(env: lmdb.Environment, hash_fn: HashFn) -> None:
    tree = StateTree(env, hash_fn)
    contents = {b"x%d" % i: b"%d" % i for i in range(40)}
    with env.begin(write=True) as txn:
        full = tree.apply(txn, 0, contents)
        assert tree.apply(txn, 1, dict.fromkeys(contents)) == EMPTY_ROOT
        assert tree.apply(txn, 2, contents) == full
    with env.begin() as txn:
        assert list(tree.iterate(txn, 1)) == []
        assert dict(tree.iterate(txn, 0)) == contents
        assert dict(tree.iterate(txn, 2)) == contents
        assert tree.get(txn, b"x3", 1) is None


def test_buffers_transactions_work(env: lmdb.Environment) -> None:
    tree = StateTree(env, sha256)
    with env.begin(write=True, buffers=True) as txn:
        tree.apply(txn, 0, {b"a": b"1"})
        tree.apply(txn, 1, {b"a": b"2", b"b": b"3"})
    with env.begin(buffers=True) as txn:
        assert tree.get(txn, b"a") == b"2"
        assert tree.get(txn, b"a", 0) == b"1"
        assert list(tree.iterate(txn, 0)) == [(b"a", b"1")]
        root = tree.root(txn, 1)
        assert verify_proof(sha256, root, b"b", b"3", tree.prove(txn, b"b", 1))


def test_two_trees_share_an_environment(tmp_path: Path) -> None:
    env = open_env(tmp_path / "db")
    with env.begin(write=True) as txn:
        one = StateTree(env, sha256, name=b"one", txn=txn)
        two = StateTree(env, sha256, name=b"two", txn=txn)
        one.apply(txn, 0, {b"k": b"1"})
        two.apply(txn, 0, {b"k": b"2"})
    with env.begin() as txn:
        assert one.get(txn, b"k") == b"1"
        assert two.get(txn, b"k") == b"2"
    env.close()


def test_random_batches_match_naive_root(env: lmdb.Environment, hash_fn: HashFn) -> None:
    rng = random.Random(5)
    tree = StateTree(env, hash_fn)
    model: dict[bytes, bytes] = {}
    for version in range(8):
        updates: dict[bytes, bytes | None] = {}
        for _ in range(rng.randrange(1, 400)):
            key = b"%d" % rng.randrange(1500)
            updates[key] = None if rng.random() < 0.3 else rng.randbytes(rng.randrange(9))
        with env.begin(write=True) as txn:
            root = tree.apply(txn, version, updates)
        for key, value in updates.items():
            if value is None:
                model.pop(key, None)
            else:
                model[key] = value
        assert root == naive_root(hash_fn, model)
