"""Regression tests of the round manager: verify before mutating, never drop actions.

Found by the Twins simulation: ``on_proposal`` applied a proposal's certificates
(commits, a new round and its timer) and then raised when it refused to vote, so
the caller dropped the ``Commit`` and ``ScheduleTimeout`` actions; a node's
committed chain skipped heights and it could sit in a round with no timer.
``on_timeout_msg`` moved to a new round on a valid ``last_tc`` *before* checking
the message's own signature. ``on_synced_blocks`` rejected an honest but late
response whose first blocks had been committed meanwhile.
"""

from __future__ import annotations

import pytest
from tests.consensus.support import (
    CHAIN_ID,
    HASH,
    AcceptAll,
    Chain,
    CounterBuilder,
    MemoryPendingStore,
    MemorySafetyStorage,
    make_chain,
    make_qc,
    make_tc,
    signed_block,
)

from consortia.consensus.blocktree import BlockTree
from consortia.consensus.core import Commit, ConsensusCore, ScheduleTimeout
from consortia.consensus.errors import ConsensusError
from consortia.consensus.safety import SafetyRules
from consortia.consensus.types import Proposal, TimeoutData, TimeoutMsg, timeout_signing_bytes
from consortia.ledger.types import Block


def core_of(chain: Chain, me: int) -> ConsensusCore:
    safety = SafetyRules(
        MemorySafetyStorage(), chain.keys[me].sign, chain_id=CHAIN_ID, author=me, epoch=chain.epoch
    )
    return ConsensusCore(
        committee=chain.fresh_committee(),
        tree=BlockTree(chain.genesis, chain.genesis_id, chain.genesis_qc),
        hash_fn=HASH,
        me=me,
        safety=safety,
        builder=CounterBuilder(me),
        validator=AcceptAll(),
        store=MemoryPendingStore(),
    )


def straight_chain(chain: Chain, rounds: int) -> list[tuple[Block, bytes]]:
    """genesis ── b1 ── b2 ── ... each carrying a full QC of its parent."""
    blocks = [(chain.genesis, chain.genesis_id)]
    qc = chain.genesis_qc
    for r in range(1, rounds + 1):
        parent, pid = blocks[-1]
        block, bid = signed_block(chain, parent, pid, r, qc)
        blocks.append((block, bid))
        qc = make_qc(chain, block, bid, [0, 1, 2])
    return blocks


def test_commit_survives_a_refused_vote() -> None:
    # genesis ── b1 ── b2 ── b3: b3 carries QC(b2), which commits b1.
    # Validator 0 has already timed out round 3, so it refuses to vote for b3;
    # the commit of b1 and the timer of round 3 must still come out.
    chain = make_chain(4)
    core = core_of(chain, 0)
    core.start()
    blocks = straight_chain(chain, 3)
    (b1, id1), (b2, id2), (b3, _) = blocks[1:]
    core.on_proposal(Proposal(b1))
    core.on_proposal(Proposal(b2))
    assert core.current_round == 2
    assert core._safety is not None
    core._safety.sign_timeout(3, make_qc(chain, b2, id2, [0, 1, 2]), None)
    actions = core.on_proposal(Proposal(b3))
    commits = [a for a in actions if isinstance(a, Commit)]
    assert [c.block_id for a in commits for c in a.blocks] == [id1]
    assert any(isinstance(a, ScheduleTimeout) and a.round == 3 for a in actions)
    assert core.current_round == 3


def test_badly_signed_timeout_with_valid_tc_changes_nothing() -> None:
    chain = make_chain(4)
    core = core_of(chain, 0)
    core.start()
    tc1 = make_tc(chain, 1, [1, 2, 3], [0, 0, 0])
    data = TimeoutData(chain_id=CHAIN_ID, epoch=chain.epoch, round=2, high_qc_round=0)
    good = chain.keys[1].sign(timeout_signing_bytes(data))
    forged = chain.keys[3].sign(timeout_signing_bytes(data))  # not validator 1's key
    msg = TimeoutMsg(data=data, high_qc=chain.genesis_qc, author=1, signature=forged, last_tc=tc1)
    with pytest.raises(ConsensusError):
        core.on_timeout_msg(msg)
    assert core.current_round == 1
    assert core.tree.highest_tc is None
    honest = TimeoutMsg(data=data, high_qc=chain.genesis_qc, author=1, signature=good, last_tc=tc1)
    actions = core.on_timeout_msg(honest)
    assert core.current_round == 2
    assert any(isinstance(a, ScheduleTimeout) and a.round == 2 for a in actions)


