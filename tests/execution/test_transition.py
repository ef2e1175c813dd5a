"""The block transition shared by the node and the verifier ([EXEC-TRANSITION.1]).

``consortia.execution.transition`` installs a genesis and applies committed
blocks over a real LMDB block store and state tree; these tests check what it
records (block, certificate, epoch, receipts, execution roots) and that a
block that fails leaves the store as it was.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import lmdb
import pytest
from tests.execution.chain import genesis_for, key, make_tx, open_env

from consortia import genesis as genesis_module
from consortia.consensus.blocktree import CommittedBlock
from consortia.crypto import KeyType, get_suite
from consortia.execution import transition
from consortia.execution.policy import ChainPolicy
from consortia.genesis import (
    Genesis,
    InvalidGenesis,
    assemble_genesis_block,
    build_genesis,
    default_runtime,
    genesis_state,
)
from consortia.ledger.merkle import merkle_root
from consortia.ledger.store import BlockStore
from consortia.ledger.types import (
    Block,
    BlockHeader,
    QuorumCert,
    Transaction,
    block_id,
    epoch_root_qc,
    receipt_leaf,
    tx_leaf,
)
from consortia.modules.assets.types import Transfer
from consortia.node import execution_service, snapshot
from consortia.state import StateTree
from consortia.verify import verifier


class Ledger:
    """A fresh block store and state tree in one LMDB environment."""

    def __init__(self, path: Path, genesis: Genesis) -> None:
        self.env = open_env(path)
        self.hash = get_suite(genesis.suite).hash
        self.store, self.tree = BlockStore(self.env), StateTree(self.env, self.hash)
        self.genesis = genesis
        self.runtime = default_runtime()

    def install(self) -> tuple[Block, bytes]:
        return transition.install_genesis(
            self.env,
            self.store,
            self.tree,
            validators=self.genesis.validators,
            writes=lambda txn: genesis_state(self.genesis, self.runtime, self.tree, txn),
            assemble=partial(assemble_genesis_block, self.genesis),
        )

    def committed(
        self,
        parent: Block,
        parent_id: bytes,
        transactions: tuple[Transaction, ...] = (),
        **header: object,
    ) -> CommittedBlock:
        """The next block, certified by an (unsigned) QC: the transition checks no signatures."""
        with self.env.begin() as txn:
            roots = transition.read_roots(self.store, txn, parent.header.height)
        assert roots is not None
        height = parent.header.height + 1
        fields: dict[str, object] = {
            "chain_id": self.genesis.chain_id,
            "epoch": 0,
            "round": height,
            "height": height,
            "parent_id": parent_id,
            "proposer": 0,
            "timestamp_ms": parent.header.timestamp_ms + 1000,
            "tx_root": merkle_root(self.hash, [tx_leaf(self.hash, tx) for tx in transactions]),
            "tx_count": len(transactions),
            "state_height": height - 1,
            "state_root": roots.state_root,
            "receipts_root": roots.receipts_root,
            "justify": epoch_root_qc(0, 0, parent_id),
        }
        fields.update(header)
        head = BlockHeader(**fields)  # type: ignore[arg-type]
        bid = block_id(self.hash, head)
        qc = QuorumCert(
            epoch=0, round=head.round, height=height, block_id=bid, signers=(), signatures=()
        )
        return CommittedBlock(Block(head, transactions, b""), bid, qc)

    def apply(self, committed: CommittedBlock) -> transition.Executed:
        return transition.apply_block(
            self.env, self.store, self.tree, self.runtime, self.hash, committed
        )


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger", genesis_for([key(KeyType.SM2, 1)]))


def test_node_and_verifier_run_the_same_transition() -> None:
    """Node and verifier apply blocks with the transition's own function and install a
    genesis through the one binding in ``consortia.genesis``."""
    assert execution_service.apply_block is transition.apply_block  # type: ignore[attr-defined]
    assert verifier.apply_block is transition.apply_block  # type: ignore[attr-defined]
    assert verifier.install_genesis is genesis_module.install_genesis  # type: ignore[attr-defined]
    assert snapshot.install_genesis is genesis_module.install_genesis  # type: ignore[attr-defined]


def test_install_genesis_records_block_certificate_epoch_and_roots(
    ledger: Ledger, tmp_path: Path
) -> None:
    block, bid = ledger.install()
    other = lmdb.open(str(tmp_path / "one-txn"), max_dbs=16, map_size=1 << 28)
    other_tree = StateTree(other, ledger.hash)
    with other.begin(write=True) as txn:
        _, expected_id = build_genesis(ledger.genesis, default_runtime(), other_tree, txn)
    assert bid == expected_id == block_id(ledger.hash, block.header)
    with ledger.env.begin() as txn:
        assert ledger.store.latest_height(txn) == 0
        assert ledger.store.block_id_at(txn, 0) == bid
        assert ledger.store.certificate(txn, 0) == epoch_root_qc(0, 0, bid)
        start = ledger.store.epoch(txn, 0)
        assert start is not None and start.validators == ledger.genesis.validators
        assert start.root_id == bid
        roots = transition.read_roots(ledger.store, txn, 0)
        assert roots == transition.ExecutionRoots(
            state_root=block.header.state_root, receipts_root=block.header.receipts_root
        )
        assert transition.read_certifying_height(ledger.store, txn, 0) == 0


def test_a_refused_genesis_writes_nothing(tmp_path: Path) -> None:
    bad = genesis_for(policy=ChainPolicy(block_gas_limit=0))
    ledger = Ledger(tmp_path / "ledger", bad)
    with pytest.raises(InvalidGenesis, match="policy"):
        ledger.install()
    with ledger.env.begin() as txn:
        assert ledger.store.latest_height(txn) is None
        assert transition.read_roots(ledger.store, txn, 0) is None


def test_apply_block_executes_and_records_the_roots(ledger: Ledger) -> None:
    genesis, gid = ledger.install()
    sender = key(KeyType.SM2, 1)
    tx = make_tx(
        sender, 0, "assets", "transfer", Transfer(symbol="NONE", to=b"\x01" * 20, amount=1)
    )
    committed = ledger.committed(genesis, gid, (tx,))
    executed = ledger.apply(committed)
    assert len(executed.receipts) == 1
    with ledger.env.begin() as txn:
        assert ledger.store.latest_height(txn) == 1
        assert ledger.store.certificate(txn, 1) == committed.certificate
        assert ledger.store.receipts(txn, 1) == list(executed.receipts)
        roots = transition.read_roots(ledger.store, txn, 1)
        # block 1 names state 0 too, but the genesis block certified it first
        assert transition.read_certifying_height(ledger.store, txn, 0) == 0
        assert transition.read_certifying_height(ledger.store, txn, 1) is None
    leaves = [receipt_leaf(ledger.hash, r) for r in executed.receipts]
    assert roots == transition.ExecutionRoots(
        state_root=executed.state_root, receipts_root=merkle_root(ledger.hash, leaves)
    )
    with ledger.env.begin() as txn:
        assert executed.state_root == ledger.tree.root(txn, 1)


def test_a_block_that_fails_midway_leaves_the_store_as_it_was(ledger: Ledger) -> None:
    """An epoch-ending block without its commit proof fails after its block is appended."""
    genesis, gid = ledger.install()
    ending = ledger.committed(genesis, gid, next_validators=ledger.genesis.validators)
    with pytest.raises(AssertionError, match="commit proof"):
        ledger.apply(ending)
    with ledger.env.begin() as txn:
        assert ledger.store.latest_height(txn) == 0
        assert ledger.store.certificate(txn, 1) is None
        assert transition.read_roots(ledger.store, txn, 1) is None
    ledger.apply(ledger.committed(genesis, gid))  # the same height applies cleanly after
    with ledger.env.begin() as txn:
        assert ledger.store.latest_height(txn) == 1
