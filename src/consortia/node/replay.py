"""Replays a node's committed chain on a fresh store and compares every root.

The determinism check of [NODE-DETERMINISM.1]: state is a pure function of the
ordered transactions, so re-executing the stored blocks from genesis on an
empty LMDB environment must reproduce every height's state and receipts
roots bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import lmdb

from consortia.consensus.blocktree import CommittedBlock
from consortia.crypto import get_suite
from consortia.execution.transition import apply_block, read_roots
from consortia.genesis import Genesis, install_genesis, runtime_for
from consortia.ledger.store import BlockStore
from consortia.state import StateTree


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """Outcome of a replay."""

    heights: int
    """Heights compared (genesis included)."""
    first_mismatch: int | None
    """First height whose roots differ, or None."""
    detail: str


def replay_chain(source: Path, target: Path, genesis: Genesis) -> ReplayReport:
    """Re-execute the chain stored at ``source`` (a ledger dir) into a fresh ``target`` dir."""
    hash_fn = get_suite(genesis.suite).hash
    runtime = runtime_for(genesis)
    target.mkdir(parents=True, exist_ok=False)
    src_env = lmdb.open(str(source), max_dbs=32, readonly=True)
    dst_env = lmdb.open(str(target), max_dbs=32, map_size=1 << 36)
    try:
        src_store, dst_store = BlockStore(src_env), BlockStore(dst_env)
        dst_tree = StateTree(dst_env, hash_fn)
        _, bid = install_genesis(dst_env, dst_store, dst_tree, genesis, runtime)
        with src_env.begin() as txn:
            top = src_store.latest_height(txn)
            assert top is not None
            if src_store.block_id_at(txn, 0) != bid:
                return ReplayReport(1, 0, "genesis block differs from the genesis file")
        for height in range(1, top + 1):
            with src_env.begin() as txn:
                block = src_store.block_by_height(txn, height)
                ends_epoch = block.header.next_validators
                start = None if ends_epoch is None else src_store.epoch(txn, ends_epoch.epoch)
                committed = CommittedBlock(
                    block=block,
                    block_id=src_store.block_id_at(txn, height),
                    certificate=src_store.certificate(txn, height) or _missing(height),
                    commit_proof=None if start is None else start.proof,
                )
                expected = read_roots(src_store, txn, height)
            executed = apply_block(dst_env, dst_store, dst_tree, runtime, hash_fn, committed)
            with dst_env.begin() as txn:
                actual = read_roots(dst_store, txn, height)
            if expected != actual:
                return ReplayReport(
                    height + 1,
                    height,
                    f"height {height}: stored roots {expected}, replayed {actual} "
                    f"(state root {executed.state_root.hex()})",
                )
        return ReplayReport(top + 1, None, f"all {top + 1} heights match")
    finally:
        src_env.close()
        dst_env.close()


def _missing(height: int) -> NoReturn:
    raise AssertionError(f"committed block {height} has no stored certificate")
