"""Twins scenarios generated as the paper does, and swept systematically.

Bano, Sonnino, Chursin, Perelman, Li, Ching, Malkhi, "Twins: BFT Systems Made Robust"
(2021), §4: with n = 4 and f = 1, the faulty validator is played by two honest cores
sharing its key and index (its twins), so five nodes run. A scenario fixes, for each
of the first ``rounds`` rounds, a *leader* (one of the four validator identities; if
it is the faulty one, both twins propose, i.e. equivocate) and a *partition* of the
five nodes into groups; a message of round r is delivered only within the groups of
round r's partition. The generator

1. enumerates every partition of the five nodes into at most ``max_groups`` groups,
   in a canonical order (restricted-growth strings), and by default keeps those that
   put the twins in different groups, plus the fully connected one: twins side by
   side behave as one honest node, so 9 of the 16 two-group partitions remain, each
   one honest validator (or none) cut off with one twin ([TWINS-GEN.1]);
2. pairs each with each leader: the per-round choices, 9 * 4 = 36 ([TWINS-GEN.1]);
3. takes the scenario space as all sequences of ``rounds`` such choices, numbered in
   mixed radix (round 1 the least significant digit after the adversary digit below)
   ([TWINS-GEN.2]);
4. samples that space systematically: scenario k of a sweep is number
   ``(offset + k * stride) mod size``, with ``stride`` coprime to ``size`` so the walk
   never repeats and spreads over every digit at once ([TWINS-GEN.3]). ``offset`` and
   ``stride`` derive from a fixed seed, so a sweep is the same on every run and a
   failure is named by its scenario number.

Beyond the paper, one more digit picks the adversary:

* 0 - plain twins (both run honest code);
* 1, 2 - a *forging* twin ([TWINS-GEN.4]): when the faulty identity leads, node 4
  proposes on the oldest certified block it holds, with the previous round's TC
  (1) or an older one whose high-QC rounds its QC covers (2), and votes for that
  block. Honest leaders always carry the TC of the previous round, so without this
  the TC conditions of [CONS-SAFE-VOTE.2] would never meet a TC they must refuse;
* 3 - *amnesia* ([TWINS-GEN.5]), the paper's "losing internal state" on the honest
  side: an honest validator that votes in a round the faulty identity leads crashes
  and restarts from its durable stores at once. The core's in-memory filter drops a
  leader's second proposal of a round, so only a restart lets the second proposal
  reach the safety rules, whose ``last_voted_round`` must refuse it.

The invariants are those of :class:`~tests.consensus.sim.Simulation` (agreement of
honest nodes at every height, committed chains linked and prefixes of one another,
every committed block certified), checked on every commit.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import msgspec
from tests.consensus.sim import (
    InvariantViolation,
    Message,
    SimNode,
    Simulation,
    round_partition,
)
from tests.consensus.support import HASH

from consortia.consensus.blocktree import CommittedBlock
from consortia.consensus.core import Action, Broadcast, SendVote
from consortia.consensus.types import Proposal, TimeoutCert, TimeoutMsg, Vote
from consortia.crypto.key_type import DEFAULT_SM2_ID, KeyType
from consortia.crypto.keys import PublicKey
from consortia.ledger.types import (
    Block,
    QuorumCert,
    block_id,
    proposal_signing_bytes,
    vote_signing_bytes,
)

VALIDATORS = 4
FAULTY = 0
"""The faulty identity; honest validators are symmetric, so fixing it loses nothing."""
TWIN = 4
"""Node id of the faulty validator's second core."""
NODES = tuple(range(VALIDATORS + 1))
ADVERSARIES = 4
"""Adversary modes: honest twins; forger preferring the previous TC; forger preferring an
older TC; honest twins with honest voters restarting after each vote in a round the
faulty validator leads ([TWINS-GEN.4], [TWINS-GEN.5])."""
FORGING = (1, 2)
AMNESIA = 3
HONEST = tuple(i for i in range(VALIDATORS) if i != FAULTY)
HONEST_TURN = -1
"""Leader placeholder: the honest validator whose turn the round is."""

Groups = tuple[tuple[int, ...], ...]


