"""StateTree.load: a first version written in batches equals one written by apply."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import lmdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consortia.state import InvalidVersion, StateError, StateTree, _tree, verify_proof

from .conftest import naive_root, open_env, sha256

UPDATES = st.dictionaries(
    st.binary(min_size=1, max_size=6), st.none() | st.binary(max_size=40), max_size=60
)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of three records or nodes, so a few dozen keys span many transactions."""
    monkeypatch.setattr(_tree, "_LOAD_BATCH", 3)


def _fresh_env() -> Iterator[lmdb.Environment]:
    with tempfile.TemporaryDirectory() as tmp:
        env = open_env(Path(tmp))
        try:
            yield env
        finally:
            env.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(updates=UPDATES)
def test_load_equals_apply_on_an_empty_version(updates: dict[bytes, bytes | None]) -> None:
    live = {k: v for k, v in updates.items() if v is not None}
    for loaded_env, applied_env in zip(_fresh_env(), _fresh_env(), strict=True):
        loaded = StateTree(loaded_env, sha256)
        root = loaded.load(loaded_env, 0, updates)
        # The general path: an empty version 0, then the updates as version 1.
        applied = StateTree(applied_env, sha256)
        with applied_env.begin(write=True) as txn:
            applied.apply(txn, 0, {})
            assert applied.apply(txn, 1, updates) == root
        assert root == naive_root(sha256, live)
        with loaded_env.begin() as txn:
            assert loaded.latest_version(txn) == 0
            assert loaded.root(txn, 0) == root
            assert list(loaded.iterate(txn, 0)) == sorted(live.items())
            for key in updates:
                assert loaded.get(txn, key, 0) == live.get(key)
                proof = loaded.prove(txn, key, 0)
                assert verify_proof(sha256, root, key, live.get(key), proof)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(updates=UPDATES)
def test_a_first_apply_uses_the_same_batched_path(updates: dict[bytes, bytes | None]) -> None:
    for loaded_env, applied_env in zip(_fresh_env(), _fresh_env(), strict=True):
        root = StateTree(loaded_env, sha256).load(loaded_env, 0, updates)
        applied = StateTree(applied_env, sha256)
        with applied_env.begin(write=True) as txn:
            assert applied.apply(txn, 0, updates) == root


def test_load_then_apply_continues_the_tree(env: lmdb.Environment) -> None:
    tree = StateTree(env, sha256)
    first = {bytes([i]): bytes([i]) * 3 for i in range(40)}
    tree.load(env, 0, first)
    with env.begin(write=True) as txn:
        root = tree.apply(txn, 1, {b"\x05": None, b"new": b"v"})
    expected = {k: v for k, v in first.items() if k != b"\x05"} | {b"new": b"v"}
    assert root == naive_root(sha256, expected)


def test_load_needs_an_empty_tree(env: lmdb.Environment) -> None:
    tree = StateTree(env, sha256)
    tree.load(env, 0, {b"a": b"1"})
    with pytest.raises(InvalidVersion, match="empty tree"):
        tree.load(env, 1, {b"b": b"2"})
    with pytest.raises(InvalidVersion):
        tree.load(env, -1, {})


def test_bad_input_is_refused_before_anything_is_written(env: lmdb.Environment) -> None:
    tree = StateTree(env, sha256)
    with pytest.raises(StateError, match="must be bytes"):
        tree.load(env, 0, {b"a": b"1", b"b": "text"})  # type: ignore[dict-item]
    with env.begin() as txn:
        assert tree.latest_version(txn) is None
    tree.load(env, 0, {b"a": b"1"})  # nothing was left behind to collide with


def test_a_failed_load_leaves_no_version(tmp_path: Path) -> None:
    calls = 0

    def failing_hash(data: bytes) -> bytes:
        nonlocal calls
        calls += 1
        if calls > 60:
            raise RuntimeError("disk on fire")
        return sha256(data)

    env = open_env(tmp_path / "db")
    tree = StateTree(env, failing_hash)
    with pytest.raises(RuntimeError, match="disk on fire"):
        tree.load(env, 0, {bytes([i]): b"v" for i in range(50)})
    with env.begin() as txn:
        assert tree.latest_version(txn) is None
    env.close()
