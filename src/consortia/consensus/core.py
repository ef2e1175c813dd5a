"""The Jolteon round manager: a synchronous, deterministic consensus state machine.

The node feeds it events (proposal, vote, timeout message, local timeout,
"payload ready") and carries out the returned :data:`Action` list (send,
broadcast, commit, schedule a timer). It reads no clock and does no network
I/O, so Twins-style tests drive many cores over a simulated network.

Flow of a round r (Jolteon §3, docs/consensus.md [CONS-ROUND.1]):
the leader of r proposes a block extending its highest QC (with the TC of
r - 1 if it entered r by timeout); validators vote and send the vote to the
leader of r + 1, who forms the QC and proposes in r + 1. A round without
progress times out; timeouts of quorum weight form a TC that opens r + 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from consortia.consensus.blocktree import BlockTree, CommittedBlock
from consortia.consensus.errors import (
    ConsensusError,
    InvalidProposal,
    InvalidVote,
)
from consortia.consensus.pacemaker import Pacemaker, PacemakerConfig
from consortia.consensus.safety import SafetyRules
from consortia.consensus.types import (
    Proposal,
    TimeoutCert,
    TimeoutMsg,
    Vote,
    timeout_signing_bytes,
)
from consortia.consensus.validators import Committee
from consortia.ledger.types import (
    Block,
    CommitProof,
    Hasher,
    QuorumCert,
    block_id,
    proposal_signing_bytes,
    vote_signing_bytes,
)


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send a proposal or timeout to every other validator."""

    message: Proposal | TimeoutMsg


@dataclass(frozen=True, slots=True)
class SendVote:
    """Send a vote to the validator with index ``to`` (the next leader)."""

    to: int
    vote: Vote


@dataclass(frozen=True, slots=True)
class Commit:
    """Blocks newly committed, in height order, each with its certifying QC."""

    blocks: tuple[CommittedBlock, ...]


@dataclass(frozen=True, slots=True)
class ScheduleTimeout:
    """Call :meth:`ConsensusCore.on_local_timeout` for ``round`` after ``delay_s``."""

    round: int
    delay_s: float


@dataclass(frozen=True, slots=True)
class NeedBlock:
    """A certified block is missing locally: fetch it (and ancestors) from ``peer``."""

    peer: int
    qc: QuorumCert


Action = Broadcast | SendVote | Commit | ScheduleTimeout | NeedBlock


class EquivocationKind(StrEnum):
    """Which kind of message a validator signed twice in one round.

    A ``StrEnum``: the values are the strings ``GET /v1/evidence`` has always
    shown, so rendering is unchanged.
    """

    PROPOSAL = "proposal"
    """Two different blocks proposed by the round's leader."""
    VOTE = "vote"
    """Votes for two different blocks."""


@dataclass(frozen=True, slots=True)
class Equivocation:
    """Evidence that one validator signed two conflicting messages in one round."""

    kind: EquivocationKind
    """Which message was signed twice."""
    round: int
    author: int
    first: bytes
    """Block id of the first message."""
    second: bytes


class BlockBuilder(Protocol):
    """Supplies the payload of our proposals (mempool, clock, state root)."""

    def build(
        self, parent: Block, parent_id: bytes, round_: int, justify: QuorumCert
    ) -> Block | None:
        """An unsigned block extending ``parent`` for ``round_``, or None to wait."""
        ...


class ProposalValidator(Protocol):
    """Checks a proposal's payload and execution fields before we vote."""

    def validate(self, block: Block, parent: Block, *, certified: bool = False) -> None:
        """Raise :class:`InvalidProposal` if the block must not be voted for.

        ``certified`` blocks arrive by sync with a QC of quorum weight: only their
        integrity (payload against header) is checked, not our vote conditions.
        """
        ...


class PendingStore(Protocol):
    """Durable home of pending blocks and certificates (see ``storage.py``)."""

    def save_block(self, block_id: bytes, block: Block, qc: QuorumCert) -> None: ...
    def save_highest_qc(self, qc: QuorumCert) -> None: ...
    def save_highest_tc(self, tc: TimeoutCert) -> None: ...


