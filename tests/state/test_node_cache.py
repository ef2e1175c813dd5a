"""The node cache a tree keeps between versions never changes a root.

Entries are keyed by their own hash, so neither an aborted write transaction
(whose nodes were cached but never stored), nor eviction, nor a restart with a
cold cache may lead to a different root or to nodes that a fresh tree cannot
read back. Three trees take the same steps: the default cache, a cache of two
nodes (constant eviction) and none; every root must equal the naive one.
"""

from __future__ import annotations

from pathlib import Path

import lmdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consortia.state import StateTree, verify_proof

from .conftest import naive_root, open_env, sha256

KEYS = [b"acct/%d" % i for i in range(400)]
"""Enough keys for nodes with many children, so a block changes several slots of one."""

batch = st.dictionaries(
    st.sampled_from(KEYS) | st.binary(max_size=3), st.none() | st.binary(max_size=4), max_size=40
)
step = st.tuples(st.sampled_from(["apply", "abort-then-apply", "restart"]), batch, batch)


def _apply(env: lmdb.Environment, tree: StateTree, version: int, updates: dict) -> bytes:
    with env.begin(write=True) as txn:
        return tree.apply(txn, version, updates)


def _abort(env: lmdb.Environment, tree: StateTree, version: int, updates: dict) -> None:
    txn = env.begin(write=True)
    try:
        tree.apply(txn, version, updates)
    finally:
        txn.abort()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step, max_size=8))
def test_cached_trees_match_uncached_and_naive(tmp_path_factory: object, steps: list) -> None:
    base: Path = tmp_path_factory.mktemp("cache")  # type: ignore[attr-defined]
    sizes = {"default": None, "tiny": 2, "none": 0}
    envs = {name: open_env(base / name) for name in sizes}

    def open_tree(name: str) -> StateTree:
        size = sizes[name]
        if size is None:
            return StateTree(envs[name], sha256)
        return StateTree(envs[name], sha256, node_cache=size)

    trees = {name: open_tree(name) for name in sizes}
    first = {key: b"%d" % i for i, key in enumerate(KEYS)}
    model = dict(first)
    for name, tree in trees.items():
        assert _apply(envs[name], tree, 0, first) == naive_root(sha256, model)
    for version, (kind, decoy, updates) in enumerate(steps, start=1):
        for name in sizes:
            if kind == "restart":
                trees[name] = open_tree(name)
            if kind == "abort-then-apply":
                _abort(envs[name], trees[name], version, decoy)
        for key, value in updates.items():
            if value is None:
                model.pop(key, None)
            else:
                model[key] = value
        expected = naive_root(sha256, model)
        for name, tree in trees.items():
            assert _apply(envs[name], tree, version, updates) == expected, name
    # What the cached trees stored reads back through a tree with a cold cache.
    last = len(steps)
    for name in sizes:
        cold = StateTree(envs[name], sha256, node_cache=0)
        with envs[name].begin() as txn:
            assert cold.root(txn, last) == naive_root(sha256, model)
            for key, value in list(model.items())[:20]:
                assert verify_proof(
                    sha256, cold.root(txn, last), key, value, cold.prove(txn, key, last)
                )
        assert _apply(envs[name], cold, last + 1, {KEYS[0]: b"x"}) == naive_root(
            sha256, {**model, KEYS[0]: b"x"}
        )
    for env in envs.values():
        env.close()


def test_cache_is_bounded(tmp_path: Path) -> None:
    env = open_env(tmp_path / "db")
    tree = StateTree(env, sha256, node_cache=8)
    _apply(env, tree, 0, {key: b"v" for key in KEYS})
    for version in range(1, 5):
        _apply(env, tree, version, {key: b"%d" % version for key in KEYS[::7]})
    assert len(tree._node_cache or ()) <= 8
