"""The enumerated Twins sweep ([TWINS-GEN.*] in tests/consensus/twins.py) and its mutation check.

Two sweeps run scenarios in the fixed strided order of ``walk(SWEEP_SEED)``: the fast
one over :data:`SPACE` (6 scheduled rounds), the slow one over :data:`SLOW_SPACE` (7
rounds: the Twins paper's lever of longer schedules, which the counterexamples of
``stale-tc`` need). Their scenarios must hold every invariant with the real safety
rules, and each mutant of :data:`MUTANTS` must break one within the sweep
:data:`CAUGHT_BY` names (a mutant test stops at the first violation, so it costs only
the scenarios before it; the scenario that caught it must then hold with the real
rules, so a catch is never a false alarm) and in its hand-derived counterexample
(:data:`COUNTEREXAMPLES`). The table of which sweep catches which mutant, after how
many scenarios, is in docs/consensus.md ("How safety is tested"); a failure names the
scenario: replay it with ``TwinsSpace(rounds=...).run(number)``.
"""

from __future__ import annotations

import pytest
from tests.consensus.mutants import MUTANTS, MUTANTS_BY_NAME, Mutant, MutantDrift
from tests.consensus.sim import InvariantViolation
from tests.consensus.support import validator_key
from tests.consensus.twins import (
    ADVERSARIES,
    AMNESIA,
    NODES,
    EnumeratedScenario,
    Groups,
    RoundChoice,
    TwinsSpace,
    memoized_verification,
    run_scenario,
    set_partitions,
    sweep,
)

SPACE = TwinsSpace()
"""The fast sweep's space: 6 scheduled rounds."""
SLOW_SPACE = TwinsSpace(rounds=7)
"""The slow sweep's space: 7 scheduled rounds, 36 times as many scenarios."""
SWEEP_SEED = 0
FAST_SCENARIOS = 600
"""Scenarios of the fast sweep (``make test``): the real rules hold in all, and the
``fast`` mutants of :data:`CAUGHT_BY` break one of them."""
SLOW_SCENARIOS = 2400
"""Scenarios of the slow sweep (``-m slow``, in CI) in which the real rules must hold."""
SLOW_MUTANT_SCENARIOS = 3600
"""Budget of the ``slow`` mutants: the first scenarios of the slow walk, of which the
catching one is replayed with the real rules (all 3,600 hold: docs/consensus.md)."""

CAUGHT_BY: dict[str, str] = {
    "one-chain-commit": "fast",
    "two-votes-per-round": "fast",
    "no-tc-high-qc-check": "fast",
    "stale-tc": "slow",
    "no-consecutive-round": "slow",
}
"""Which sweep finds each mutant: ``fast`` or ``slow`` (every mutant also has a
hand-derived Twins counterexample, :data:`COUNTEREXAMPLES`). docs/consensus.md has the
measured counts."""


# ----------------------------------------------------------------------- generator


def test_partitions_are_enumerated_once_each() -> None:
    """Five nodes into <= 2 groups: S(5,1) + S(5,2) = 16; into <= 3: + S(5,3) = 41."""
    two, three = set_partitions(NODES, 2), set_partitions(NODES, 3)
    assert len(two) == len(set(two)) == 16
    assert len(three) == len(set(three)) == 41
    for groups in three:
        assert sorted(n for g in groups for n in g) == list(NODES)


def test_space_counts_its_choices() -> None:
    """9 partitions (twins apart, or all connected) x 4 leaders per round, x 4 adversaries."""
    assert len(SPACE.choices) == 36
    assert SPACE.size == 36**SPACE.rounds * ADVERSARIES
    wide = TwinsSpace(twins_apart=False, adversaries=False)
    assert wide.size == (16 * 4) ** wide.rounds
    narrow = TwinsSpace(any_leader=False)
    assert len(narrow.choices) == 18


def test_walk_visits_every_scenario_once() -> None:
    small = TwinsSpace(rounds=2)
    numbers = list(small.walk(SWEEP_SEED))
    assert sorted(numbers) == list(range(small.size))
    assert numbers[:50] == list(TwinsSpace(rounds=2).walk(SWEEP_SEED))[:50], "not deterministic"
    decoded = {small.scenario(n) for n in numbers}
    assert len(decoded) == small.size


