"""The verifier follows validator-set changes ([CONS-EPOCH.1–2], [VERIFY-CHAIN.1] 4a).

A governance proposal removes org4's validator; the chain hands over to the
three remaining validators at the epoch-ending block. The verifier accepts
the chain with the epoch's commit proof, and refuses a certificate of the
old set after the change, a missing or forged proof, a block that continues
an ended epoch and a ``next_validators`` the state never requested.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from tests.verify.chain import ChainBuilder, Record

from consortia.bench.workload import signed
from consortia.codec import decode, encode
from consortia.crypto import PrivateKey
from consortia.ledger.types import (
    QuorumCert,
    Transaction,
    ValidatorSet,
    VoteData,
    block_id,
    vote_signing_bytes,
)
from consortia.modules.assets.types import Create, SupplyRule
from consortia.modules.governance.types import (
    CastVote,
    Choice,
    ProposalKind,
    Propose,
    RemoveValidator,
)
from consortia.verify.verifier import verify_chain

REMOVED = "org4-v3"


def _gov(key: PrivateKey, nonce: int, method: str, args: object) -> Transaction:
    raw = signed(key, "consortia-devnet", nonce, method, args, 1_000, module="governance")
    return decode(raw, Transaction)


def _asset(key: PrivateKey, nonce: int, symbol: str) -> Transaction:
    args = Create(
        symbol=symbol, name=symbol, decimals=0, supply_rule=SupplyRule.UNLIMITED, max_supply=0
    )
    return decode(signed(key, "consortia-devnet", nonce, "create", args, 1_000), Transaction)


def _admins(tmp: Path) -> list[PrivateKey]:
    return [
        PrivateKey.from_pem((tmp / "net" / "keys" / f"org{i}-admin.pem").read_bytes())
        for i in (1, 2, 3)
    ]


def _remove_validator(builder: ChainBuilder, tmp: Path) -> None:
    """Blocks 1-2: propose and pass the removal; block 3 certifies it and ends epoch 0."""
    admins = _admins(tmp)
    payload = encode(RemoveValidator(name=REMOVED))
    propose = Propose(kind=ProposalKind.REMOVE_VALIDATOR, payload=payload, deadline_height=500)
    builder.add((_gov(admins[0], 0, "propose", propose),))
    votes = tuple(
        _gov(key, 1 if i == 0 else 0, "vote", CastVote(proposal_id=1, choice=Choice.YES))
        for i, key in enumerate(admins)
    )
    builder.add(votes)


@pytest.fixture
def changed(tmp_path: Path) -> Iterator[ChainBuilder]:
    builder = ChainBuilder(tmp_path)
    _remove_validator(builder, tmp_path)
    ending = builder.add()
    assert ending.header.next_validators is not None
    assert [v.name for v in ending.header.next_validators.validators] == [
        "org1-v0",
        "org2-v1",
        "org3-v2",
    ]
    alice = builder.user_keys[0]
    builder.add((_asset(alice, 0, "E1"),))
    builder.add((_asset(alice, 1, "E2"),))
    yield builder
    builder.close()


def test_chain_across_an_epoch_change_verifies(changed: ChainBuilder) -> None:
    heights = [(b.header.height, b.header.epoch, b.header.round) for b, _ in changed.records]
    assert heights == [(0, 0, 0), (1, 0, 1), (2, 0, 2), (3, 0, 3), (4, 1, 1), (5, 1, 2)]
    assert changed.committee.size == 3
    report = verify_chain(changed.genesis, changed.records, epochs=changed.epochs)
    assert report.ok, report.problem
    assert report.blocks == 6
    assert verify_chain(changed.genesis, changed.records, epochs=changed.epochs, execute=False).ok


def test_missing_epoch_proof_is_refused(changed: ChainBuilder) -> None:
    report = verify_chain(changed.genesis, changed.records)
    assert not report.ok and report.first_bad_height == 3
    assert "commit proof" in report.problem
    report = verify_chain(changed.genesis, changed.records, execute=False)
    assert report.first_bad_height == 4 and "commit proof" in report.problem


def test_forged_epoch_proof_is_refused(changed: ChainBuilder) -> None:
    start = changed.epochs[1]
    assert start.proof is not None
    forged_qc = msgspec.structs.replace(
        start.proof.qc, signatures=tuple(reversed(start.proof.qc.signatures))
    )
    forged = msgspec.structs.replace(
        start, proof=msgspec.structs.replace(start.proof, qc=forged_qc)
    )
    report = verify_chain(changed.genesis, changed.records, epochs={1: forged}, execute=False)
    assert report.first_bad_height == 3 and "not proven committed" in report.problem


def _signed_by_old_set(builder: ChainBuilder, record: Record, epoch: int) -> QuorumCert:
    """A certificate for ``record``'s block signed by all four genesis validators."""
    old = [builder.known_keys[v.public_key] for v in builder.genesis.validators.validators]
    header = record[0].header
    target = block_id(builder.hash, header)
    data = VoteData(
        chain_id=header.chain_id,
        epoch=epoch,
        round=header.round,
        height=header.height,
        block_id=target,
    )
    message = vote_signing_bytes(data)
    return QuorumCert(
        epoch=epoch,
        round=header.round,
        height=header.height,
        block_id=target,
        signers=tuple(range(len(old))),
        signatures=tuple(k.sign(message) for k in old),
    )


@pytest.mark.parametrize("epoch", [0, 1])
def test_certificate_of_the_old_set_after_the_change_is_refused(
    changed: ChainBuilder, epoch: int
) -> None:
    records = list(changed.records)
    block, _ = records[5]
    records[5] = (block, _signed_by_old_set(changed, records[5], epoch))
    report = verify_chain(changed.genesis, records, epochs=changed.epochs)
    assert report.first_bad_height == 5 and "certificate invalid" in report.problem


def test_justify_of_the_old_set_after_the_change_is_refused(tmp_path: Path) -> None:
    builder = ChainBuilder(tmp_path)
    try:
        _remove_validator(builder, tmp_path)
        builder.add()  # ends epoch 0
        builder.add()  # first block of epoch 1
        old_qc = _signed_by_old_set(builder, builder.records[4], 1)
        builder.add(justify=old_qc)
        report = verify_chain(builder.genesis, builder.records, epochs=builder.epochs)
        assert report.first_bad_height == 5 and "justify QC invalid" in report.problem
    finally:
        builder.close()


def test_block_continuing_an_ended_epoch_is_refused(tmp_path: Path) -> None:
    builder = ChainBuilder(tmp_path)
    try:
        _remove_validator(builder, tmp_path)
        builder.add()  # ends epoch 0
        builder.add(epoch=0)
        report = verify_chain(builder.genesis, builder.records, epochs=builder.epochs)
        assert report.first_bad_height == 4
        assert "continues an epoch that its parent ended" in report.problem
    finally:
        builder.close()


def test_next_validators_the_state_never_requested_is_refused(tmp_path: Path) -> None:
    builder = ChainBuilder(tmp_path)
    try:
        made_up = ValidatorSet(epoch=1, validators=builder.genesis.validators.validators[:1])
        builder.add(next_validators=made_up)
        report = verify_chain(builder.genesis, builder.records, epochs=builder.epochs)
        assert report.first_bad_height == 1
        assert "next_validators" in report.problem
    finally:
        builder.close()
