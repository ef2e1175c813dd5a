"""Where a running node's epoch ends ([CONS-EPOCH.1] and [CONS-EPOCH.2]).

The first committed block of epoch e that carries ``next_validators`` ends
epoch e. Blocks committed after it in epoch e only ever existed to commit it
(they are empty by [CONS-EPOCH.1]) and are dropped, so every node's ledger
goes from that block straight to the first block of epoch e + 1. The
epoch-ending block is executed with its :class:`CommitProof`: the chain of
certified descendants that committed it, which a lagging node or the
verifier checks with epoch e's set before trusting epoch e + 1's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import lmdb

from consortia.consensus.blocktree import BlockTree, CommittedBlock
from consortia.consensus.core import (
    BlockBuilder,
    Commit,
    ConsensusCore,
    Equivocation,
    ProposalValidator,
)
from consortia.consensus.pacemaker import PacemakerConfig
from consortia.consensus.safety import SafetyRules
from consortia.consensus.storage import ConsensusStorage
from consortia.consensus.validators import Committee
from consortia.crypto import PrivateKey
from consortia.ledger.store import BlockStore
from consortia.ledger.types import CommitProof, Hasher, epoch_root_qc


def cut_at_epoch_end(
    blocks: Sequence[CommittedBlock], epoch: int
) -> tuple[list[CommittedBlock], bool]:
    """The blocks of one commit up to the end of ``epoch``, and whether it ended.

    The epoch-ending block gets its own commit proof: the headers of the
    later blocks of this commit followed by the commit's own proof.
    """
    for i, committed in enumerate(blocks):
        header = committed.block.header
        if header.epoch != epoch or header.next_validators is None:
            continue
        final = blocks[-1].commit_proof
        assert final is not None, "the last block of a commit carries its proof"
        later = tuple(c.block.header for c in blocks[i + 1 :])
        proof = CommitProof(headers=later + final.headers, qc=final.qc)
        return [*blocks[:i], dataclasses.replace(committed, commit_proof=proof)], True
    return list(blocks), False


class EpochGate:
    """Passes committed blocks to execution up to the end of the running epoch.

    The driver's commit callback: after the epoch-ending block (cut with its
    commit proof by :func:`cut_at_epoch_end`) it drops further commits of the
    epoch until :meth:`enter` starts the next one ([CONS-EPOCH.1]).
    """

    def __init__(self, submit: Callable[[Sequence[CommittedBlock]], None], epoch: int) -> None:
        self._submit = submit
        self.epoch = epoch
        """The epoch whose blocks pass."""
        self.ended = False
        """The epoch's last block has passed; later commits of it are dropped."""

    def __call__(self, commit: Commit) -> None:
        """Submit ``commit``'s blocks of the running epoch, up to its end."""
        if self.ended:
            return
        blocks, self.ended = cut_at_epoch_end(commit.blocks, self.epoch)
        self._submit(blocks)

    def enter(self, epoch: int) -> None:
        """The next epoch's core runs: pass its blocks from now on."""
        self.epoch = epoch
        self.ended = False


@dataclass(frozen=True)
class CoreFactory:
    """Builds the consensus core of the epoch in force at the ledger's tip.

    Called at start and after each epoch-ending block is executed: the core's
    committee is that epoch's set, its root the tip, and this node votes only
    if its key is in the set ([CONS-EPOCH.1]).
    """

    env: lmdb.Environment
    store: BlockStore
    chain_id: str
    hash_fn: Hasher
    key: PrivateKey
    storage: ConsensusStorage
    checker: ProposalValidator
    new_proposer: Callable[[int, int, BlockTree], BlockBuilder]
    """(epoch, validator index, tree) -> the block builder for our proposals."""
    pacemaker: PacemakerConfig

    def core_for_tip(self, evidence: Sequence[Equivocation] = ()) -> ConsensusCore:
        """A fresh core for the current epoch, rooted at the latest executed block,
        holding ``evidence`` (the equivocations the previous epoch's core saw)."""
        with self.env.begin() as txn:
            height = self.store.latest_height(txn)
            assert height is not None
            root_block = self.store.block_by_height(txn, height)
            root_id = self.store.block_id_at(txn, height)
            start = self.store.latest_epoch(txn)
            stored_qc = self.store.certificate(txn, height)
            genesis_id = self.store.block_id_at(txn, 0)
        if start.root_height == height:
            root_qc = epoch_root_qc(start.epoch, height, root_id)
        else:
            assert stored_qc is not None, "every committed block is stored with its certificate"
            root_qc = stored_qc
        committee = Committee(
            self.chain_id, start.validators, genesis_id, root=(start.root_height, start.root_id)
        )
        me = committee.index_of(self.key.public_key().to_bytes())
        safety = None
        if me is not None:
            safety = SafetyRules(
                self.storage, self.key.sign, chain_id=self.chain_id, author=me, epoch=start.epoch
            )
        tree = BlockTree(root_block, root_id, root_qc)
        return ConsensusCore(
            committee=committee,
            tree=tree,
            hash_fn=self.hash_fn,
            me=me,
            safety=safety,
            builder=self.new_proposer(start.epoch, me if me is not None else 0, tree),
            validator=self.checker,
            store=self.storage,
            pacemaker=self.pacemaker,
            evidence=evidence,
        )