def test_scenario_decoding() -> None:
    scenario = SPACE.scenario(SPACE.size - 1)
    assert len(scenario.rounds) == SPACE.rounds
    assert scenario.adversary == ADVERSARIES - 1
    with pytest.raises(ValueError):
        SPACE.scenario(SPACE.size)


def test_memoized_verification_still_refuses_a_bad_signature() -> None:
    key = validator_key(1)
    public = key.public_key()
    good = key.sign(b"message")
    with memoized_verification():
        for _ in range(2):
            assert public.verify(b"message", good)
            assert not public.verify(b"other message", good)
            assert not validator_key(2).public_key().verify(b"message", good)


# ----------------------------------------------------------------------- the sweep


def _assert_clean(space: TwinsSpace, count: int, start: int = 0) -> None:
    result = sweep(space, count, seed=SWEEP_SEED, start=start, stop_at_violation=False)
    assert result.violation is None, (
        f"scenario {result.violating_scenario}: {result.violation} "
        f"(replay: TwinsSpace(rounds={space.rounds}).run({result.violating_scenario}))"
    )
    assert not result.no_progress, f"no progress after GST in scenarios {result.no_progress}"
    assert result.scenarios == count


@pytest.mark.parametrize("part", range(2))
def test_enumerated_twins_sweep(part: int) -> None:
    """The fast sweep holds every invariant with the real rules (and commits after GST)."""
    half = FAST_SCENARIOS // 2
    _assert_clean(SPACE, half, start=part * half)


@pytest.mark.slow
@pytest.mark.parametrize("part", range(4))
def test_enumerated_twins_sweep_slow(part: int) -> None:
    """The slow sweep (7 rounds) holds every invariant with the real rules."""
    quarter = SLOW_SCENARIOS // 4
    _assert_clean(SLOW_SPACE, quarter, start=part * quarter)


# ----------------------------------------------------------------------- mutants


def test_mutants_match_the_code() -> None:
    """Every replacement still applies exactly once (``source`` raises otherwise)."""
    assert set(CAUGHT_BY) == set(MUTANTS_BY_NAME) == set(COUNTEREXAMPLES)
    for mutant in MUTANTS:
        text = mutant.source()
        for old, new in mutant.replacements:
            assert old not in text or old in new
            assert not new or new in text


def test_a_drifted_mutant_is_refused_and_patches_are_undone() -> None:
    good = MUTANTS_BY_NAME["stale-tc"]
    drifted = Mutant("drifted", good.owner, good.method, (("no such text", ""),), good.rule)
    with pytest.raises(MutantDrift), drifted.applied():
        pass
    original = good.owner.__dict__[good.method]
    with good.applied():
        assert good.owner.__dict__[good.method] is not original
    assert good.owner.__dict__[good.method] is original


def _assert_caught(mutant: Mutant, space: TwinsSpace, budget: int) -> None:
    with mutant.applied():
        result = sweep(space, budget, seed=SWEEP_SEED)
    assert result.violation is not None, (
        f"mutant {mutant.name} ({mutant.rule}) survived {result.scenarios} scenarios"
    )
    assert result.failed_at is not None and result.failed_at <= budget
    assert result.violating_scenario is not None
    # The catch counts only if the real rules hold in that very scenario.
    run = space.run(result.violating_scenario)
    assert run.progressed, f"scenario {result.violating_scenario}: no progress after GST"


@pytest.mark.parametrize("name", [name for name, sweep_ in CAUGHT_BY.items() if sweep_ == "fast"])
def test_fast_sweep_catches_mutant(name: str) -> None:
    _assert_caught(MUTANTS_BY_NAME[name], SPACE, FAST_SCENARIOS)


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name, sweep_ in CAUGHT_BY.items() if sweep_ == "slow"])
def test_slow_sweep_catches_mutant(name: str) -> None:
    _assert_caught(MUTANTS_BY_NAME[name], SLOW_SPACE, SLOW_MUTANT_SCENARIOS)


# ------------------------------------------------------------- shrunk counterexamples

ALL: Groups = ((0, 1, 2, 3, 4),)
"""Every node connected. Node 0 is the faulty validator, node 4 its twin."""


def _cut(honest: int) -> Groups:
    """Honest validator ``honest`` and twin 0 apart from the other three nodes."""
    return ((0, honest), tuple(n for n in (1, 2, 3, 4) if n != honest))


