"""Equivocation evidence for double votes must be signed by the accused.

A vote that conflicts with one already counted for the same (round, author) is
recorded as :class:`Equivocation` evidence (served by ``GET /v1/evidence``). The
second vote must verify under the author's key first: otherwise anyone on the
network can frame any validator by sending an unsigned vote in its name.
"""

from __future__ import annotations

import msgspec
import pytest
from tests.consensus.support import (
    HASH,
    AcceptAll,
    CounterBuilder,
    MemoryPendingStore,
    MemorySafetyStorage,
    make_chain,
    signed_block,
    vote_data,
)

from consortia.consensus.blocktree import BlockTree
from consortia.consensus.core import ConsensusCore, Equivocation, EquivocationKind
from consortia.consensus.errors import InvalidVote
from consortia.consensus.safety import SafetyRules
from consortia.consensus.types import Vote
from consortia.ledger.types import vote_signing_bytes


def _leader_core() -> tuple[ConsensusCore, list[Vote]]:
    """Validator 2 (leader of round 2) and votes of validators 0 and 1 for two round-1 blocks.

    genesis ── b1  (leader 1's block, voted by 0)
       └────── b1' (same round, another block, also "by" 0)
    """
    chain = make_chain(4)
    me = 2
    core = ConsensusCore(
        committee=chain.fresh_committee(),
        tree=BlockTree(chain.genesis, chain.genesis_id, chain.genesis_qc),
        hash_fn=HASH,
        me=me,
        safety=SafetyRules(
            MemorySafetyStorage(),
            chain.keys[me].sign,
            chain_id="consensus-test",
            author=me,
            epoch=1,
        ),
        builder=CounterBuilder(me),
        validator=AcceptAll(),
        store=MemoryPendingStore(),
    )
    core.start()
    b1, id1 = signed_block(chain, chain.genesis, chain.genesis_id, 1, chain.genesis_qc)
    b1x, id1x = signed_block(
        chain, chain.genesis, chain.genesis_id, 1, chain.genesis_qc, payload=b"other"
    )
    votes = []
    for block, bid in ((b1, id1), (b1x, id1x)):
        data = vote_data(block, bid)
        votes.append(
            Vote(data=data, author=0, signature=chain.keys[0].sign(vote_signing_bytes(data)))
        )
    return core, votes


def test_double_vote_with_valid_signatures_is_evidence() -> None:
    core, (first, second) = _leader_core()
    assert core.on_vote(first) == []
    assert core.on_vote(second) == []
    assert core.evidence == [
        Equivocation(EquivocationKind.VOTE, 1, 0, first.data.block_id, second.data.block_id)
    ]
    # A typed kind, not a bare string; its value is what /v1/evidence shows.
    assert type(core.evidence[0].kind) is EquivocationKind
    assert msgspec.json.encode(core.evidence[0].kind) == b'"vote"'


def test_forged_second_vote_is_refused_not_evidence() -> None:
    core, (first, second) = _leader_core()
    core.on_vote(first)
    forged = msgspec.structs.replace(second, signature=first.signature)
    with pytest.raises(InvalidVote):
        core.on_vote(forged)
    assert core.evidence == []
    # The genuine double vote is still recorded afterwards.
    core.on_vote(second)
    assert len(core.evidence) == 1


def test_repeated_identical_vote_is_ignored() -> None:
    core, (first, _) = _leader_core()
    core.on_vote(first)
    assert core.on_vote(first) == []
    assert core.evidence == []
