"""Safety rules of two-chain HotStuff: the only code that can fork the chain.

Jolteon (arXiv 2106.10362) §3, as in Diem/Aptos ``safety_rules_2chain``. A
validator signs a vote, timeout or proposal only through :class:`SafetyRules`,
which persists its :class:`SafetyData` durably *before* returning any
signature. The rules ([CONS-SAFE-*] in docs/consensus.md):

* [CONS-SAFE-VOTE.1] vote only in a round above ``last_voted_round``;
* [CONS-SAFE-VOTE.2] vote for block B only if ``B.round == B.qc.round + 1``,
  or ``B.round == tc.round + 1`` and ``B.qc.round >= tc.max_high_qc_round``;
* [CONS-SAFE-TIMEOUT.1] time out round r only if ``r == qc.round + 1`` or
  ``r == tc.round + 1``, and ``qc.round >= one_chain_round``;
* [CONS-SAFE-PROPOSE.1] propose only in a round above ``last_voted_round``;
* asking again for a vote in the round already voted for the same block
  returns the stored vote, never a second signature.

``one_chain_round`` is the highest QC round observed; ``last_voted_round``
also rises when signing a timeout, so no vote follows a timeout in one round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from consortia.codec import U64, Canonical
from consortia.consensus.errors import EpochMismatch, SafetyError
from consortia.consensus.types import TimeoutCert, TimeoutData, Vote, timeout_signing_bytes
from consortia.ledger.types import (
    BlockHeader,
    ChainId,
    QuorumCert,
    VoteData,
    proposal_signing_bytes,
    vote_signing_bytes,
)

Sign = Callable[[bytes], bytes]
"""The validator's private signing function (the key never leaves the signer)."""


class SafetyData(Canonical, frozen=True):
    """Everything the rules remember; persisted before any signature is released."""

    epoch: U64
    last_voted_round: U64
    one_chain_round: U64
    last_vote: Vote | None = None


class SafetyStorage(Protocol):
    """Durable home of :class:`SafetyData`; ``save`` must be synced when it returns."""

    def load_safety(self) -> SafetyData | None:
        """The stored data, or None on first start."""
        ...

    def save_safety(self, data: SafetyData) -> None:
        """Persist ``data`` durably (fsync) before returning."""
        ...


class SafetyRules:
    """Signs votes, timeouts and proposals for one validator, never unsafely."""

    def __init__(
        self,
        storage: SafetyStorage,
        sign: Sign,
        *,
        chain_id: ChainId,
        author: int,
        epoch: int,
    ) -> None:
        self._storage = storage
        self._sign = sign
        self.chain_id = chain_id
        self.author = author
        stored = storage.load_safety()
        if stored is None or stored.epoch < epoch:
            stored = SafetyData(epoch=epoch, last_voted_round=0, one_chain_round=0)
            storage.save_safety(stored)
        self._data = stored

    @property
    def data(self) -> SafetyData:
        """Snapshot of the current safety data."""
        return self._data

    def _persist(self, data: SafetyData) -> None:
        # Write first: on failure the in-memory copy stays the last durable one.
        self._storage.save_safety(data)
        self._data = data

    def _check_epoch(self, epoch: int) -> None:
        if epoch != self._data.epoch:
            raise EpochMismatch(f"message epoch {epoch}, safety rules at {self._data.epoch}")

    def observe_qc(self, qc: QuorumCert) -> None:
        """Raise ``one_chain_round`` to a verified QC's round (persisted lazily)."""
        if qc.round > self._data.one_chain_round:
            self._persist(
                SafetyData(
                    epoch=self._data.epoch,
                    last_voted_round=self._data.last_voted_round,
                    one_chain_round=qc.round,
                    last_vote=self._data.last_vote,
                )
            )

    def construct_and_sign_vote(
        self, header: BlockHeader, block_id: bytes, tc: TimeoutCert | None
    ) -> Vote:
        """Vote for a verified block, or raise :class:`SafetyError`."""
        self._check_epoch(header.epoch)
        data = self._data
        last = data.last_vote
        if last is not None and last.data.round == header.round and last.data.block_id == block_id:
            return last
        if header.round <= data.last_voted_round:
            raise SafetyError(
                "already voted or timed out in this round",
                round_=header.round,
                last_voted_round=data.last_voted_round,
            )
        qc_round = header.justify.round
        extends_qc = header.round == qc_round + 1
        extends_tc = (
            tc is not None and header.round == tc.round + 1 and qc_round >= tc.max_high_qc_round()
        )
        if not (extends_qc or extends_tc):
            raise SafetyError(
                f"block round does not follow its QC (round {qc_round}) or a TC",
                round_=header.round,
                last_voted_round=data.last_voted_round,
            )
        vote_data = VoteData(
            chain_id=self.chain_id,
            epoch=header.epoch,
            round=header.round,
            height=header.height,
            block_id=block_id,
        )
        vote = Vote(
            data=vote_data, author=self.author, signature=self._sign(vote_signing_bytes(vote_data))
        )
        self._persist(
            SafetyData(
                epoch=data.epoch,
                last_voted_round=header.round,
                one_chain_round=max(data.one_chain_round, qc_round),
                last_vote=vote,
            )
        )
        return vote

    def sign_timeout(
        self, round_: int, high_qc: QuorumCert, last_tc: TimeoutCert | None
    ) -> tuple[TimeoutData, bytes]:
        """Sign a timeout for ``round_`` carrying ``high_qc``, or raise :class:`SafetyError`."""
        data = self._data
        self._check_epoch(high_qc.epoch if high_qc.round else data.epoch)
        if round_ < data.last_voted_round:
            raise SafetyError(
                "timeout for a round below the last voted round",
                round_=round_,
                last_voted_round=data.last_voted_round,
            )
        follows = round_ == high_qc.round + 1 or (
            last_tc is not None and round_ == last_tc.round + 1
        )
        if not follows or high_qc.round < data.one_chain_round:
            raise SafetyError(
                f"unsafe timeout (high QC round {high_qc.round}, one-chain round "
                f"{data.one_chain_round})",
                round_=round_,
                last_voted_round=data.last_voted_round,
            )
        timeout = TimeoutData(
            chain_id=self.chain_id, epoch=data.epoch, round=round_, high_qc_round=high_qc.round
        )
        signature = self._sign(timeout_signing_bytes(timeout))
        if round_ > data.last_voted_round:
            self._persist(
                SafetyData(
                    epoch=data.epoch,
                    last_voted_round=round_,
                    one_chain_round=data.one_chain_round,
                    last_vote=data.last_vote,
                )
            )
        return timeout, signature

    def sign_proposal(self, header: BlockHeader, block_id: bytes) -> bytes:
        """Sign our own block for a round we have not yet voted in."""
        self._check_epoch(header.epoch)
        if header.round <= self._data.last_voted_round:
            raise SafetyError(
                "proposal round not above the last voted round",
                round_=header.round,
                last_voted_round=self._data.last_voted_round,
            )
        return self._sign(proposal_signing_bytes(block_id))