@dataclass
class _VoteTally:
    signatures: dict[int, bytes] = field(default_factory=dict)
    weight: int = 0


MAX_EVIDENCE = 1024
ROUND_WINDOW = 64
"""Messages further than this ahead of the current round are dropped (memory bound)."""


class ConsensusCore:
    """One validator's (or observer's) consensus state machine."""

    def __init__(
        self,
        *,
        committee: Committee,
        tree: BlockTree,
        hash_fn: Hasher,
        me: int | None,
        safety: SafetyRules | None,
        builder: BlockBuilder,
        validator: ProposalValidator,
        store: PendingStore,
        pacemaker: PacemakerConfig | None = None,
        evidence: Sequence[Equivocation] = (),
    ) -> None:
        self.committee = committee
        self.tree = tree
        self._hash = hash_fn
        self.me = me
        self._safety = safety
        self._builder = builder
        self._validator = validator
        self._store = store
        self.pacemaker = Pacemaker(pacemaker or PacemakerConfig())
        self._votes: dict[tuple[int, bytes], _VoteTally] = {}
        self._vote_seen: dict[tuple[int, int], bytes] = {}
        self._timeouts: dict[int, dict[int, TimeoutMsg]] = {}
        self._proposed: set[int] = set()
        self._proposals_seen: dict[tuple[int, int], bytes] = {}
        self._early: dict[int, tuple[Proposal, bytes]] = {}
        """Verified proposals that arrived before their round or parent, by round."""
        self.refused_early = 0
        """Early proposals refused when their turn came (their check failed then)."""
        self.evidence: list[Equivocation] = list(evidence)
        """Equivocations seen (a new epoch's core starts with the previous core's)."""
        self.last_proposal_round = 0

    # ------------------------------------------------------------------ rounds

    @property
    def current_round(self) -> int:
        """The round this validator is in."""
        return self.pacemaker.current_round

    def start(self) -> list[Action]:
        """Enter the round after the highest certificate; propose if we lead it."""
        tc_round = self.tree.highest_tc.round if self.tree.highest_tc else 0
        if self._safety is not None:
            # Never re-enter a round we already voted or timed out in.
            tc_round = max(tc_round, self._safety.data.last_voted_round - 1)
        self.pacemaker.advance(self.tree.highest_qc.round, tc_round)
        return self._enter_round()

    def _enter_round(self) -> list[Action]:
        actions: list[Action] = [
            ScheduleTimeout(self.current_round, self.pacemaker.timeout_duration())
        ]
        self._gc()
        actions += self.try_propose()
        return actions

    def _advance(self) -> list[Action]:
        tc = self.tree.highest_tc
        if self.pacemaker.advance(self.tree.highest_qc.round, tc.round if tc else 0):
            return self._enter_round()
        return []

    def _gc(self) -> None:
        floor = self.current_round - 2
        self._votes = {k: v for k, v in self._votes.items() if k[0] >= floor}
        self._vote_seen = {k: v for k, v in self._vote_seen.items() if k[0] >= floor}
        self._timeouts = {r: v for r, v in self._timeouts.items() if r >= floor}
        self._proposals_seen = {k: v for k, v in self._proposals_seen.items() if k[0] >= floor}
        self._early = {r: p for r, p in self._early.items() if r >= self.current_round}
        self._proposed = {r for r in self._proposed if r >= floor}

    def is_leader(self, round_: int) -> bool:
        """True if this validator leads ``round_``."""
        return self.me is not None and self.committee.leader(round_) == self.me

    # --------------------------------------------------------------- proposing

    def try_propose(self) -> list[Action]:
        """Propose for the current round if we lead it, have not yet, and have a payload."""
        round_ = self.current_round
        if not self.is_leader(round_) or round_ in self._proposed or self._safety is None:
            return []
        if round_ <= self._safety.data.last_voted_round:
            return []
        parent = self.tree.highest_certified()
        qc = self.tree.highest_qc
        tc = self.tree.highest_tc
        use_tc = (
            tc if (tc is not None and tc.round == round_ - 1 and qc.round != round_ - 1) else None
        )
        unsigned = self._builder.build(parent, qc.block_id, round_, qc)
        if unsigned is None:
            return []
        header = unsigned.header
        bid = block_id(self._hash, header)
        signature = self._safety.sign_proposal(header, bid)
        block = Block(header=header, transactions=unsigned.transactions, signature=signature)
        self._proposed.add(round_)
        self.last_proposal_round = round_
        proposal = Proposal(block=block, tc=use_tc)
        return [Broadcast(proposal), *self._accept_proposal(proposal, bid, own=True)]

    # --------------------------------------------------------------- proposals

    def process_certificates(self, proposal: Proposal) -> list[Action]:
        """Verify and apply the QC (and TC) a proposal carries; may commit and advance.

        Raises:
            ConsensusError: a certificate is invalid.
        """
        header = proposal.block.header
        self.committee.verify_qc(header.justify)
        actions: list[Action] = []
        if proposal.tc is not None:
            self.committee.verify_tc(proposal.tc)
            actions += self._process_tc(proposal.tc)
        if header.justify.block_id not in self.tree:
            if header.justify.round > self.tree.highest_qc.round:
                actions.append(NeedBlock(peer=header.proposer, qc=header.justify))
            return actions
        actions += self._process_qc(header.justify)
        return actions

    def on_proposal(self, proposal: Proposal) -> list[Action]:
        """Handle a leader's proposal: verify, apply its certificates, vote if safe.

        Raises:
            ConsensusError: the proposal is invalid (the caller logs and drops it).
        """
        block = proposal.block
        header = block.header
        if header.epoch != self.committee.epoch:
            raise InvalidProposal(
                f"proposal for epoch {header.epoch}, current {self.committee.epoch}"
            )
        if header.chain_id != self.committee.chain_id:
            raise InvalidProposal(f"proposal for chain {header.chain_id!r}")
        if header.proposer != self.committee.leader(header.round):
            raise InvalidProposal(
                f"validator {header.proposer} is not the leader of round {header.round}"
            )
        bid = block_id(self._hash, header)
        key = self.committee.public_keys[header.proposer]
        if not key.verify(proposal_signing_bytes(bid), block.signature):
            raise InvalidProposal(f"bad proposer signature on round {header.round} block")
        seen = self._proposals_seen.setdefault((header.round, header.proposer), bid)
        if seen != bid:
            self._record(
                Equivocation(EquivocationKind.PROPOSAL, header.round, header.proposer, seen, bid)
            )
            return []
        if header.parent_id != header.justify.block_id:
            raise InvalidProposal("block does not extend the block its QC certifies")
        if header.round > self.current_round + ROUND_WINDOW:
            raise InvalidProposal(f"round {header.round} is far ahead of {self.current_round}")
        actions = self._handle_proposal(proposal, bid)
        return actions + self._replay_early()

    def _handle_proposal(self, proposal: Proposal, bid: bytes) -> list[Action]:
        """Apply a verified proposal's certificates, then vote, or keep it for later.

        A proposal can overtake its parent's (they come from different leaders over
        different links): its QC then certifies a block this node lacks, so the QC
        cannot move it to the proposal's round yet. Dropping it would leave the
        round without this vote and, with a quorum of such validators, time out;
        instead it waits in ``_early`` until the parent arrives (by its own proposal
        or by sync) ([CONS-ROUND.2]). Only a missing parent is worth waiting for:
        with the parent known, the certificates are applied, and a proposal they
        do not bring this node to (a leader skipping rounds without a TC) never
        becomes one it could vote for.
        """
        header = proposal.block.header
        actions = self.process_certificates(proposal)
        try:
            if header.round < self.current_round:
                return actions
            if header.parent_id not in self.tree:
                self._early.setdefault(header.round, (proposal, bid))
                return actions
            if header.round > self.current_round:
                return actions
            return actions + self._accept_proposal(proposal, bid)
        except ConsensusError:
            # The certificates were valid and already applied (commits, a new round and
            # its timer): their actions must reach the node even if the block is refused.
            if actions:
                return actions
            raise

    def _replay_early(self) -> list[Action]:
        """Handle kept proposals whose parent is now known, lowest round first.

        Each one handled leaves ``_early`` for good (its parent is known, so it is
        not kept again), and handling it may bring the next one's parent or round.
        """
        actions: list[Action] = []
        while True:
            ready = [
                r
                for r, (proposal, _) in self._early.items()
                if proposal.block.header.parent_id in self.tree
            ]
            if not ready:
                return actions
            proposal, bid = self._early.pop(min(ready))
            try:
                actions += self._handle_proposal(proposal, bid)
            except ConsensusError:
                self.refused_early += 1

    def _accept_proposal(
        self, proposal: Proposal, bid: bytes, *, own: bool = False
    ) -> list[Action]:
        block = proposal.block
        parent = self.tree.get(block.header.parent_id)
        if parent is None:
            raise InvalidProposal("parent block unknown")
        if not own:
            self._validator.validate(block, parent)
        self.tree.insert_block(block, bid)
        self._store.save_block(bid, block, self.tree.highest_qc)
        if self._safety is None or self.me is None:
            return []
        vote = self._safety.construct_and_sign_vote(block.header, bid, proposal.tc)
        next_leader = self.committee.leader(block.header.round + 1)
        if next_leader == self.me:
            return self.on_vote(vote)
        return [SendVote(to=next_leader, vote=vote)]

    # ------------------------------------------------------------------- votes

    def on_vote(self, vote: Vote) -> list[Action]:
        """Collect a vote; on quorum weight form the QC, commit and advance.

        Raises:
            InvalidVote: bad author, epoch or signature.
        """
        data = vote.data
        if data.epoch != self.committee.epoch or data.chain_id != self.committee.chain_id:
            raise InvalidVote(f"vote for epoch {data.epoch} on chain {data.chain_id!r}")
        if vote.author >= self.committee.size:
            raise InvalidVote(f"vote from unknown validator index {vote.author}")
        if data.round + 1 < self.current_round or data.round > self.current_round + ROUND_WINDOW:
            return []
        first = self._vote_seen.get((data.round, vote.author))
        if first == data.block_id:
            return []
        key = self.committee.public_keys[vote.author]
        if not key.verify(vote_signing_bytes(data), vote.signature):
            raise InvalidVote(f"bad vote signature from validator {vote.author}")
        if first is not None:
            # Evidence only once the conflicting vote is proven to be the author's.
            self._record(
                Equivocation(EquivocationKind.VOTE, data.round, vote.author, first, data.block_id)
            )
            return []
        self._vote_seen[(data.round, vote.author)] = data.block_id
        tally = self._votes.setdefault((data.round, data.block_id), _VoteTally())
        tally.signatures[vote.author] = vote.signature
        tally.weight += self.committee.validator_set.validators[vote.author].weight
        if tally.weight < self.committee.quorum_weight or data.round < self.tree.highest_qc.round:
            return []
        if (
            data.round == self.tree.highest_qc.round
            and data.block_id == self.tree.highest_qc.block_id
        ):
            return []
        signers = tuple(sorted(tally.signatures))
        qc = QuorumCert(
            epoch=data.epoch,
            round=data.round,
            height=data.height,
            block_id=data.block_id,
            signers=signers,
            signatures=tuple(tally.signatures[i] for i in signers),
        )
        if data.block_id not in self.tree:
            return [NeedBlock(peer=vote.author, qc=qc)]
        return self._process_qc(qc)

    def _process_qc(self, qc: QuorumCert) -> list[Action]:
        before = self.tree.highest_qc.round
        committed = self.tree.insert_qc(qc)
        actions: list[Action] = []
        if self._safety is not None:
            self._safety.observe_qc(qc)
        if qc.round > before:
            self._store.save_highest_qc(qc)
        if committed:
            actions.append(Commit(tuple(committed)))
        return actions + self._advance()

    def _process_tc(self, tc: TimeoutCert) -> list[Action]:
        if self.tree.highest_tc is not None and tc.round <= self.tree.highest_tc.round:
            return []
        self.tree.insert_tc(tc)
        self._store.save_highest_tc(tc)
        return self._advance()

    # ---------------------------------------------------------------- timeouts

    def on_local_timeout(self, round_: int) -> list[Action]:
        """Our timer for ``round_`` fired: sign and broadcast a timeout (again)."""
        if round_ != self.current_round:
            return []
        actions: list[Action] = [ScheduleTimeout(round_, self.pacemaker.timeout_duration())]
        if self._safety is None or self.me is None:
            return actions
        msg = self._own_timeout(round_)
        if msg is None:
            return actions
        return [*actions, Broadcast(msg), *self._collect_timeout(msg)]

    def _own_timeout(self, round_: int) -> TimeoutMsg | None:
        assert self._safety is not None and self.me is not None
        existing = self._timeouts.get(round_, {}).get(self.me)
        if existing is not None:
            return existing
        high_qc = self.tree.highest_qc
        tc = self.tree.highest_tc
        last_tc = tc if tc is not None and tc.round == round_ - 1 else None
        data, signature = self._safety.sign_timeout(round_, high_qc, last_tc)
        return TimeoutMsg(
            data=data, high_qc=high_qc, author=self.me, signature=signature, last_tc=last_tc
        )

    def on_timeout_msg(self, msg: TimeoutMsg) -> list[Action]:
        """Collect another validator's timeout; amplify at f+1, form a TC at quorum.

        Raises:
            ConsensusError: bad author, signature or high QC.
        """
        data = msg.data
        if data.epoch != self.committee.epoch or data.chain_id != self.committee.chain_id:
            raise InvalidVote(f"timeout for epoch {data.epoch} on chain {data.chain_id!r}")
        if msg.author >= self.committee.size:
            raise InvalidVote(f"timeout from unknown validator index {msg.author}")
        if data.high_qc_round != msg.high_qc.round or data.high_qc_round >= data.round:
            raise InvalidVote("timeout's high QC round does not match its QC")
        if data.round < self.current_round or data.round > self.current_round + ROUND_WINDOW:
            return []
        # Verify everything before changing any state: a badly signed message must not
        # move us to a new round (and lose that round's timer with the exception).
        duplicate = msg.author in self._timeouts.get(data.round, {})
        if not duplicate:
            key = self.committee.public_keys[msg.author]
            if not key.verify(timeout_signing_bytes(data), msg.signature):
                raise InvalidVote(f"bad timeout signature from validator {msg.author}")
            self.committee.verify_qc(msg.high_qc)
        actions: list[Action] = []
        tc = msg.last_tc
        if tc is not None and tc.round + 1 == data.round and tc.round >= self.current_round:
            self.committee.verify_tc(tc)
            actions += self._process_tc(tc)
        if not duplicate:
            if msg.high_qc.block_id in self.tree:
                actions += self._process_qc(msg.high_qc)
            elif msg.high_qc.round > self.tree.highest_qc.round:
                actions.append(NeedBlock(peer=msg.author, qc=msg.high_qc))
            actions += self._collect_timeout(msg)
        return actions + self._replay_early()

    def _collect_timeout(self, msg: TimeoutMsg) -> list[Action]:
        round_ = msg.data.round
        if round_ < self.current_round:
            return []
        bucket = self._timeouts.setdefault(round_, {})
        bucket[msg.author] = msg
        weight = self.committee.weight_of(list(bucket))
        actions: list[Action] = []
        if (
            self.me is not None
            and self.me not in bucket
            and weight > self.committee.max_faulty_weight
            and round_ == self.current_round
        ):
            own = self._own_timeout(round_)
            if own is not None:
                bucket[self.me] = own
                weight = self.committee.weight_of(list(bucket))
                actions.append(Broadcast(own))
        if weight < self.committee.quorum_weight:
            return actions
        signers = tuple(sorted(bucket))
        tc = TimeoutCert(
            epoch=self.committee.epoch,
            round=round_,
            signers=signers,
            high_qc_rounds=tuple(bucket[i].data.high_qc_round for i in signers),
            signatures=tuple(bucket[i].signature for i in signers),
        )
        return actions + self._process_tc(tc)

    # ---------------------------------------------------------------- evidence

    def _record(self, evidence: Equivocation) -> None:
        if len(self.evidence) < MAX_EVIDENCE and evidence not in self.evidence:
            self.evidence.append(evidence)

    def on_sync_info(self, peer: int, qc: QuorumCert, tc: TimeoutCert | None) -> list[Action]:
        """A peer's highest certificates: catch up on its QC and TC.

        Raises:
            ConsensusError: a certificate is invalid.
        """
        actions: list[Action] = []
        new_tc = tc is not None and (
            self.tree.highest_tc is None or tc.round > self.tree.highest_tc.round
        )
        if new_tc:
            assert tc is not None
            self.committee.verify_tc(tc)
        if qc.round > self.tree.highest_qc.round:
            self.committee.verify_qc(qc)
        if new_tc:
            assert tc is not None
            actions += self._process_tc(tc)
        if qc.round > self.tree.highest_qc.round:
            if qc.block_id in self.tree:
                actions += self._process_qc(qc)
            else:
                actions.append(NeedBlock(peer=peer, qc=qc))
        return actions + self._replay_early()

    def on_synced_blocks(
        self,
        blocks: list[tuple[Block, bytes]],
        qc: QuorumCert,
        epoch_proof: CommitProof | None = None,
    ) -> list[Action]:
        """Insert fetched ancestors (oldest first) then the QC that certifies the last.

        ``epoch_proof`` comes with a chain that ends this epoch: it proves the
        last block committed, through descendants this node will never be
        sent because the other validators have moved on ([CONS-EPOCH.2]).

        Raises:
            ConsensusError: a block does not chain, or the QC or proof is invalid.
        """
        self.committee.verify_qc(qc)
        if epoch_proof is not None:
            self.committee.verify_commit_proof(qc.block_id, epoch_proof, self._hash)
        actions = self._insert_synced(blocks, qc, epoch_proof)
        return actions + self._replay_early()

    def _insert_synced(
        self,
        blocks: list[tuple[Block, bytes]],
        qc: QuorumCert,
        epoch_proof: CommitProof | None,
    ) -> list[Action]:
        actions: list[Action] = []
        try:
            for block, bid in blocks:
                if bid in self.tree or block.header.height <= self.tree.root.header.height:
                    continue  # known, or committed meanwhile (a late response)
                parent = self.tree.get(block.header.parent_id)
                if parent is None:
                    raise InvalidProposal("synced block does not chain to the tree")
                self.committee.verify_qc(block.header.justify)
                self._validator.validate(block, parent, certified=True)
                self.tree.insert_block(block, bid)
                self._store.save_block(bid, block, self.tree.highest_qc)
                if block.header.justify.block_id in self.tree:
                    actions += self._process_qc(block.header.justify)
            if qc.block_id not in self.tree and qc.height <= self.tree.root.header.height:
                return actions
            actions += self._process_qc(qc)
            if epoch_proof is not None and qc.block_id != self.tree.root_id:
                actions.append(Commit(tuple(self.tree.commit_with_proof(qc.block_id, epoch_proof))))
            return actions
        except ConsensusError:
            if actions:
                return actions  # blocks already inserted may have committed: keep those
            raise


__all__ = [
    "Action",
    "BlockBuilder",
    "Broadcast",
    "Commit",
    "ConsensusCore",
    "ConsensusError",
    "Equivocation",
    "EquivocationKind",
    "NeedBlock",
    "PendingStore",
    "ProposalValidator",
    "ScheduleTimeout",
    "SendVote",
]