def _scenario(seed: int, rounds: list[tuple[int, Groups]], adversary: int) -> EnumeratedScenario:
    """Scenario ``seed`` (its network seed) with (leader, partition) per round."""
    choices = tuple(RoundChoice(leader, groups) for leader, groups in rounds)
    return EnumeratedScenario(seed, choices, adversary)


CUT3 = [(3, _cut(3)), (2, _cut(3)), (1, _cut(3))]


COUNTEREXAMPLES: dict[str, EnumeratedScenario] = {
    # B1 (r1) certified, QC at 1 only; X (r3) on genesis via TC2, QC at 2 only; C (r5) on
    # QC(B1) via TC4, QC at 3, which commits B1 on the non-consecutive pair (1, 5); 3 is
    # cut off, and 2 extends X in r7 via TC6: X and its children commit at height 1.
    "no-consecutive-round": _scenario(
        0,
        [(3, ALL), (1, _cut(1)), (3, ALL), (2, _cut(2)), (1, ALL), *CUT3],
        0,
    ),
    # B1, B2 certified; 3 commits B1 and is cut off; the forging twin proposes on genesis
    # with TC3 (high QC round 1) in r4, and 1 and 2 vote for it.
    "no-tc-high-qc-check": _scenario(
        7, [(1, ALL), (2, ALL), (3, _cut(3)), (0, _cut(3)), (1, _cut(3)), (2, _cut(3))], 1
    ),
    # The twins lead r1-r3 and equivocate; each honest voter restarts after voting, forgets
    # the first proposal and votes for the second: both branches get QCs and commit.
    "two-votes-per-round": _scenario(
        15, [(0, ALL), (0, ALL), *[(v, ((0, 1, 2), (3, 4))) for v in (0, 1, 2, 3)]], AMNESIA
    ),
    # TC1 (high QC round 0) is kept by the twin; B2 commits at 3, which is cut off; in r5
    # the twin proposes on genesis with TC1, four rounds stale.
    "stale-tc": _scenario(
        5,
        [(3, _cut(3)), (1, ALL), (2, ALL), (3, _cut(3)), (0, _cut(3)), (1, _cut(3)), (2, _cut(3))],
        2,
    ),
    # Any commit on a single QC is early: the scenario of no-tc-high-qc-check shows it.
    "one-chain-commit": _scenario(
        7, [(1, ALL), (2, ALL), (3, _cut(3)), (0, _cut(3)), (1, _cut(3)), (2, _cut(3))], 1
    ),
}
"""One hand-derived Twins scenario per mutant, kept as a regression ([TWINS-GEN.6])."""


SLOW_STALE_TC_CATCH = 73741873766
"""The slow sweep's scenario that breaks ``stale-tc`` (the 3,504th of its walk)."""


def test_a_core_broken_by_a_pruned_highest_qc_is_reported_as_a_certified_fork() -> None:
    """Under ``stale-tc``, node 1 of the slow sweep's catch holds a round-5 QC on a
    genesis child, then commits the round-3 block at height 1 in the same core call,
    pruning that QC's block, and its core breaks (KeyError) before the Commit action is
    seen: the harness names it a certified fork; the real rules hold there."""
    with (
        MUTANTS_BY_NAME["stale-tc"].applied(),
        pytest.raises(InvariantViolation, match=r"certified fork: .* pruning the conflicting"),
    ):
        SLOW_SPACE.run(SLOW_STALE_TC_CATCH)
    assert SLOW_SPACE.run(SLOW_STALE_TC_CATCH).progressed


@pytest.mark.parametrize("name", sorted(COUNTEREXAMPLES))
def test_counterexample_holds_with_the_real_rules(name: str) -> None:
    run = run_scenario(COUNTEREXAMPLES[name])
    assert run.progressed, f"{name}: no progress after GST, heights {run.final_heights}"


@pytest.mark.parametrize("name", sorted(COUNTEREXAMPLES))
def test_counterexample_breaks_the_mutant(name: str) -> None:
    with (
        MUTANTS_BY_NAME[name].applied(),
        pytest.raises(InvariantViolation, match=r"agreement|certified fork"),
    ):
        run_scenario(COUNTEREXAMPLES[name])
