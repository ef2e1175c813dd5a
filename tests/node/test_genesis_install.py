"""A node's first start installs the genesis through a staging directory, crash-safely."""

from __future__ import annotations

from pathlib import Path

import lmdb
import pytest
from tests.execution.chain import genesis_for, key

from consortia.crypto import KeyType, get_suite
from consortia.genesis import Genesis, build_genesis, default_runtime
from consortia.ledger.store import BlockStore
from consortia.node.config import LEDGER_MAP_SIZE, NodeHome
from consortia.server.assembly import _install_genesis_once
from consortia.state import StateTree, _tree


def _genesis() -> Genesis:
    return genesis_for([key(KeyType.SECP256K1, i) for i in range(12)], suite="intl")


def _ledger_root(ledger: Path) -> bytes:
    env = lmdb.open(str(ledger), max_dbs=32, map_size=LEDGER_MAP_SIZE)
    try:
        store = BlockStore(env)
        with env.begin() as txn:
            return store.block_by_height(txn, 0).header.state_root
    finally:
        env.close()


def _single_transaction_root(genesis: Genesis, tmp: Path) -> bytes:
    env = lmdb.open(str(tmp), max_dbs=32, map_size=1 << 28)
    try:
        tree = StateTree(env, get_suite(genesis.suite).hash)
        with env.begin(write=True) as txn:
            block, _ = build_genesis(genesis, default_runtime(), tree, txn)
        return block.header.state_root
    finally:
        env.close()


def _install(home: NodeHome, genesis: Genesis) -> None:
    _install_genesis_once(home, genesis, default_runtime(), get_suite(genesis.suite).hash)


def test_batched_install_gives_the_single_transaction_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_tree, "_LOAD_BATCH", 4)  # a dozen accounts span many transactions
    genesis = _genesis()
    home = NodeHome(tmp_path / "node")
    _install(home, genesis)
    assert _ledger_root(home.ledger_dir) == _single_transaction_root(genesis, tmp_path / "one")
    assert not home.ledger_dir.with_name("ledger.installing").exists()


def test_an_unfinished_install_is_discarded_and_redone(tmp_path: Path) -> None:
    genesis = _genesis()
    home = NodeHome(tmp_path / "node")
    staging = home.ledger_dir.with_name("ledger.installing")
    staging.mkdir(parents=True)
    (staging / "data.mdb").write_bytes(b"half an install")
    _install(home, genesis)
    assert not staging.exists()
    assert _ledger_root(home.ledger_dir) == _single_transaction_root(genesis, tmp_path / "one")


def test_a_ledger_without_a_block_is_replaced(tmp_path: Path) -> None:
    genesis = _genesis()
    home = NodeHome(tmp_path / "node")
    home.ledger_dir.mkdir(parents=True)
    lmdb.open(str(home.ledger_dir), max_dbs=32).close()  # an empty environment
    _install(home, genesis)
    assert _ledger_root(home.ledger_dir) == _single_transaction_root(genesis, tmp_path / "one")


def test_an_installed_ledger_is_left_alone(tmp_path: Path) -> None:
    genesis = _genesis()
    home = NodeHome(tmp_path / "node")
    _install(home, genesis)
    data = home.ledger_dir / "data.mdb"
    before = data.stat().st_mtime_ns, data.stat().st_ino
    _install(home, genesis)
    assert (data.stat().st_mtime_ns, data.stat().st_ino) == before
