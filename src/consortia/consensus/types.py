"""Consensus messages and the validator set ([CONS-MSG.1] in docs/consensus.md).

Quorum certificates and vote data live in :mod:`consortia.ledger.types`
because blocks carry them; votes, timeouts and timeout certificates are
consensus-only messages.
"""

from __future__ import annotations

from typing import Final

from consortia.codec import U64, Canonical, encode
from consortia.ledger.types import (
    DOMAIN_TIMEOUT,
    Block,
    ChainId,
    QuorumCert,
    SignatureBytes,
    VoteData,
)

GENESIS_ROUND: Final = 0


class Vote(Canonical, frozen=True):
    """A validator's signed vote for a block, sent to the next round's leader."""

    data: VoteData
    author: U64
    signature: SignatureBytes


class TimeoutData(Canonical, frozen=True):
    """What a validator signs when its round times out ([CONS-TIMEOUT.1])."""

    chain_id: ChainId
    epoch: U64
    round: U64
    high_qc_round: U64
    """Round of the highest QC the signer holds."""


class TimeoutCert(Canonical, frozen=True):
    """Timeouts of 2f+1 weight for one round; lets the next round start without a QC."""

    epoch: U64
    round: U64
    signers: tuple[U64, ...]
    high_qc_rounds: tuple[U64, ...]
    """``high_qc_rounds[i]`` is what ``signers[i]`` signed in its TimeoutData."""
    signatures: tuple[SignatureBytes, ...]

    def max_high_qc_round(self) -> int:
        """Highest QC round any signer reported (Jolteon's ``tc.hqc_round``)."""
        return max(self.high_qc_rounds, default=0)


class TimeoutMsg(Canonical, frozen=True):
    """A signed timeout carrying the signer's highest QC and, if the signer entered
    this round by timeout, the TC of the previous round ([CONS-TIMEOUT.2]): a
    validator that missed that TC catches up from any timeout it receives."""

    data: TimeoutData
    high_qc: QuorumCert
    author: U64
    signature: SignatureBytes
    last_tc: TimeoutCert | None = None
    """TC of round ``data.round - 1`` (self-certifying, so outside the signature)."""


class Proposal(Canonical, frozen=True):
    """A leader's block for a round, with the TC that opened the round if any."""

    block: Block
    tc: TimeoutCert | None = None


def timeout_signing_bytes(data: TimeoutData) -> bytes:
    """The bytes a timeout signature covers."""
    return DOMAIN_TIMEOUT + encode(data)