def test_late_sync_response_with_committed_blocks_is_accepted() -> None:
    # The response was asked for at root height 0 but arrives after b1 and b2 were
    # committed: the committed prefix is skipped, the rest inserted.
    chain = make_chain(4)
    core = core_of(chain, 0)
    core.start()
    blocks = straight_chain(chain, 6)
    for block, _ in blocks[1:5]:
        core.on_proposal(Proposal(block))
    root_height = core.tree.root.header.height
    assert root_height == 2
    b6, id6 = blocks[6]
    qc6 = make_qc(chain, b6, id6, [1, 2, 3])
    actions = core.on_synced_blocks(blocks[1:], qc6)
    committed = [c.block.header.height for a in actions if isinstance(a, Commit) for c in a.blocks]
    assert committed == [3, 4, 5]
    assert core.tree.highest_qc == qc6


def test_proposal_that_overtakes_its_parent_is_voted_once_the_parent_arrives() -> None:
    # Found in a 4-validator load test: b3 (from the leader of round 3) reached
    # validator 0 before b2 (from the leader of round 2). b3's QC certifies b2,
    # which validator 0 lacked, so it stayed in round 1 and dropped b3; round 3
    # then timed out. Now b3 waits and is voted for as soon as b2 is in.
    chain = make_chain(4)
    core = core_of(chain, 0)
    core.start()
    (b1, _), (b2, _), (b3, id3) = straight_chain(chain, 3)[1:]
    core.on_proposal(Proposal(b1))
    assert core.current_round == 1
    core.on_proposal(Proposal(b3))  # overtakes b2: asks for it, keeps b3
    assert core.current_round == 1 and id3 not in core.tree
    core.on_proposal(Proposal(b2))
    assert core.current_round == 3 and id3 in core.tree
    assert core._safety is not None and core._safety.data.last_voted_round == 3


def test_kept_proposal_is_dropped_once_its_round_has_passed() -> None:
    chain = make_chain(4)
    core = core_of(chain, 0)
    core.start()
    (b1, _), _, (b3, id3) = straight_chain(chain, 3)[1:]
    core.on_proposal(Proposal(b1))
    core.on_proposal(Proposal(b3))  # kept: its parent b2 is unknown
    assert set(core._early) == {3}
    # b2 never comes; the others time out round 3 and validator 2's timeout for
    # round 4 carries their TC: round 4 opens and b3 can never be voted for.
    data = TimeoutData(chain_id=CHAIN_ID, epoch=chain.epoch, round=4, high_qc_round=0)
    core.on_timeout_msg(
        TimeoutMsg(
            data=data,
            high_qc=chain.genesis_qc,
            author=2,
            signature=chain.keys[2].sign(timeout_signing_bytes(data)),
            last_tc=make_tc(chain, 3, [1, 2, 3], [0, 0, 0]),
        )
    )
    assert core.current_round == 4
    assert core._early == {} and id3 not in core.tree


@pytest.mark.timeout(20)
def test_proposal_skipping_rounds_without_a_tc_is_not_kept() -> None:
    # A faulty leader of round 6 extends b1 (known, certified) without the TC
    # of round 5 that would let it skip rounds 2 - 5: its certificates can never
    # bring this node to round 6, so the proposal must be dropped, not kept
    # and handled again and again.
    chain = make_chain(4)
    core = core_of(chain, 0)
    core.start()
    (b1, id1), (b2, _) = straight_chain(chain, 2)[1:]
    core.on_proposal(Proposal(b1))
    core.on_proposal(Proposal(b2))
    b6, id6 = signed_block(chain, b1, id1, 6, make_qc(chain, b1, id1, [1, 2, 3]))
    core.on_proposal(Proposal(b6))
    assert core.current_round == 2
    assert core._early == {} and id6 not in core.tree
