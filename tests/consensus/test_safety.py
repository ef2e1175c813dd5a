"""Conformance suite of the safety rules ([CONS-SAFE-*], consensus/safety.py).

One suite, run against every :class:`SafetyStorage` backend (in memory and the
node's LMDB ``ConsensusStorage``), as Aptos runs its ``suite.rs`` against each
deployment. The safety rules verify no signatures (the core does), so blocks and
certificates here are hand-built; block trees are drawn above each test as
``b<round>`` with the QC each block carries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from tests.consensus.support import (
    CHAIN_ID,
    EPOCH,
    HASH,
    MemorySafetyStorage,
    StorageFailure,
    genesis_block,
    genesis_qc,
    unsigned_block,
    validator_key,
)

from consortia.consensus.errors import ConsensusError, EpochMismatch, SafetyError
from consortia.consensus.safety import SafetyData, SafetyRules, SafetyStorage
from consortia.consensus.storage import ConsensusStorage
from consortia.consensus.types import TimeoutCert, TimeoutData, Vote, timeout_signing_bytes
from consortia.ledger.types import (
    Block,
    QuorumCert,
    block_id,
    proposal_signing_bytes,
    vote_signing_bytes,
)

KEY = validator_key(0)
PUBLIC = KEY.public_key()
GENESIS, GENESIS_ID = genesis_block()
FAKE_SIG = b"\x30" * 70


# ------------------------------------------------------------------ backends


@dataclass
class Backend:
    """A storage backend under test and a way to 'restart the process' on it."""

    name: str
    storage: SafetyStorage
    reopen: Callable[[], SafetyStorage]
    close: Callable[[], None] = lambda: None


def _memory(_: Path) -> Backend:
    storage = MemorySafetyStorage()
    return Backend("memory", storage, lambda: storage)


def _lmdb(tmp_path: Path) -> Backend:
    path = tmp_path / "consensus.lmdb"
    opened = [ConsensusStorage(path)]

    def reopen() -> SafetyStorage:
        opened[-1].close()
        opened.append(ConsensusStorage(path))
        return opened[-1]

    def close() -> None:
        for storage in opened:
            storage.close()

    return Backend("lmdb", opened[0], reopen, close)


@pytest.fixture(params=[_memory, _lmdb], ids=["memory", "lmdb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made: Backend = request.param(tmp_path)
    yield made
    made.close()


class FailingStorage:
    """Wraps a backend; ``save_safety`` raises while ``fail`` is set."""

    def __init__(self, inner: SafetyStorage) -> None:
        self.inner = inner
        self.fail = False

    def load_safety(self) -> SafetyData | None:
        return self.inner.load_safety()

    def save_safety(self, data: SafetyData) -> None:
        if self.fail:
            raise StorageFailure("disk full")
        self.inner.save_safety(data)


class SignSpy:
    """The validator's signing function, counting what it signed."""

    def __init__(self) -> None:
        self.signed: list[bytes] = []

    def __call__(self, message: bytes) -> bytes:
        self.signed.append(message)
        return KEY.sign(message)


def rules_on(storage: SafetyStorage, sign: Callable[[bytes], bytes] = KEY.sign) -> SafetyRules:
    return SafetyRules(storage, sign, chain_id=CHAIN_ID, author=0, epoch=EPOCH)


# --------------------------------------------------------- hand-built blocks


def fake_qc(block: Block, bid: bytes) -> QuorumCert:
    """A certificate shaped like a QC on ``block`` (safety rules do not verify signatures)."""
    h = block.header
    return QuorumCert(
        epoch=h.epoch,
        round=h.round,
        height=h.height,
        block_id=bid,
        signers=(0, 1, 2),
        signatures=(FAKE_SIG,) * 3,
    )


def child(parent: Block, parent_id: bytes, round_: int, tag: bytes = b"") -> tuple[Block, bytes]:
    """Block of ``round_`` extending ``parent`` and carrying a QC on it."""
    justify = genesis_qc(GENESIS_ID) if parent.header.round == 0 else fake_qc(parent, parent_id)
    block = unsigned_block(parent, parent_id, round_, justify, 0, payload=tag or b"%d" % round_)
    return block, block_id(HASH, block.header)