def set_partitions(items: Sequence[int], max_groups: int) -> list[Groups]:
    """Every partition of ``items`` into 1..``max_groups`` non-empty groups, canonical order.

    Enumerates restricted-growth strings (item i joins an existing group or opens the
    next one), so each partition appears once; 5 items into <= 2 groups give 16.
    """
    result: list[Groups] = []

    def extend(assigned: list[int], opened: int) -> None:
        if len(assigned) == len(items):
            groups = tuple(
                tuple(items[i] for i, g in enumerate(assigned) if g == k) for k in range(opened)
            )
            result.append(groups)
            return
        for g in range(min(opened + 1, max_groups)):
            extend([*assigned, g], max(opened, g + 1))

    extend([], 0)
    return result


def _twins_apart(groups: Groups) -> bool:
    return not any(FAULTY in g and TWIN in g for g in groups)


@dataclass(frozen=True, slots=True)
class RoundChoice:
    """The leader of one round and the partition its messages obey."""

    leader: int
    groups: Groups


@dataclass(frozen=True, slots=True)
class EnumeratedScenario:
    """Scenario number ``number`` of a :class:`TwinsSpace`; replay with ``space.run(number)``."""

    number: int
    rounds: tuple[RoundChoice, ...]
    adversary: int
    """0: both twins honest; 1 or 2: the twin forges its proposals ([TWINS-GEN.4]),
    attaching preferably the TC of the previous round (1) or an older one (2); 3
    (``AMNESIA``): honest twins, and honest voters restart ([TWINS-GEN.5])."""


