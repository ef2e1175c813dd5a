"""Shared fixtures for the state tests: LMDB environments, hashes and a naive root."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import lmdb
import pytest

HashFn = Callable[[bytes], bytes]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def open_env(path: Path | str) -> lmdb.Environment:
    return lmdb.open(str(path), map_size=1 << 30, max_dbs=16)


def naive_root(hash_fn: HashFn, contents: Mapping[bytes, bytes]) -> bytes:
    """Root of the canonical binary sparse Merkle tree, recomputed from scratch.

    Written as directly as the definition: an empty set hashes to 32 zero
    bytes, a single key to its leaf, otherwise split on the next bit.
    """
    leaves = sorted((hash_fn(k), hash_fn(v)) for k, v in contents.items())

    def bit(key_hash: bytes, depth: int) -> int:
        return (key_hash[depth // 8] >> (7 - depth % 8)) & 1

    def build(items: list[tuple[bytes, bytes]], depth: int) -> bytes:
        if not items:
            return bytes(32)
        if len(items) == 1:
            key_hash, value_hash = items[0]
            return hash_fn(b"\x00" + key_hash + value_hash)
        left = [item for item in items if bit(item[0], depth) == 0]
        right = [item for item in items if bit(item[0], depth) == 1]
        return hash_fn(b"\x01" + build(left, depth + 1) + build(right, depth + 1))

    return build(leaves, 0)


@pytest.fixture(params=[sha256, sm3], ids=["sha256", "sm3"])
def hash_fn(request: pytest.FixtureRequest) -> HashFn:
    fn: HashFn = request.param
    return fn


@pytest.fixture
def env(tmp_path: Path) -> Iterator[lmdb.Environment]:
    environment = open_env(tmp_path / "db")
    yield environment
    environment.close()
