"""The block tree and the two-chain commit rule [CONS-COMMIT.1] (consensus/blocktree.py).

Trees are drawn as ``b<round>``; ``QC(bx)`` is the certificate a block carries.
"""

from __future__ import annotations

import msgspec
import pytest
from tests.consensus.support import HASH, Chain, make_chain, make_qc, signed_block, unsigned_block

from consortia.consensus.blocktree import BlockTree
from consortia.consensus.errors import InvalidProposal
from consortia.ledger.types import Block, QuorumCert, block_id, epoch_root_qc

CHAIN = make_chain(4)


def tree_of(chain: Chain = CHAIN) -> BlockTree:
    return BlockTree(chain.genesis, chain.genesis_id, chain.genesis_qc)


def qc_of(block: Block, bid: bytes) -> QuorumCert:
    return make_qc(CHAIN, block, bid, [0, 1, 2])


def grow(
    tree: BlockTree, parent: tuple[Block, bytes], round_: int, tag: bytes = b""
) -> tuple[Block, bytes]:
    """Insert a block of ``round_`` on ``parent`` carrying QC(parent)."""
    block, bid = parent
    justify = CHAIN.genesis_qc if block.header.round == 0 else qc_of(block, bid)
    child = signed_block(CHAIN, block, bid, round_, justify, payload=tag)
    tree.insert_block(*child)
    if block.header.round:
        tree.insert_qc(justify)
    return child


def test_cons_commit_1_consecutive_rounds_commit_the_parent() -> None:
    # genesis ── b1 ── b2 ── b3      QC(b2) (in b3) with b2.round == b1.round + 1 commits b1
    tree = tree_of()
    genesis = (CHAIN.genesis, CHAIN.genesis_id)
    b1 = grow(tree, genesis, 1)
    b2 = grow(tree, b1, 2)
    committed = tree.insert_qc(qc_of(*b2))
    assert [c.block_id for c in committed] == [b1[1]]
    assert committed[0].certificate == b2[0].header.justify  # QC(b1) certifies b1
    assert tree.root_id == b1[1]


def test_cons_commit_1_non_consecutive_rounds_do_not_commit() -> None:
    # genesis ── b1 ── b3 (round 2 timed out)     QC(b3): 3 != 1 + 1, nothing commits
    tree = tree_of()
    b1 = grow(tree, (CHAIN.genesis, CHAIN.genesis_id), 1)
    b3 = grow(tree, b1, 3)
    assert tree.insert_qc(qc_of(*b3)) == []
    assert tree.root_id == CHAIN.genesis_id
    # ... until b3 gets a certified child in the next round: b3 ── b4, QC(b4) commits b1, b3
    b4 = grow(tree, b3, 4)
    qc4 = qc_of(*b4)
    committed = tree.insert_qc(qc4)
    assert [c.block_id for c in committed] == [b1[1], b3[1]]
    assert [c.certificate.block_id for c in committed] == [b1[1], b3[1]]
    heights = [c.block.header.height for c in committed]
    assert heights == sorted(heights)


def test_commit_prunes_forks() -> None:
    # genesis ── b1 ── b2 ── b3
    #             └─── b4' (fork on b1, never certified)
    tree = tree_of()
    b1 = grow(tree, (CHAIN.genesis, CHAIN.genesis_id), 1)
    b2 = grow(tree, b1, 2)
    fork = signed_block(CHAIN, b1[0], b1[1], 4, qc_of(*b1), payload=b"fork")
    tree.insert_block(*fork)
    b3 = grow(tree, b2, 3)  # inserting QC(b2) commits b1; the fork on b1 survives
    assert tree.root_id == b1[1]
    assert fork[1] in tree
    committed = tree.insert_qc(qc_of(*b3))  # commits b2: the fork is pruned
    assert [c.block_id for c in committed] == [b2[1]]
    assert fork[1] not in tree
    assert set(tree.pending_ids()) == {b3[1]}
    assert tree.root_id == b2[1]


