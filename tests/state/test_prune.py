"""Pruning: later versions stay readable and provable, earlier ones go away cleanly."""

from __future__ import annotations

import lmdb
import pytest

from consortia.state import InvalidVersion, StateTree, VersionNotFound, verify_proof

from .conftest import HashFn


def _history(env: lmdb.Environment, hash_fn: HashFn) -> tuple[StateTree, list[bytes]]:
    """Versions 0..9: each rewrites keys i..i+49 and deletes key i-1."""
    tree = StateTree(env, hash_fn)
    roots = []
    for version in range(10):
        updates: dict[bytes, bytes | None] = {
            b"k%03d" % i: b"v%d" % version for i in range(version, version + 50)
        }
        if version:
            updates[b"k%03d" % (version - 1)] = None
        with env.begin(write=True) as txn:
            roots.append(tree.apply(txn, version, updates))
    return tree, roots


def _count(env: lmdb.Environment, name: bytes) -> int:
    db = env.open_db(name)
    with env.begin() as txn:
        return int(txn.stat(db)["entries"])


def test_prune_keeps_later_versions(env: lmdb.Environment, hash_fn: HashFn) -> None:
    tree, roots = _history(env, hash_fn)
    nodes_before = _count(env, b"state.nodes")
    with env.begin(write=True) as txn:
        deleted = tree.prune(txn, 6)
    assert deleted > 0
    assert _count(env, b"state.nodes") == nodes_before - deleted
    with env.begin() as txn:
        assert tree.oldest_version(txn) == 6
        for version in range(6):
            with pytest.raises(VersionNotFound):
                tree.root(txn, version)
            with pytest.raises(VersionNotFound):
                tree.get(txn, b"k010", version)
            with pytest.raises(VersionNotFound):
                tree.prove(txn, b"k010", version)
            with pytest.raises(VersionNotFound):
                tree.iterate(txn, version)
        for version in range(6, 10):
            assert tree.root(txn, version) == roots[version]
            for i in range(70):
                key = b"k%03d" % i
                # Written at each w with w <= i < w + 50, deleted at version i + 1.
                expected = b"v%d" % version if version <= i < version + 50 else None
                assert tree.get(txn, key, version) == expected
                proof = tree.prove(txn, key, version)
                assert verify_proof(hash_fn, roots[version], key, expected, proof)


def test_prune_everything_but_latest_then_continue(env: lmdb.Environment, hash_fn: HashFn) -> None:
    tree, _ = _history(env, hash_fn)
    with env.begin(write=True) as txn:
        tree.prune(txn, 9)
        again = tree.prune(txn, 9)
        assert again == 0
    # Only version 9's nodes remain: every stored node is reachable from its root.
    with env.begin() as txn:
        latest = list(tree.iterate(txn, 9))
    assert len(latest) == 50
    with env.begin(write=True) as txn:
        root = tree.apply(txn, 10, {b"k000": b"back"})
    with env.begin() as txn:
        assert tree.get(txn, b"k000") == b"back"
        assert tree.get(txn, b"k000", 9) is None
        assert verify_proof(hash_fn, root, b"k000", b"back", tree.prove(txn, b"k000", 10))


def test_prune_bounds(env: lmdb.Environment, hash_fn: HashFn) -> None:
    tree = StateTree(env, hash_fn)
    with env.begin(write=True) as txn:
        with pytest.raises(InvalidVersion):
            tree.prune(txn, 0)  # nothing written yet
        tree.apply(txn, 0, {b"a": b"1"})
        with pytest.raises(InvalidVersion):
            tree.prune(txn, 1)
        with pytest.raises(InvalidVersion):
            tree.prune(txn, -1)
        assert tree.prune(txn, 0) == 0


def test_deleted_key_history_is_pruned(env: lmdb.Environment, hash_fn: HashFn) -> None:
    tree = StateTree(env, hash_fn)
    with env.begin(write=True) as txn:
        tree.apply(txn, 0, {b"gone": b"1", b"stay": b"1"})
        tree.apply(txn, 1, {b"gone": None})
        tree.apply(txn, 2, {b"stay": b"2"})
    assert _count(env, b"state.history") == 2
    assert _count(env, b"state.keys") == 2  # one live, one tombstone
    with env.begin(write=True) as txn:
        tree.prune(txn, 2)
    assert _count(env, b"state.history") == 0
    assert _count(env, b"state.keys") == 1
    with env.begin() as txn:
        assert list(tree.iterate(txn, 2)) == [(b"stay", b"2")]
        assert tree.get(txn, b"gone", 2) is None