@dataclass(frozen=True)
class TwinsSpace:
    """All Twins scenarios of ``rounds`` rounds over partitions into <= ``max_groups`` groups.

    ``adversaries`` adds one base-4 digit (the least significant): the adversary mode
    ([TWINS-GEN.4], [TWINS-GEN.5]).
    """

    rounds: int = 6
    max_groups: int = 2
    any_leader: bool = True
    """Each round's leader is any validator; otherwise the faulty one or the honest one
    whose turn it is (rounds rotate over the honest validators)."""
    twins_apart: bool = True
    """Keep only partitions that separate the twins (and the fully connected one)."""
    adversaries: bool = True
    stabilise_s: float = 20.0
    """Latest virtual time of GST (every link comes up); earlier once every core has
    passed the scheduled rounds (later rounds are connected, with honest leaders)."""
    progress: int = 2
    """Blocks every honest node must commit after GST (liveness, checked by the caller)."""
    within_s: float = 60.0
    choices: tuple[RoundChoice, ...] = field(init=False)

    def __post_init__(self) -> None:
        partitions = set_partitions(NODES, self.max_groups)
        if self.twins_apart:
            partitions = [
                p
                for p in partitions
                if len(p) == 1 or not any(FAULTY in g and TWIN in g for g in p)
            ]
        leaders = range(VALIDATORS) if self.any_leader else (FAULTY, HONEST_TURN)
        choices = tuple(RoundChoice(leader, groups) for groups in partitions for leader in leaders)
        object.__setattr__(self, "choices", choices)

    @property
    def size(self) -> int:
        """Number of distinct scenarios."""
        schedules: int = len(self.choices) ** self.rounds
        return schedules * (ADVERSARIES if self.adversaries else 1)

    def scenario(self, number: int) -> EnumeratedScenario:
        """Decode scenario ``number`` (mixed radix, round 1 least significant)."""
        if not 0 <= number < self.size:
            raise ValueError(f"scenario {number} outside 0..{self.size - 1}")
        rest = number
        adversary = 0
        if self.adversaries:
            rest, adversary = divmod(rest, ADVERSARIES)
        picked: list[RoundChoice] = []
        for _ in range(self.rounds):
            rest, digit = divmod(rest, len(self.choices))
            choice = self.choices[digit]
            if choice.leader == HONEST_TURN:
                turn = HONEST[(len(picked) + 1) % len(HONEST)]
                choice = RoundChoice(turn, choice.groups)
            picked.append(choice)
        return EnumeratedScenario(number, tuple(picked), adversary)

    def walk(self, seed: int = 0) -> Iterator[int]:
        """Scenario numbers in the deterministic strided order of sweep ``seed`` ([TWINS-GEN.3]).

        The stride is a seeded number coprime to ``size`` near ``size / golden ratio``,
        so consecutive scenarios differ in every round's digit and the first
        ``size`` steps visit every scenario exactly once.
        """
        rng = random.Random(f"twins-walk-{seed}")
        size = self.size
        offset = rng.randrange(size)
        stride = int(size / ((1 + 5**0.5) / 2)) + rng.randrange(1 + size // 1000)
        while math.gcd(stride, size) != 1:
            stride += 1
        for k in range(size):
            yield (offset + k * stride) % size

    def run(self, number: int) -> TwinsRun:
        """Run scenario ``number``; raises :class:`InvariantViolation` on a safety failure."""
        return run_scenario(
            self.scenario(number),
            stabilise_s=self.stabilise_s,
            progress=self.progress,
            within_s=self.within_s,
        )


def run_scenario(
    scenario: EnumeratedScenario,
    *,
    stabilise_s: float = 20.0,
    progress: int = 2,
    within_s: float = 60.0,
) -> TwinsRun:
    """Run one scenario (enumerated, or written by hand as a regression).

    Raises:
        InvariantViolation: a safety invariant broke.
    """
    sim = TwinsSimulation(scenario)
    scheduled = len(scenario.rounds)
    with memoized_verification():
        sim.start()
        # The schedule is over once every core has left its last round; GST then.
        while sim.now < stabilise_s and min(n.core.current_round for n in sim.nodes) <= (
            scheduled + 1
        ):
            sim.run_until(sim.now + 0.5)
        sim.check_prefixes()
        height = max(n.committed_height for n in sim.nodes if n.honest)
        sim.heal()
        progressed = sim.run_until_height(height + progress, deadline=sim.now + within_s)
        sim.check_prefixes()
    return TwinsRun(scenario.number, height, [n.committed_height for n in sim.nodes], progressed)


@dataclass(frozen=True, slots=True)
class TwinsRun:
    """What one scenario reached (its invariants held throughout)."""

    number: int
    height_at_gst: int
    final_heights: list[int]
    progressed: bool


class TwinsSimulation(Simulation):
    """A :class:`Simulation` of one scenario: its schedule, its adversary and the safety lemma."""

    def __init__(self, scenario: EnumeratedScenario) -> None:
        honest = [i for i in range(VALIDATORS) if i != FAULTY]
        super().__init__(
            VALIDATORS,
            seed=scenario.number,
            twins=(FAULTY,),
            leaders=tuple(r.leader for r in scenario.rounds),
            later_leaders=honest,
        )
        self.partition = round_partition([r.groups for r in scenario.rounds])
        self.forger = scenario.adversary if scenario.adversary in FORGING else 0
        self.amnesia = scenario.adversary == AMNESIA
        self._faulty_rounds = {
            r for r, choice in enumerate(scenario.rounds, start=1) if choice.leader == FAULTY
        }
        self.tcs_seen: dict[int, TimeoutCert] = {}
        """Every TC the stale proposer has held, by round."""
        self._forged: dict[int, tuple[bytes, int]] = {}
        """Round -> id and height of the block the twin forged for it."""
        self._committed_rounds: dict[int, int] = {}
        """Height -> round of the block the honest nodes committed there."""
        self._checked_qc: dict[int, bytes] = {}

    def _deliver(self, node: SimNode, src: SimNode, message: Message) -> None:
        if node.node_id == TWIN and self.forger:
            tc = message.tc if isinstance(message, Proposal) else None
            if isinstance(message, TimeoutMsg):
                tc = message.last_tc
            if tc is not None:
                self.tcs_seen.setdefault(tc.round, tc)
        super()._deliver(node, src, message)

    def _apply(self, node: SimNode, actions: list[Action]) -> None:
        if node.node_id == TWIN and self.forger:
            highest = node.core.tree.highest_tc
            if highest is not None:
                self.tcs_seen.setdefault(highest.round, highest)
            forged: list[Action] = []
            for action in actions:
                forged.extend(self._stale(node, action))
            actions = forged
        super()._apply(node, actions)
        if node.honest and not node.crashed:
            self._check_certified_extends_commits(node)
        if self.amnesia and node.honest and not node.crashed:
            voted = [a.vote.data.round for a in actions if isinstance(a, SendVote)]
            if any(r in self._faulty_rounds for r in voted):
                # Crash-recovery: the core restarts from its durable stores only, so it no
                # longer remembers the proposal it voted for; the safety rules must.
                self.crash(node.node_id)
                self.recover(node.node_id, restart=True)

    def _step(self, node: SimNode, call: Callable[[], list[Action]]) -> None:
        try:
            super()._step(node, call)
        except InvariantViolation:
            raise
        except Exception as exc:
            self._check_highest_qc_kept(node, exc)
            raise

    def _check_highest_qc_kept(self, node: SimNode, exc: Exception) -> None:
        """Name the safety failure behind a core that broke on a pruned highest QC.

        A commit keeps only the new root and its descendants, so the block of a node's
        highest QC is pruned only if it conflicts with what that very call committed;
        its round is then above the committing QC's: the lemma of
        :meth:`_check_certified_extends_commits`, broken inside one core call, before
        the :class:`Commit` action could be seen (the core then fails to propose on it).
        """
        tree = node.core.tree
        qc = tree.highest_qc
        if node.honest and qc.block_id not in tree:
            root = tree.root.header
            raise InvariantViolation(
                f"certified fork: node {node.node_id} committed round {root.round} at "
                f"height {root.height}, pruning the conflicting block of its highest QC "
                f"(round {qc.round}); the core then failed: {type(exc).__name__}"
            ) from exc

    def _on_commit(self, node: SimNode, blocks: Sequence[CommittedBlock]) -> None:
        super()._on_commit(node, blocks)
        for committed in blocks:
            header = committed.block.header
            if self.canonical.get(header.height) == committed.block_id:
                self._committed_rounds.setdefault(header.height, header.round)

    def _check_certified_extends_commits(self, node: SimNode) -> None:
        """Jolteon's safety lemma: a QC of a round above a committed block's round
        certifies a descendant of it. Checked on each honest node's highest QC, so a
        forbidden fork is reported when it is certified, not only once it commits."""
        tree = node.core.tree
        qc = tree.highest_qc
        if self._checked_qc.get(node.node_id) == qc.block_id:
            return
        self._checked_qc[node.node_id] = qc.block_id
        current = qc.block_id
        while current != tree.root_id:
            block = tree.get(current)
            if block is None:
                return
            height = block.header.height
            committed = self.canonical.get(height)
            if (
                committed is not None
                and committed != current
                and qc.round > self._committed_rounds[height]
            ):
                raise InvariantViolation(
                    f"certified fork: node {node.node_id} holds a round-{qc.round} QC on a "
                    f"chain that conflicts with the block committed at height {height} "
                    f"(round {self._committed_rounds[height]})"
                )
            current = block.header.parent_id

    def _stale(self, node: SimNode, action: Action) -> list[Action]:
        """Replace the twin's proposal by one on its oldest certified block with an old TC,
        and its vote for its own honest block by a vote for the forged one."""
        if isinstance(action, SendVote) and action.vote.data.round in self._forged:
            forged_id, height = self._forged[action.vote.data.round]
            data = msgspec.structs.replace(action.vote.data, block_id=forged_id, height=height)
            signature = self.chain.keys[node.index].sign(vote_signing_bytes(data))
            return [SendVote(action.to, Vote(data=data, author=node.index, signature=signature))]
        if not isinstance(action, Broadcast) or not isinstance(action.message, Proposal):
            return [action]
        honest = action.message.block.header
        tree = node.core.tree
        certs: list[QuorumCert] = [tree.highest_qc]
        for bid in tree.pending_ids():
            block = tree.get(bid)
            if block is not None and block.header.justify.block_id in tree:
                certs.append(block.header.justify)
        qc = min(certs, key=lambda c: (c.round, c.block_id))
        parent = tree.get(qc.block_id)
        assert parent is not None
        round_ = honest.round
        # The TC of the previous round (its high-QC round may exceed qc's), or the highest
        # older TC whose high QCs qc covers: the rules must refuse both.
        previous = self.tcs_seen.get(round_ - 1)
        older = [
            t
            for r, t in self.tcs_seen.items()
            if r < round_ - 1 and t.max_high_qc_round() <= qc.round
        ]
        stale = max(older, key=lambda t: t.round, default=None)
        tc = (previous or stale) if self.forger == 1 else (stale or previous)
        header = msgspec.structs.replace(
            honest,
            height=parent.header.height + 1,
            parent_id=qc.block_id,
            justify=qc,
            timestamp_ms=max(honest.timestamp_ms, parent.header.timestamp_ms),
            tx_root=HASH(b"stale" + honest.tx_root),
        )
        bid = block_id(HASH, header)
        signature = self.chain.keys[node.index].sign(proposal_signing_bytes(bid))
        self._forged[round_] = (bid, header.height)
        block = Block(header=header, transactions=(), signature=signature)
        return [Broadcast(Proposal(block=block, tc=tc))]


@contextmanager
def memoized_verification() -> Iterator[None]:
    """Verify each (key, message, signature) once per scenario instead of once per node.

    Five cores check the same real signatures; signature verification is a pure
    function of the key, the message and the signature and is most of a scenario's
    time, so :meth:`PublicKey.verify`'s result (DER decoding included) is reused while
    the scenario runs. Every signature is still verified once, and a forged one still
    fails.
    """
    original = PublicKey.verify
    seen: dict[tuple[KeyType, bytes, bytes, bytes, bytes], bool] = {}

    def verify(
        self: PublicKey, message: bytes, signature: bytes, *, user_id: bytes = DEFAULT_SM2_ID
    ) -> bool:
        key = (self.key_type, self.to_bytes(), message, signature, user_id)
        result = seen.get(key)
        if result is None:
            result = seen[key] = original(self, message, signature, user_id=user_id)
        return result

    PublicKey.verify = verify  # type: ignore[method-assign]
    try:
        yield
    finally:
        PublicKey.verify = original  # type: ignore[method-assign]
        seen.clear()


@dataclass
class SweepResult:
    """A sweep's outcome: scenarios run, the first violation if any, and the speed."""

    scenarios: int = 0
    violation: str | None = None
    violating_scenario: int | None = None
    failed_at: int | None = None
    """How many scenarios the sweep had run when it met the first failure."""
    no_progress: list[int] = field(default_factory=list)
    seconds: float = 0.0
    """CPU seconds of this process (robust to a busy machine)."""

    @property
    def per_second(self) -> float:
        return self.scenarios / self.seconds if self.seconds else 0.0


def sweep(
    space: TwinsSpace,
    count: int,
    *,
    seed: int = 0,
    start: int = 0,
    stop_at_violation: bool = True,
) -> SweepResult:
    """Run scenarios ``start..start+count`` of ``space.walk(seed)``; stop at the first violation."""
    result = SweepResult()
    began = time.process_time()
    walk = space.walk(seed)
    for k, number in enumerate(walk):
        if k < start:
            continue
        if k >= start + count:
            break
        result.scenarios += 1
        try:
            run = space.run(number)
        except InvariantViolation as exc:
            failure = str(exc)
        except Exception as exc:
            failure = f"crash: {type(exc).__name__}: {exc}"
        else:
            if not run.progressed:
                result.no_progress.append(number)
            continue
        if result.violation is None:
            result.violation, result.violating_scenario = failure, number
            result.failed_at = result.scenarios
        if stop_at_violation:
            break
    result.seconds = time.process_time() - began
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m tests.consensus.twins [--rounds R] [--count N] [MUTANT ...]``: the table
    of docs/consensus.md ("How safety is tested"), one line per mutant (or the real rules);
    ``--rounds 6`` is the fast sweep's space, ``--rounds 7`` the slow one's."""
    import argparse

    from tests.consensus.mutants import MUTANTS_BY_NAME

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--rounds", type=int, default=6, help="scheduled rounds of the space")
    parser.add_argument("--count", type=int, default=3000, help="scenarios of walk 0")
    parser.add_argument("mutants", nargs="*", help="mutant names; none: the real rules")
    args = parser.parse_args(argv)
    space = TwinsSpace(rounds=args.rounds)
    for name in args.mutants or ["(real rules)"]:
        mutant = MUTANTS_BY_NAME.get(name)
        if mutant is None:
            result = sweep(space, args.count, stop_at_violation=False)
        else:
            with mutant.applied():
                result = sweep(space, args.count)
        print(
            f"{name}: {result.scenarios} scenarios, first failure after {result.failed_at} "
            f"(scenario {result.violating_scenario}: {(result.violation or '-')[:60]}), "
            f"{result.per_second:.1f} scenarios per CPU second, "
            f"{len(result.no_progress)} without progress after GST"
        )


if __name__ == "__main__":
    main()