def fake_tc(round_: int, high_qc_rounds: tuple[int, ...]) -> TimeoutCert:
    return TimeoutCert(
        epoch=EPOCH,
        round=round_,
        signers=tuple(range(len(high_qc_rounds))),
        high_qc_rounds=high_qc_rounds,
        signatures=(FAKE_SIG,) * len(high_qc_rounds),
    )


# ------------------------------------------------------------ the rules


def test_first_start_stores_initial_data(backend: Backend) -> None:
    rules = rules_on(backend.storage)
    assert rules.data == SafetyData(epoch=EPOCH, last_voted_round=0, one_chain_round=0)
    assert backend.storage.load_safety() == rules.data


def test_vote_is_signed_over_vote_bytes(backend: Backend) -> None:
    # genesis ── b1
    rules = rules_on(backend.storage)
    b1, id1 = child(GENESIS, GENESIS_ID, 1)
    vote = rules.construct_and_sign_vote(b1.header, id1, None)
    assert vote.author == 0
    assert (vote.data.round, vote.data.height, vote.data.block_id) == (1, 1, id1)
    assert PUBLIC.verify(vote_signing_bytes(vote.data), vote.signature)
    assert rules.data.last_voted_round == 1


def test_cons_safe_vote_1_no_vote_at_or_below_last_voted_round(backend: Backend) -> None:
    # genesis ── b1 ── b2
    #             └─── b2' (round 2, another block)
    #             └─── b1' can't exist (round 1 again): see below
    rules = rules_on(backend.storage)
    b1, id1 = child(GENESIS, GENESIS_ID, 1)
    b2, id2 = child(b1, id1, 2)
    b2x, id2x = child(b1, id1, 2, tag=b"other")
    rules.construct_and_sign_vote(b1.header, id1, None)
    rules.construct_and_sign_vote(b2.header, id2, None)
    with pytest.raises(SafetyError) as err:
        rules.construct_and_sign_vote(b2x.header, id2x, None)
    assert (err.value.round, err.value.last_voted_round) == (2, 2)
    # A lower round is refused even for a block never voted on.
    b1x, id1x = child(GENESIS, GENESIS_ID, 1, tag=b"late")
    with pytest.raises(SafetyError) as err:
        rules.construct_and_sign_vote(b1x.header, id1x, None)
    assert (err.value.round, err.value.last_voted_round) == (1, 2)
    assert rules.data.last_voted_round == 2


def test_cons_safe_vote_2_round_must_follow_qc_or_tc(backend: Backend) -> None:
    # genesis ── b1 ─────────── b3 (QC of b1; round 2 was skipped)
    #    └───────────────────── b3g (QC of genesis)
    rules = rules_on(backend.storage)
    b1, id1 = child(GENESIS, GENESIS_ID, 1)
    rules.construct_and_sign_vote(b1.header, id1, None)
    b3, id3 = child(b1, id1, 3)
    # No TC: round 3 does not follow QC round 1.
    with pytest.raises(SafetyError):
        rules.construct_and_sign_vote(b3.header, id3, None)
    # A TC of round 1 does not open round 3 either.
    with pytest.raises(SafetyError):
        rules.construct_and_sign_vote(b3.header, id3, fake_tc(1, (0, 0, 0)))
    # TC of round 2 whose signers saw QC(b1): a round-3 block on genesis's QC is too low.
    b3g, id3g = child(GENESIS, GENESIS_ID, 3)
    with pytest.raises(SafetyError):
        rules.construct_and_sign_vote(b3g.header, id3g, fake_tc(2, (1, 0, 0)))
    assert rules.data.last_voted_round == 1
    # TC of round 2 with max high QC round 1 <= b3's QC round 1: safe.
    vote = rules.construct_and_sign_vote(b3.header, id3, fake_tc(2, (1, 0, 1)))
    assert vote.data.round == 3


