"""Weighted committees: quorum [CONS-QUORUM.1], leaders [CONS-LEADER.1], QC/TC checks."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.consensus.support import (
    CHAIN_ID,
    EPOCH,
    HASH,
    make_chain,
    make_qc,
    make_tc,
    signed_block,
)

from consortia.consensus.errors import EpochMismatch, InvalidCertificate
from consortia.consensus.validators import Committee
from consortia.ledger.types import (
    Block,
    CommitProof,
    QuorumCert,
    ValidatorInfo,
    ValidatorSet,
    epoch_root_qc,
)

CHAIN = make_chain(4)
B1, ID1 = signed_block(CHAIN, CHAIN.genesis, CHAIN.genesis_id, 1, CHAIN.genesis_qc)


def committee_with(weights: list[int]) -> Committee:
    info = CHAIN.committee.validator_set.validators[0]
    validators = tuple(msgspec.structs.replace(info, weight=w) for w in weights)
    return Committee(CHAIN_ID, ValidatorSet(epoch=1, validators=validators), CHAIN.genesis_id)


@given(st.lists(st.integers(1, 100), min_size=1, max_size=12))
def test_cons_quorum_1_two_quorums_intersect_in_more_than_f(weights: list[int]) -> None:
    c = committee_with(weights)
    w, f = sum(weights), (sum(weights) - 1) // 3
    assert c.quorum_weight == w - f
    assert w >= 3 * f + 1
    # Two quorums overlap in at least 2q - W > f weight, so in an honest validator.
    assert 2 * c.quorum_weight - w > f


def test_quorum_examples() -> None:
    assert committee_with([1]).quorum_weight == 1
    assert committee_with([1, 1, 1, 1]).quorum_weight == 3
    assert committee_with([1] * 7).quorum_weight == 5
    assert committee_with([3, 1, 1, 1]).quorum_weight == 5  # W=6, f=1


def test_cons_leader_1_round_robin() -> None:
    assert [CHAIN.committee.leader(r) for r in range(1, 9)] == [1, 2, 3, 0, 1, 2, 3, 0]


def test_valid_qc_and_genesis_rule() -> None:
    c = CHAIN.fresh_committee()
    c.verify_qc(make_qc(CHAIN, B1, ID1, [0, 1, 2]))
    c.verify_qc(CHAIN.genesis_qc)
    bad_genesis = msgspec.structs.replace(CHAIN.genesis_qc, block_id=ID1)
    with pytest.raises(InvalidCertificate):
        c.verify_qc(bad_genesis)
    with pytest.raises(InvalidCertificate):
        c.verify_qc(msgspec.structs.replace(CHAIN.genesis_qc, height=1))


QC = make_qc(CHAIN, B1, ID1, [0, 1, 2])


@pytest.mark.parametrize(
    ("name", "qc", "error"),
    [
        (
            "missing signature",
            msgspec.structs.replace(QC, signatures=QC.signatures[:2]),
            InvalidCertificate,
        ),
        (
            "forged signature",
            msgspec.structs.replace(QC, signatures=(QC.signatures[1], *QC.signatures[1:])),
            InvalidCertificate,
        ),
        (
            "duplicate signer",
            msgspec.structs.replace(
                QC, signers=(0, 0, 1), signatures=(QC.signatures[0], *QC.signatures[:2])
            ),
            InvalidCertificate,
        ),
        (
            "unsorted signers",
            msgspec.structs.replace(
                QC,
                signers=(1, 0, 2),
                signatures=(QC.signatures[1], QC.signatures[0], QC.signatures[2]),
            ),
            InvalidCertificate,
        ),
        ("signer out of range", msgspec.structs.replace(QC, signers=(0, 1, 4)), InvalidCertificate),
        (
            "insufficient weight",
            msgspec.structs.replace(QC, signers=(0, 1), signatures=QC.signatures[:2]),
            InvalidCertificate,
        ),
        ("wrong epoch", msgspec.structs.replace(QC, epoch=2), EpochMismatch),
        ("other block", msgspec.structs.replace(QC, block_id=bytes(32)), InvalidCertificate),
    ],
)
def test_qc_rejections(name: str, qc: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        CHAIN.fresh_committee().verify_qc(qc)  # type: ignore[arg-type]


TC = make_tc(CHAIN, 3, [0, 1, 3], [1, 2, 0])


def test_valid_tc() -> None:
    c = CHAIN.fresh_committee()
    c.verify_tc(TC)
    assert TC.max_high_qc_round() == 2


@pytest.mark.parametrize(
    ("name", "tc", "error"),
    [
        (
            "missing signature",
            msgspec.structs.replace(TC, signatures=TC.signatures[:2]),
            InvalidCertificate,
        ),
        (
            "forged signature",
            msgspec.structs.replace(TC, signatures=(TC.signatures[1], *TC.signatures[1:])),
            InvalidCertificate,
        ),
        (
            "altered high QC round",
            msgspec.structs.replace(TC, high_qc_rounds=(1, 2, 1)),
            InvalidCertificate,
        ),
        (
            "high QC round not below round",
            msgspec.structs.replace(TC, high_qc_rounds=(1, 3, 0)),
            InvalidCertificate,
        ),
        ("unsorted signers", msgspec.structs.replace(TC, signers=(1, 0, 3)), InvalidCertificate),
        ("signer out of range", msgspec.structs.replace(TC, signers=(0, 1, 7)), InvalidCertificate),
        (
            "insufficient weight",
            msgspec.structs.replace(
                TC, signers=(0, 1), high_qc_rounds=(1, 2), signatures=TC.signatures[:2]
            ),
            InvalidCertificate,
        ),
        ("wrong epoch", msgspec.structs.replace(TC, epoch=5), EpochMismatch),
    ],
)
def test_tc_rejections(name: str, tc: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        CHAIN.fresh_committee().verify_tc(tc)  # type: ignore[arg-type]


def test_weighted_qc_needs_quorum_weight() -> None:
    heavy = make_chain(4, weights=[3, 1, 1, 1])  # W=6, f=1, quorum 5
    block, bid = signed_block(heavy, heavy.genesis, heavy.genesis_id, 1, heavy.genesis_qc)
    heavy.committee.verify_qc(make_qc(heavy, block, bid, [0, 1, 2]))
    for signers in ([1, 2, 3], [0, 1]):
        with pytest.raises(InvalidCertificate):
            heavy.fresh_committee().verify_qc(make_qc(heavy, block, bid, signers))


def test_validator_info_is_canonical_struct() -> None:
    assert issubclass(ValidatorInfo, msgspec.Struct)


def _three_chain() -> tuple[list[tuple[Block, bytes]], QuorumCert]:
    """genesis ── b1 ── b2 (consecutive), with QC(b2): a proof that b1 is committed."""
    b1 = signed_block(CHAIN, CHAIN.genesis, CHAIN.genesis_id, 1, CHAIN.genesis_qc)
    b2 = signed_block(CHAIN, b1[0], b1[1], 2, make_qc(CHAIN, b1[0], b1[1], [0, 1, 2]))
    return [b1, b2], make_qc(CHAIN, b2[0], b2[1], [0, 1, 2])


def test_cons_epoch_2_commit_proof_checks() -> None:
    (b1, b2), qc2 = _three_chain()
    committee = CHAIN.fresh_committee()
    proof = CommitProof(headers=(b2[0].header,), qc=qc2)
    committee.verify_commit_proof(b1[1], proof, HASH)
    with pytest.raises(InvalidCertificate, match="do not chain"):
        committee.verify_commit_proof(CHAIN.genesis_id, proof, HASH)
    with pytest.raises(InvalidCertificate, match="at least one header"):
        committee.verify_commit_proof(b1[1], CommitProof(headers=(), qc=qc2), HASH)
    weak = msgspec.structs.replace(qc2, signers=qc2.signers[:2], signatures=qc2.signatures[:2])
    with pytest.raises(InvalidCertificate):
        committee.verify_commit_proof(b1[1], CommitProof(headers=(b2[0].header,), qc=weak), HASH)
    # b1 ── b3 (round 2 skipped): certified, but not two consecutive rounds.
    b3 = signed_block(CHAIN, b1[0], b1[1], 3, make_qc(CHAIN, b1[0], b1[1], [0, 1, 2]))
    qc3 = make_qc(CHAIN, b3[0], b3[1], [0, 1, 2])
    with pytest.raises(InvalidCertificate, match="consecutive"):
        committee.verify_commit_proof(b1[1], CommitProof(headers=(b3[0].header,), qc=qc3), HASH)
    # The genesis' child proves nothing beyond genesis.
    with pytest.raises(InvalidCertificate, match="commits nothing new"):
        committee.verify_commit_proof(
            CHAIN.genesis_id, CommitProof(headers=(b1[0].header,), qc=b2[0].header.justify), HASH
        )


def test_cons_epoch_1_root_certificate_of_a_later_epoch() -> None:
    (b1, _), _ = _three_chain()
    next_set = msgspec.structs.replace(CHAIN.committee.validator_set, epoch=EPOCH + 1)
    committee = Committee(CHAIN_ID, next_set, CHAIN.genesis_id, root=(1, b1[1]))
    committee.verify_qc(epoch_root_qc(EPOCH + 1, 1, b1[1]))
    for bad in (
        epoch_root_qc(EPOCH, 1, b1[1]),  # the old epoch
        epoch_root_qc(EPOCH + 1, 0, b1[1]),  # wrong height
        epoch_root_qc(EPOCH + 1, 1, CHAIN.genesis_id),  # not the root
    ):
        with pytest.raises(InvalidCertificate, match="root certificate"):
            committee.verify_qc(bad)
