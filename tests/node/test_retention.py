"""A retention policy prunes old state versions as blocks execute; blocks stay."""

from __future__ import annotations

from pathlib import Path

import lmdb
import pytest
from tests.execution.chain import genesis_for

from consortia.consensus.blocktree import CommittedBlock
from consortia.crypto import get_suite
from consortia.execution.epochs import VALIDATORS_KEY
from consortia.execution.policy import MIN_RETENTION_BLOCKS, ChainPolicy
from consortia.execution.transition import PRUNE_EVERY, apply_block
from consortia.genesis import default_runtime, install_genesis
from consortia.ledger.merkle import merkle_root
from consortia.ledger.store import BlockStore
from consortia.ledger.types import Block, BlockHeader, QuorumCert, block_id
from consortia.state import StateTree
from consortia.state.errors import VersionNotFound


def test_state_versions_older_than_the_retention_are_pruned(tmp_path: Path) -> None:
    genesis = genesis_for(policy=ChainPolicy(retention_blocks=MIN_RETENTION_BLOCKS))
    hash_fn = get_suite(genesis.suite).hash
    env = lmdb.open(str(tmp_path / "ledger"), max_dbs=32, map_size=1 << 30, sync=False)
    store, tree, runtime = BlockStore(env), StateTree(env, hash_fn), default_runtime()
    parent, parent_id = install_genesis(env, store, tree, genesis, runtime)
    top = MIN_RETENTION_BLOCKS + 2 * PRUNE_EVERY
    empty = merkle_root(hash_fn, [])
    for height in range(1, top + 1):
        header = BlockHeader(
            chain_id=genesis.chain_id,
            epoch=0,
            round=height,
            height=height,
            parent_id=parent_id,
            proposer=0,
            timestamp_ms=genesis.timestamp_ms + height,
            tx_root=empty,
            tx_count=0,
            state_height=height - 1,
            state_root=parent.header.state_root,
            receipts_root=empty,
            justify=parent.header.justify,
        )
        bid = block_id(hash_fn, header)
        qc = QuorumCert(
            epoch=0, round=height, height=height, block_id=bid, signers=(), signatures=()
        )
        parent, parent_id = Block(header=header, transactions=(), signature=b""), bid
        apply_block(env, store, tree, runtime, hash_fn, CommittedBlock(parent, bid, qc))
    try:
        with env.begin() as txn:
            assert tree.oldest_version(txn) == top - MIN_RETENTION_BLOCKS
            assert tree.get(txn, VALIDATORS_KEY, top - MIN_RETENTION_BLOCKS) is not None
            with pytest.raises(VersionNotFound):
                tree.get(txn, VALIDATORS_KEY, top - MIN_RETENTION_BLOCKS - 1)
            assert store.block_by_height(txn, 1).header.height == 1  # blocks are kept
            assert store.certificate(txn, 1) is not None
    finally:
        env.close()