def test_cons_safe_vote_2_tc_with_higher_high_qc_refuses(backend: Backend) -> None:
    # genesis ── b1 ── b2          TC(3) reports a QC of round 2
    #             └──────────── b4 (QC of b1): would abandon b2's QC, refused
    rules = rules_on(backend.storage)
    b1, id1 = child(GENESIS, GENESIS_ID, 1)
    b4, id4 = child(b1, id1, 4)
    with pytest.raises(SafetyError):
        rules.construct_and_sign_vote(b4.header, id4, fake_tc(3, (2, 1, 1)))
    vote = rules.construct_and_sign_vote(b4.header, id4, fake_tc(3, (1, 1, 0)))
    assert vote.data.round == 4


def test_cons_safe_timeout_1(backend: Backend) -> None:
    # genesis ── b1 ── b2 (QC of b1 observed)
    rules = rules_on(backend.storage)
    b1, id1 = child(GENESIS, GENESIS_ID, 1)
    qc1 = fake_qc(b1, id1)
    # Round 2 follows QC round 1.
    data, signature = rules.sign_timeout(2, qc1, None)
    assert data == TimeoutData(chain_id=CHAIN_ID, epoch=EPOCH, round=2, high_qc_round=1)
    assert PUBLIC.verify(timeout_signing_bytes(data), signature)
    assert rules.data.last_voted_round == 2
    # Round 4 follows neither QC round 1 nor a TC ...
    with pytest.raises(SafetyError):
        rules.sign_timeout(4, qc1, None)
    # ... but follows TC round 3.
    data, _ = rules.sign_timeout(4, qc1, fake_tc(3, (1, 1, 1)))
    assert (data.round, rules.data.last_voted_round) == (4, 4)
    # Below the last voted round: refused.
    with pytest.raises(SafetyError):
        rules.sign_timeout(3, qc1, fake_tc(2, (1, 1, 1)))


def test_cons_safe_timeout_1_high_qc_not_below_one_chain_round(backend: Backend) -> None:
    # genesis ── b1 ── b2 ── b3     QC(b2) observed, so one_chain_round = 2
    rules = rules_on(backend.storage)
    b1, id1 = child(GENESIS, GENESIS_ID, 1)
    b2, id2 = child(b1, id1, 2)
    rules.observe_qc(fake_qc(b2, id2))
    assert rules.data.one_chain_round == 2
    # Timing out round 4 after TC(3) while reporting only QC(b1) would hide QC(b2).
    with pytest.raises(SafetyError):
        rules.sign_timeout(4, fake_qc(b1, id1), fake_tc(3, (1, 1, 1)))
    data, _ = rules.sign_timeout(4, fake_qc(b2, id2), fake_tc(3, (2, 1, 1)))
    assert data.high_qc_round == 2


def test_timeout_after_vote_allowed_vote_after_timeout_refused(backend: Backend) -> None:
    # genesis ── b1 ── b2
    rules = rules_on(backend.storage)
    b1, id1 = child(GENESIS, GENESIS_ID, 1)
    rules.construct_and_sign_vote(b1.header, id1, None)
    rules.sign_timeout(1, genesis_qc(GENESIS_ID), None)  # voted in 1, then timed out 1
    qc1 = fake_qc(b1, id1)
    rules.sign_timeout(2, qc1, None)  # timed out round 2 without voting
    b2, id2 = child(b1, id1, 2)
    with pytest.raises(SafetyError):
        rules.construct_and_sign_vote(b2.header, id2, None)


def test_cons_safe_propose_1(backend: Backend) -> None:
    # genesis ── b1 (voted) ── b2 (our proposal)
    rules = rules_on(backend.storage)
    b1, id1 = child(GENESIS, GENESIS_ID, 1)
    rules.construct_and_sign_vote(b1.header, id1, None)
    with pytest.raises(SafetyError):
        rules.sign_proposal(b1.header, id1)
    b2, id2 = child(b1, id1, 2)
    signature = rules.sign_proposal(b2.header, id2)
    assert PUBLIC.verify(proposal_signing_bytes(id2), signature)
    # Proposing does not consume the round: the leader still votes for its own block.
    assert rules.construct_and_sign_vote(b2.header, id2, None).data.round == 2


