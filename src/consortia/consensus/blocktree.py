"""The tree of blocks above the last committed one, and the two-chain commit rule.

[CONS-COMMIT.1] (Jolteon §3): block B is committed when B and its child C are
both certified and ``C.round == B.round + 1``. Committing B commits its
ancestors too. The tree keeps only descendants of the committed root.
"""

from __future__ import annotations

from dataclasses import dataclass

from consortia.consensus.errors import InvalidProposal
from consortia.consensus.types import TimeoutCert
from consortia.ledger.types import Block, CommitProof, QuorumCert


@dataclass(frozen=True, slots=True)
class CommittedBlock:
    """A newly committed block with the QC that certifies it."""

    block: Block
    block_id: bytes
    certificate: QuorumCert
    commit_proof: CommitProof | None = None
    """On the last block of a commit only: the certified child that committed it."""


class BlockTree:
    """Pending blocks, the committed root and the highest certificates seen."""

    def __init__(self, root: Block, root_id: bytes, root_qc: QuorumCert) -> None:
        self._blocks: dict[bytes, Block] = {root_id: root}
        self.root_id = root_id
        self.highest_qc = root_qc
        """Highest-round QC known (certifies a block in the tree)."""
        self.highest_tc: TimeoutCert | None = None

    @property
    def root(self) -> Block:
        """The last committed block."""
        return self._blocks[self.root_id]

    def get(self, block_id: bytes) -> Block | None:
        """A pending block (or the root) by id."""
        return self._blocks.get(block_id)

    def __contains__(self, block_id: bytes) -> bool:
        return block_id in self._blocks

    def __len__(self) -> int:
        return len(self._blocks)

    def highest_certified(self) -> Block:
        """The block certified by the highest QC: the parent of the next proposal."""
        return self._blocks[self.highest_qc.block_id]

    def insert_block(self, block: Block, block_id: bytes) -> None:
        """Add a verified block whose parent is in the tree.

        Raises:
            InvalidProposal: the parent is unknown or heights/rounds do not follow.
        """
        if block_id in self._blocks:
            return
        header = block.header
        parent = self._blocks.get(header.parent_id)
        if parent is None:
            raise InvalidProposal(f"parent {header.parent_id.hex()[:16]} of block is not known")
        # Rounds restart with each epoch: only within one epoch must they rise.
        same_epoch = header.epoch == parent.header.epoch
        if header.height != parent.header.height + 1 or (
            same_epoch and header.round <= parent.header.round
        ):
            raise InvalidProposal(
                f"block height {header.height} / round {header.round} does not follow parent "
                f"height {parent.header.height} / round {parent.header.round}"
            )
        self._blocks[block_id] = block

    def insert_tc(self, tc: TimeoutCert) -> None:
        """Remember a verified TC if it is the highest."""
        if self.highest_tc is None or tc.round > self.highest_tc.round:
            self.highest_tc = tc

    def insert_qc(self, qc: QuorumCert) -> list[CommittedBlock]:
        """Record a verified QC for a block in the tree; return blocks it commits, in order."""
        certified = self._blocks.get(qc.block_id)
        if certified is None:
            raise InvalidProposal(f"QC certifies unknown block {qc.block_id.hex()[:16]}")
        if qc.round > self.highest_qc.round:
            self.highest_qc = qc
        header = certified.header
        if header.height == 0 or header.round != header.justify.round + 1:
            return []
        target_id = header.parent_id
        target = self._blocks.get(target_id)
        if target is None or target.header.height <= self.root.header.height:
            return []
        return self._commit(target_id, header.justify, CommitProof(headers=(header,), qc=qc))

    def commit_with_proof(self, target_id: bytes, proof: CommitProof) -> list[CommittedBlock]:
        """Commit a pending block on a verified :class:`CommitProof` of descendants
        this tree may never see (they belong to an epoch being left)."""
        if target_id not in self._blocks or target_id == self.root_id:
            raise InvalidProposal(f"commit proof for unknown block {target_id.hex()[:16]}")
        return self._commit(target_id, proof.headers[0].justify, proof)

    def _commit(
        self, target_id: bytes, target_qc: QuorumCert, proof: CommitProof
    ) -> list[CommittedBlock]:
        path: list[CommittedBlock] = []
        block_id, certificate = target_id, target_qc
        while block_id != self.root_id:
            block = self._blocks[block_id]
            path.append(
                CommittedBlock(
                    block=block,
                    block_id=block_id,
                    certificate=certificate,
                    commit_proof=proof if block_id == target_id else None,
                )
            )
            certificate = block.header.justify
            block_id = block.header.parent_id
        path.reverse()
        self.root_id = target_id
        self._prune()
        return path

    def _prune(self) -> None:
        root_height = self.root.header.height
        keep: set[bytes] = {self.root_id}
        for block_id, block in sorted(self._blocks.items(), key=lambda kv: kv[1].header.height):
            if block.header.height > root_height and block.header.parent_id in keep:
                keep.add(block_id)
        self._blocks = {k: v for k, v in self._blocks.items() if k in keep}

    def pending_ids(self) -> list[bytes]:
        """Ids of uncommitted blocks still in the tree."""
        return [k for k in self._blocks if k != self.root_id]
