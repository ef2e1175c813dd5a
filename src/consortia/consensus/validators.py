"""Weighted validator sets: quorum thresholds, leader rotation, certificate checks.

With total weight W and f the largest weight such that W >= 3f + 1, a quorum
is any set of weight >= W - f (2f + 1 when every weight is 1), so two quorums
always share an honest validator ([CONS-QUORUM.1]). Leaders rotate
round-robin over validator indices (``round mod n``), so every organisation
leads equally often whatever its weight ([CONS-LEADER.1]).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import cached_property

from consortia.consensus.errors import EpochMismatch, InvalidCertificate
from consortia.consensus.types import TimeoutCert, TimeoutData, timeout_signing_bytes
from consortia.crypto import KeyType, PublicKey, verify_batch
from consortia.ledger.types import (
    ChainId,
    CommitProof,
    Hasher,
    QuorumCert,
    ValidatorSet,
    VoteData,
    block_id,
    vote_signing_bytes,
)

_QC_CACHE_SIZE = 256
"""Verified QCs remembered, so a QC seen in a proposal, a timeout and a sync is checked once."""


class Committee:
    """A validator set with derived thresholds and cached public keys."""

    def __init__(
        self,
        chain_id: ChainId,
        validator_set: ValidatorSet,
        genesis_id: bytes,
        *,
        root: tuple[int, bytes] | None = None,
    ) -> None:
        """``root`` is the epoch's root block as (height, id); genesis for epoch 0."""
        if not validator_set.validators:
            raise ValueError("a validator set needs at least one validator")
        self.chain_id = chain_id
        self.validator_set = validator_set
        self.genesis_id = genesis_id
        self.root_height, self.root_id = root if root is not None else (0, genesis_id)
        self._verified_qcs: dict[tuple[object, ...], None] = {}

    @property
    def epoch(self) -> int:
        """Epoch of this set."""
        return self.validator_set.epoch

    @property
    def size(self) -> int:
        """Number of validators."""
        return len(self.validator_set.validators)

    @cached_property
    def total_weight(self) -> int:
        """Sum of all weights."""
        return sum(v.weight for v in self.validator_set.validators)

    @cached_property
    def max_faulty_weight(self) -> int:
        """f: the most weight that may be Byzantine (W >= 3f + 1)."""
        return (self.total_weight - 1) // 3

    @cached_property
    def quorum_weight(self) -> int:
        """Weight a QC or TC needs: W - f."""
        return self.total_weight - self.max_faulty_weight

    @cached_property
    def public_keys(self) -> tuple[PublicKey, ...]:
        """Consensus public keys by validator index (parsed once)."""
        return tuple(
            PublicKey.from_bytes(KeyType(v.key_type), v.public_key)
            for v in self.validator_set.validators
        )

    def weight_of(self, signers: Sequence[int]) -> int:
        """Total weight of distinct signer indices."""
        return sum(self.validator_set.validators[i].weight for i in set(signers))

    def leader(self, round_: int) -> int:
        """Index of the leader of ``round_`` ([CONS-LEADER.1])."""
        return round_ % self.size

    def index_of(self, public_key: bytes) -> int | None:
        """Validator index owning ``public_key``, if any."""
        for i, v in enumerate(self.validator_set.validators):
            if v.public_key == public_key:
                return i
        return None

    def _check_signers(self, what: str, epoch: int, signers: Sequence[int], n_sigs: int) -> None:
        if epoch != self.epoch:
            raise EpochMismatch(f"{what} is for epoch {epoch}, current epoch is {self.epoch}")
        if len(signers) != n_sigs:
            raise InvalidCertificate(f"{what} has {len(signers)} signers but {n_sigs} signatures")
        if any(b <= a for a, b in itertools.pairwise(signers)):
            raise InvalidCertificate(f"{what} signers are not strictly ascending")
        if signers and signers[-1] >= self.size:
            raise InvalidCertificate(f"{what} names signer {signers[-1]} outside the set")
        if self.weight_of(signers) < self.quorum_weight:
            raise InvalidCertificate(
                f"{what} has weight {self.weight_of(signers)}, quorum is {self.quorum_weight}"
            )

    def verify_qc(self, qc: QuorumCert) -> None:
        """Check a QC: the genesis QC, or quorum weight of valid vote signatures.

        Raises:
            InvalidCertificate: wrong weight, signer list or any bad signature.
            EpochMismatch: the QC is for another epoch.
        """
        if qc.round == 0:
            if (
                qc.block_id != self.root_id
                or qc.height != self.root_height
                or qc.epoch != self.epoch
                or qc.signers
                or qc.signatures
            ):
                raise InvalidCertificate("a round-0 QC must be the epoch's root certificate")
            return
        cache_key = (qc.round, qc.block_id, qc.signers, qc.signatures, qc.height, qc.epoch)
        if cache_key in self._verified_qcs:
            return
        self._check_signers("QC", qc.epoch, qc.signers, len(qc.signatures))
        message = vote_signing_bytes(
            VoteData(
                chain_id=self.chain_id,
                epoch=qc.epoch,
                round=qc.round,
                height=qc.height,
                block_id=qc.block_id,
            )
        )
        keys = self.public_keys
        results = verify_batch(
            [(keys[i], message, sig) for i, sig in zip(qc.signers, qc.signatures, strict=True)]
        )
        if not all(results):
            bad = [i for i, ok in zip(qc.signers, results, strict=True) if not ok]
            raise InvalidCertificate(f"QC for round {qc.round} has bad signatures from {bad}")
        if len(self._verified_qcs) >= _QC_CACHE_SIZE:
            del self._verified_qcs[next(iter(self._verified_qcs))]
        self._verified_qcs[cache_key] = None

    def verify_commit_proof(self, block_id_: bytes, proof: CommitProof, hash_fn: Hasher) -> None:
        """Check that ``proof`` commits block ``block_id_`` under this set ([CONS-COMMIT.1]).

        Raises:
            InvalidCertificate: the headers do not chain, the last two rounds are
                not consecutive, or a certificate is invalid.
        """
        if not proof.headers:
            raise InvalidCertificate("a commit proof needs at least one header")
        parent = block_id_
        for header in proof.headers:
            if header.parent_id != parent or header.epoch != self.epoch:
                raise InvalidCertificate("commit proof headers do not chain from the block")
            parent = block_id(hash_fn, header)
        last = proof.headers[-1]
        if proof.qc.block_id != parent or proof.qc.height != last.height:
            raise InvalidCertificate("commit proof QC does not certify its last header")
        if last.round != last.justify.round + 1 or last.justify.block_id != last.parent_id:
            raise InvalidCertificate("commit proof does not end in two consecutive rounds")
        if last.justify.round == 0:
            raise InvalidCertificate("an epoch root certificate commits nothing new")
        self.verify_qc(last.justify)
        self.verify_qc(proof.qc)

    def verify_tc(self, tc: TimeoutCert) -> None:
        """Check a TC: quorum weight of valid timeout signatures for its round.

        Raises:
            InvalidCertificate: wrong weight, lengths or any bad signature.
            EpochMismatch: the TC is for another epoch.
        """
        self._check_signers("TC", tc.epoch, tc.signers, len(tc.signatures))
        if len(tc.high_qc_rounds) != len(tc.signers):
            raise InvalidCertificate("TC high_qc_rounds do not match its signers")
        if any(r >= tc.round for r in tc.high_qc_rounds):
            raise InvalidCertificate("TC reports a high QC round not below its own round")
        keys = self.public_keys
        items = [
            (
                keys[i],
                timeout_signing_bytes(
                    TimeoutData(
                        chain_id=self.chain_id, epoch=tc.epoch, round=tc.round, high_qc_round=hqc
                    )
                ),
                sig,
            )
            for i, hqc, sig in zip(tc.signers, tc.high_qc_rounds, tc.signatures, strict=True)
        ]
        if not all(verify_batch(items)):
            raise InvalidCertificate(f"TC for round {tc.round} has a bad signature")