def test_same_vote_request_returns_stored_vote(backend: Backend) -> None:
    # genesis ── b1, asked twice
    spy = SignSpy()
    rules = rules_on(backend.storage, spy)
    b1, id1 = child(GENESIS, GENESIS_ID, 1)
    first = rules.construct_and_sign_vote(b1.header, id1, None)
    again = rules.construct_and_sign_vote(b1.header, id1, None)
    assert again == first
    assert again.signature == first.signature  # ECDSA is randomised: no second signature
    assert len(spy.signed) == 1


def test_epoch_mismatch(backend: Backend) -> None:
    rules = rules_on(backend.storage)
    other = genesis_block(epoch=EPOCH + 1)
    b1, id1 = child(*other, 1)
    with pytest.raises(EpochMismatch):
        rules.construct_and_sign_vote(b1.header, id1, None)
    with pytest.raises(EpochMismatch):
        rules.sign_proposal(b1.header, id1)
    assert isinstance(EpochMismatch("x"), ConsensusError)


# -------------------------------------------------- persistence [CONS-STORE.1]


def test_failed_save_releases_no_vote_and_keeps_data(backend: Backend) -> None:
    # genesis ── b1 ── b2 (the write for b2's vote fails)
    storage = FailingStorage(backend.storage)
    rules = rules_on(storage)
    b1, id1 = child(GENESIS, GENESIS_ID, 1)
    rules.construct_and_sign_vote(b1.header, id1, None)
    before = rules.data
    b2, id2 = child(b1, id1, 2)
    storage.fail = True
    with pytest.raises(StorageFailure):
        rules.construct_and_sign_vote(b2.header, id2, None)
    with pytest.raises(StorageFailure):
        rules.sign_timeout(2, fake_qc(b1, id1), None)
    with pytest.raises(StorageFailure):
        rules.observe_qc(fake_qc(b2, id2))
    assert rules.data == before
    assert backend.storage.load_safety() == before
    storage.fail = False
    vote = rules.construct_and_sign_vote(b2.header, id2, None)
    assert backend.storage.load_safety() == rules.data
    assert rules.data.last_vote == vote


def test_vote_is_durable_before_it_is_returned(backend: Backend) -> None:
    # The stored data already names the vote when the caller receives it.
    seen: list[SafetyData | None] = []
    storage = backend.storage

    def sign(message: bytes) -> bytes:
        return KEY.sign(message)

    rules = rules_on(storage, sign)
    b1, id1 = child(GENESIS, GENESIS_ID, 1)
    vote = rules.construct_and_sign_vote(b1.header, id1, None)
    seen.append(storage.load_safety())
    assert seen[0] is not None and seen[0].last_vote == vote
    assert seen[0].last_voted_round == 1


def test_restart_keeps_last_voted_round_and_vote(backend: Backend) -> None:
    # genesis ── b1 ── b2 (voted)   restart   b2' (round 2) refused, b2 re-asked → stored vote
    rules = rules_on(backend.storage)
    b1, id1 = child(GENESIS, GENESIS_ID, 1)
    b2, id2 = child(b1, id1, 2)
    rules.construct_and_sign_vote(b1.header, id1, None)
    vote = rules.construct_and_sign_vote(b2.header, id2, None)
    rules.observe_qc(fake_qc(b1, id1))
    spy = SignSpy()
    restarted = rules_on(backend.reopen(), spy)
    assert restarted.data.last_voted_round == 2
    assert restarted.data.one_chain_round == 1
    assert restarted.construct_and_sign_vote(b2.header, id2, None) == vote
    b2x, id2x = child(b1, id1, 2, tag=b"equivocate")
    with pytest.raises(SafetyError):
        restarted.construct_and_sign_vote(b2x.header, id2x, None)
    assert spy.signed == []


