"""Batched trie writes give py-trie's trie, node for node reachable from the root.

:class:`consortia.evm.world.BatchedStorageLookup` applies a block's storage
writes in one pass; an Ethereum trie's root depends only on its content,
so the batched trie must have py-trie's root after any mix of sets,
overwrites and deletes — including keys that are prefixes of others (values
in branch nodes) and nodes short enough to be embedded in their parent.
"""

from __future__ import annotations

import random

import pytest
from eth.constants import BLANK_ROOT_HASH
from eth.db.backends.memory import MemoryDB
from eth_typing import Address, Hash32
from hypothesis import given, settings
from hypothesis import strategies as st
from trie.exceptions import MissingTrieNode
from trie.hexary import HexaryTrie

from consortia.evm.world import BatchedStorageLookup, NodeCache, _BatchWriter, trie_get


def _random_items(rng: random.Random, n: int, key_bytes: list[int]) -> dict[bytes, bytes]:
    items = {}
    for _ in range(n):
        key = rng.randbytes(rng.choice(key_bytes))
        items[key] = rng.randbytes(rng.choice([1, 2, 5, 40]))
    return items


def _sequential(db: MemoryDB, root: bytes, changes: dict[bytes, bytes]) -> bytes:
    trie = HexaryTrie(db, root)
    for key, value in changes.items():
        trie[key] = value  # b"" deletes
    return bytes(trie.root_hash)


def _content(db: MemoryDB, root: bytes, keys: set[bytes]) -> dict[bytes, bytes]:
    trie = HexaryTrie(db, root)
    return {k: v for k in keys if (v := trie[k]) != b""}


@pytest.mark.parametrize("seed", range(40))
def test_batch_set_gives_py_trie_root(seed: int) -> None:
    rng = random.Random(seed)
    shapes = [[1], [1, 2], [1, 2, 3], [32], [2, 32]][seed % 5]
    base = _random_items(rng, rng.choice([0, 1, 3, 20, 200]), shapes)
    db = MemoryDB()
    root = _sequential(db, BLANK_ROOT_HASH, base)
    updates = _random_items(rng, rng.choice([1, 2, 7, 60]), shapes)
    for key in rng.sample(sorted(base), min(len(base), 5)):
        updates[key] = rng.randbytes(3)  # overwrite existing keys too
    expected = _sequential(MemoryDB(dict(db.kv_store)), root, updates)

    for cache in (None, NodeCache()):
        batch_db = MemoryDB(dict(db.kv_store))
        trie = HexaryTrie(batch_db, root, prune=True)
        _BatchWriter(trie, cache).set_many(list(updates.items()))
        assert trie.root_hash == expected
        # Every key reads back from what the batch wrote (no node missing).
        keys = set(base) | set(updates)
        assert _content(batch_db, expected, keys) == {**base, **updates}


_KEYS = st.binary(min_size=1, max_size=3) | st.binary(min_size=32, max_size=32)
_CONTENTS = st.dictionaries(_KEYS, st.binary(min_size=1, max_size=40), max_size=40)


@settings(max_examples=150, deadline=None)
@given(base=_CONTENTS, updates=_CONTENTS.filter(bool))
def test_any_batch_gives_py_trie_root(
    base: dict[bytes, bytes], updates: dict[bytes, bytes]
) -> None:
    db = MemoryDB()
    root = _sequential(db, BLANK_ROOT_HASH, base)
    expected = _sequential(MemoryDB(dict(db.kv_store)), root, updates)
    batch_db = MemoryDB(dict(db.kv_store))
    trie = HexaryTrie(batch_db, root, prune=True)
    _BatchWriter(trie, NodeCache()).set_many(list(updates.items()))
    assert trie.root_hash == expected
    assert _content(batch_db, expected, set(base) | set(updates)) == {**base, **updates}


@pytest.mark.parametrize("seed", range(20))
def test_storage_lookup_with_deletes_matches_py_trie(seed: int) -> None:
    rng = random.Random(1000 + seed)
    db = MemoryDB()
    slots = [rng.randbytes(rng.choice([1, 2, 32])) for _ in range(rng.choice([3, 30, 150]))]
    lookup = BatchedStorageLookup(db, BLANK_ROOT_HASH, Address(bytes(20)), NodeCache())
    reference: dict[bytes, bytes] = {}
    root = BLANK_ROOT_HASH
    for _ in range(4):  # four "blocks", each committed
        for _ in range(rng.choice([1, 10, 80])):
            slot = rng.choice(slots)
            if rng.random() < 0.3:
                del lookup[slot]
                reference[slot] = b""
            else:
                value = rng.randbytes(rng.choice([1, 33]))
                lookup[slot] = value
                reference[slot] = value
        if rng.random() < 0.5:  # a read in between flushes the pending writes
            lookup._exists(rng.choice(slots))
        if not lookup.has_changed_root:
            continue
        new_root = lookup.get_changed_root()
        lookup.commit_to(db)
        hashed = {lookup._decode_key(k): v for k, v in reference.items()}
        root = _sequential(MemoryDB(dict(db.kv_store)), root, hashed)
        assert new_root == root
        for slot, value in reference.items():
            assert lookup[slot] == value
        reference = {k: v for k, v in reference.items() if v}
        lookup = BatchedStorageLookup(db, Hash32(root), Address(bytes(20)), NodeCache())


@pytest.mark.parametrize("seed", range(20))
def test_trie_get_answers_as_py_trie(seed: int) -> None:
    rng = random.Random(2000 + seed)
    shapes = [[1], [1, 2], [1, 2, 3], [32], [2, 32]][seed % 5]
    items = _random_items(rng, rng.choice([1, 2, 5, 40, 300]), shapes)
    db = MemoryDB()
    root = _sequential(db, BLANK_ROOT_HASH, items)
    reference = HexaryTrie(db, root)
    probes = list(items) + [rng.randbytes(rng.choice(shapes)) for _ in range(50)]
    probes += [key[:-1] for key in items if len(key) > 1]
    cache = NodeCache()
    for key in probes:
        assert trie_get(db, root, key, None) == reference[key]
        assert trie_get(db, root, key, cache) == reference[key]
        assert trie_get(db, root, key, cache) == reference[key]  # from the cache
    assert trie_get(db, BLANK_ROOT_HASH, b"\x01", cache) == b""


def test_trie_get_reports_a_missing_node() -> None:
    db = MemoryDB()
    root = _sequential(db, BLANK_ROOT_HASH, {bytes([i]) * 32: b"v" * 40 for i in range(20)})
    del db[root]
    with pytest.raises(MissingTrieNode):
        trie_get(db, root, b"\x01" * 32, NodeCache())