def test_unknown_parent_and_bad_heights_are_refused() -> None:
    tree = tree_of()
    other = make_chain(4)
    b1 = signed_block(CHAIN, CHAIN.genesis, CHAIN.genesis_id, 1, CHAIN.genesis_qc)
    orphan = signed_block(CHAIN, b1[0], b1[1], 2, qc_of(*b1))
    with pytest.raises(InvalidProposal):
        tree.insert_block(*orphan)
    tree.insert_block(*b1)
    # A QC on an unknown block is refused too.
    with pytest.raises(InvalidProposal):
        tree.insert_qc(qc_of(*orphan))
    # A child whose round does not exceed its parent's.
    same_round = signed_block(CHAIN, b1[0], b1[1], 1, qc_of(*b1), payload=b"x")
    with pytest.raises(InvalidProposal):
        tree.insert_block(*same_round)
    assert other.genesis_id == CHAIN.genesis_id
    assert len(tree) == 2


def test_highest_certificates() -> None:
    tree = tree_of()
    b1 = grow(tree, (CHAIN.genesis, CHAIN.genesis_id), 1)
    b2 = grow(tree, b1, 2)
    assert tree.highest_certified() == b1[0]
    tree.insert_qc(qc_of(*b2))
    assert tree.highest_qc.round == 2
    tree.insert_qc(qc_of(*b1))  # lower QC never lowers the highest
    assert tree.highest_qc.round == 2


def test_commit_carries_the_proof_of_its_last_block() -> None:
    # genesis ── b1 ── b3 ── b4      QC(b4) commits b1 and b3: the proof of b3 is b4's
    # header and QC(b4), which certifies b3's consecutive-round child.
    tree = tree_of()
    b1 = grow(tree, (CHAIN.genesis, CHAIN.genesis_id), 1)
    b3 = grow(tree, b1, 3)
    b4 = grow(tree, b3, 4)
    qc4 = qc_of(*b4)
    committed = tree.insert_qc(qc4)
    assert [c.block_id for c in committed] == [b1[1], b3[1]]
    assert committed[0].commit_proof is None
    proof = committed[-1].commit_proof
    assert proof is not None and proof.headers == (b4[0].header,)
    assert proof.qc == qc4
    CHAIN.fresh_committee().verify_commit_proof(b3[1], proof, HASH)


def test_commit_with_a_proof_of_descendants_the_tree_never_saw() -> None:
    proving = tree_of()
    b1 = grow(proving, (CHAIN.genesis, CHAIN.genesis_id), 1)
    b2 = grow(proving, b1, 2)
    proof = proving.insert_qc(qc_of(*b2))[-1].commit_proof
    assert proof is not None
    lagging = tree_of()
    lagging.insert_block(*b1)
    committed = lagging.commit_with_proof(b1[1], proof)
    assert [c.block_id for c in committed] == [b1[1]] and lagging.root_id == b1[1]
    with pytest.raises(InvalidProposal):
        lagging.commit_with_proof(b1[1], proof)  # the root is no longer pending


def test_rounds_restart_in_a_new_epoch() -> None:
    # The root of epoch 2 ended epoch 1 at round 7; epoch 2 starts again at round 1.
    b7 = signed_block(CHAIN, CHAIN.genesis, CHAIN.genesis_id, 7, CHAIN.genesis_qc)
    tree = BlockTree(b7[0], b7[1], epoch_root_qc(2, 1, b7[1]))
    child = unsigned_block(b7[0], b7[1], 1, epoch_root_qc(2, 1, b7[1]), 1)
    child = msgspec.structs.replace(child, header=msgspec.structs.replace(child.header, epoch=2))
    tree.insert_block(child, block_id(HASH, child.header))
    same_epoch = unsigned_block(b7[0], b7[1], 1, qc_of(*b7), 1, payload=b"old")
    with pytest.raises(InvalidProposal, match="does not follow"):
        tree.insert_block(same_epoch, block_id(HASH, same_epoch.header))
