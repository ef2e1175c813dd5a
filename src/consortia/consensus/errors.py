"""Consensus errors: invalid messages and refusals of the safety rules."""

from __future__ import annotations

from consortia.errors import NodeError


class ConsensusError(NodeError):
    """A consensus message or certificate is unacceptable."""

    code = "CONSENSUS_ERROR"


class InvalidCertificate(ConsensusError):
    """A quorum or timeout certificate lacks quorum weight or has a bad signature."""

    code = "CONSENSUS_INVALID_CERTIFICATE"


class InvalidProposal(ConsensusError):
    """A proposal breaks a validity rule (author, round, parent, payload, state root)."""

    code = "CONSENSUS_INVALID_PROPOSAL"


class InvalidVote(ConsensusError):
    """A vote or timeout message is malformed, from a non-validator or badly signed."""

    code = "CONSENSUS_INVALID_VOTE"


class SafetyError(ConsensusError):
    """The safety rules refuse to sign; carries the rounds involved."""

    code = "CONSENSUS_SAFETY"

    def __init__(self, message: str, *, round_: int, last_voted_round: int) -> None:
        super().__init__(f"{message} (round {round_}, last voted round {last_voted_round})")
        self.round = round_
        self.last_voted_round = last_voted_round


class EpochMismatch(ConsensusError):
    """A message belongs to another epoch than the current validator set."""

    code = "CONSENSUS_EPOCH_MISMATCH"