def test_new_epoch_resets_safety_data(backend: Backend) -> None:
    rules = rules_on(backend.storage)
    b1, id1 = child(GENESIS, GENESIS_ID, 1)
    rules.construct_and_sign_vote(b1.header, id1, None)
    later = SafetyRules(backend.reopen(), KEY.sign, chain_id=CHAIN_ID, author=0, epoch=EPOCH + 1)
    assert later.data == SafetyData(epoch=EPOCH + 1, last_voted_round=0, one_chain_round=0)


# ----------------------------------------------- random request sequences


class SafetyMachine(RuleBasedStateMachine):
    """Random vote/timeout/QC/restart requests against one validator's rules.

    Invariants: never two votes for different blocks in one round; never a vote in
    a round after a timeout for that round; ``last_voted_round`` never decreases,
    not even across restarts.
    """

    @initialize()
    def start(self) -> None:
        self.storage = MemorySafetyStorage()
        self.rules = rules_on(self.storage, self._sign)
        self.blocks: list[tuple[Block, bytes]] = [(GENESIS, GENESIS_ID)]
        self.votes: dict[int, bytes] = {}
        self.issued: dict[int, Vote] = {}
        self.timed_out: set[int] = set()
        self.last_voted_round = 0
        self.signatures = 0

    def _sign(self, message: bytes) -> bytes:
        self.signatures += 1
        return b"sig-%d" % self.signatures + bytes(8)

    @rule(
        parent=st.integers(0, 50),
        gap=st.integers(1, 3),
        tag=st.integers(0, 2),
        tc=st.none() | st.tuples(st.integers(0, 2), st.lists(st.integers(0, 12), min_size=1)),
    )
    def vote(self, parent: int, gap: int, tag: int, tc: tuple[int, list[int]] | None) -> None:
        p_block, p_id = self.blocks[parent % len(self.blocks)]
        round_ = p_block.header.round + gap
        block, bid = child(p_block, p_id, round_, tag=b"%d/%d" % (round_, tag))
        cert = None
        if tc is not None:
            tc_round = max(0, round_ - 1 - tc[0])
            cert = fake_tc(tc_round, tuple(min(r, max(tc_round - 1, 0)) for r in tc[1]))
        before = self.rules.data
        signatures = self.signatures
        try:
            vote = self.rules.construct_and_sign_vote(block.header, bid, cert)
        except SafetyError:
            assert self.rules.data == before
            return
        self.blocks.append((block, bid))
        assert vote.data.block_id == bid
        previous = self.votes.setdefault(round_, bid)
        assert previous == bid, f"two votes in round {round_}"
        if round_ in self.timed_out:
            # Only the vote already released before the timeout may be handed out again
            # (asked twice for the same block), never a new signature.
            assert self.signatures == signatures, f"new vote in round {round_} after its timeout"
            assert self.issued.get(round_) == vote
        self.issued.setdefault(round_, vote)

    @rule(parent=st.integers(0, 50), ahead=st.integers(0, 3), use_tc=st.booleans())
    def timeout(self, parent: int, ahead: int, use_tc: bool) -> None:
        block, bid = self.blocks[parent % len(self.blocks)]
        qc = genesis_qc(GENESIS_ID) if block.header.round == 0 else fake_qc(block, bid)
        round_ = qc.round + 1 + ahead
        tc = fake_tc(round_ - 1, (qc.round,)) if use_tc and ahead else None
        try:
            data, _ = self.rules.sign_timeout(round_, qc, tc)
        except SafetyError:
            return
        assert data.round == round_
        self.timed_out.add(round_)

    @rule(parent=st.integers(0, 50))
    def observe(self, parent: int) -> None:
        block, bid = self.blocks[parent % len(self.blocks)]
        if block.header.round:
            self.rules.observe_qc(fake_qc(block, bid))

    @precondition(lambda self: self.storage.writes > 0)
    @rule()
    def restart(self) -> None:
        self.rules = rules_on(self.storage, self._sign)

    @invariant()
    def last_voted_round_never_decreases(self) -> None:
        current = self.rules.data.last_voted_round
        assert current >= self.last_voted_round
        self.last_voted_round = current
        stored = self.storage.load_safety()
        assert stored == self.rules.data


TestSafetyMachine = SafetyMachine.TestCase
TestSafetyMachine.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
