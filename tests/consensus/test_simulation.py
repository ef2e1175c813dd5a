"""Simulated networks of real consensus cores (``sim.py``): safety always, liveness after GST.

Every run is seeded and runs on a virtual clock; agreement, chain linking and the QC
chain of every committed block are checked on each commit (``Simulation._on_commit``),
and prefix-consistency at the end. A failing Twins scenario names its seed: replay it
with ``run_twins(TwinsScenario.generate(seed))``.
"""

from __future__ import annotations

import pytest
from tests.consensus.sim import (
    InvariantViolation,
    Simulation,
    TwinsScenario,
    groups_partition,
    run_twins,
)
from tests.consensus.support import make_qc, signed_block

from consortia.consensus.blocktree import CommittedBlock
from consortia.consensus.core import EquivocationKind
from consortia.crypto import KeyType

LIVENESS_S = 60.0
"""Virtual seconds within which a healthy (or healed) network must commit."""


def _assert_identical(sim: Simulation, height: int) -> None:
    """All live honest nodes hold the same first ``height`` committed blocks."""
    chains = {tuple(n.committed_ids()[:height]) for n in sim.live_honest()}
    assert len(chains) == 1, "honest chains differ"
    assert all(n.committed_height >= height for n in sim.live_honest())


# ------------------------------------------------------------------ healthy networks


def test_single_validator_commits() -> None:
    sim = Simulation(1, seed=1)
    sim.start()
    assert sim.run_until_height(20, deadline=LIVENESS_S)
    sim.check_prefixes()


@pytest.mark.parametrize("seed", range(5))
def test_four_honest_validators_commit_within_bounded_time(seed: int) -> None:
    sim = Simulation(4, seed=seed)
    sim.start()
    assert sim.run_until_height(30, deadline=30.0), f"seed {seed}: no liveness"
    sim.check_prefixes()
    _assert_identical(sim, 30)
    assert all(n.rejected == 0 for n in sim.nodes)


def test_weighted_committee_commits() -> None:
    sim = Simulation(4, seed=3, weights=(3, 1, 1, 2))
    sim.start()
    assert sim.run_until_height(15, deadline=LIVENESS_S)
    _assert_identical(sim, 15)


def test_sm2_keys() -> None:
    sim = Simulation(4, seed=11, key_type=KeyType.SM2)
    sim.start()
    assert sim.run_until_height(5, deadline=LIVENESS_S)
    sim.check_prefixes()
    _assert_identical(sim, 5)


# -------------------------------------------------------------------------- crashes


@pytest.mark.parametrize("crashed", [0, 1, 2, 3])
def test_one_crashed_validator_including_upcoming_leaders(crashed: int) -> None:
    sim = Simulation(4, seed=20 + crashed)
    sim.crash(crashed)  # leads every fourth round from the start
    sim.start()
    assert sim.run_until_height(10, deadline=LIVENESS_S), f"crashed {crashed}: no liveness"
    sim.check_prefixes()
    _assert_identical(sim, 10)


def test_validator_crashing_mid_run() -> None:
    sim = Simulation(4, seed=5)
    sim.start()
    assert sim.run_until_height(5, deadline=LIVENESS_S)
    leader_next = sim.nodes[0].core.committee.leader(sim.max_round() + 1)
    sim.crash(leader_next)
    target = max(n.committed_height for n in sim.nodes) + 10
    assert sim.run_until_height(target, deadline=sim.now + LIVENESS_S)
    sim.check_prefixes()


@pytest.mark.parametrize("restart", [True, False])
def test_two_crashed_halt_without_fork_then_one_recovers(restart: bool) -> None:
    sim = Simulation(4, seed=7)
    sim.start()
    assert sim.run_until_height(4, deadline=LIVENESS_S)
    sim.crash(2)
    sim.crash(3)
    sim.run_for(5.0)  # in-flight messages settle
    stalled = [n.committed_height for n in sim.nodes]
    sim.run_for(60.0)
    assert [n.committed_height for n in sim.nodes] == stalled, "committed without a quorum"
    sim.check_prefixes()
    sim.recover(2, restart=restart)
    target = max(stalled) + 5
    assert sim.run_until_height(target, deadline=sim.now + LIVENESS_S), "no recovery"
    sim.check_prefixes()
    _assert_identical(sim, target)


def test_two_crashed_from_the_start_never_commit() -> None:
    sim = Simulation(4, seed=8)
    sim.crash(1)
    sim.crash(2)
    sim.start()
    sim.run_for(60.0)
    assert all(n.committed_height == 0 for n in sim.nodes)
    sim.recover(1, restart=True)
    assert sim.run_until_height(5, deadline=sim.now + LIVENESS_S)
    _assert_identical(sim, 5)


# ------------------------------------------------------------------------- network


@pytest.mark.parametrize("seed", range(3))
def test_partition_halts_then_heals(seed: int) -> None:
    sim = Simulation(4, seed=seed)
    sim.partition = groups_partition((0, 1), (2, 3))
    sim.start()
    sim.run_for(40.0)
    assert all(n.committed_height == 0 for n in sim.nodes), "a minority committed"
    sim.heal()
    assert sim.run_until_height(5, deadline=sim.now + LIVENESS_S), f"seed {seed}: no heal"
    _assert_identical(sim, 5)


def test_partition_after_progress_then_heals() -> None:
    sim = Simulation(4, seed=4)
    sim.start()
    assert sim.run_until_height(5, deadline=LIVENESS_S)
    sim.partition = groups_partition((0, 1), (2, 3))
    sim.run_for(5.0)
    stalled = [n.committed_height for n in sim.nodes]
    sim.run_for(40.0)
    assert [n.committed_height for n in sim.nodes] == stalled
    sim.heal()
    target = max(stalled) + 5
    assert sim.run_until_height(target, deadline=sim.now + LIVENESS_S)
    _assert_identical(sim, target)


@pytest.mark.parametrize("seed", range(6))
def test_message_loss_and_reordering(seed: int) -> None:
    sim = Simulation(4, seed=seed, drop=0.15, min_delay=0.0, max_delay=0.6)
    sim.start()
    assert sim.run_until_height(10, deadline=120.0), f"seed {seed}: no liveness under loss"
    sim.check_prefixes()
    sim.heal()
    target = max(n.committed_height for n in sim.nodes) + 3
    assert sim.run_until_height(target, deadline=sim.now + LIVENESS_S)
    _assert_identical(sim, target)


# --------------------------------------------------------------------------- Twins


def _twins_sweep(seeds: range, *, slot_s: float | None = None) -> None:
    """Round-partitioned scenarios, or with ``slot_s`` time-slotted ones (20 slots to GST)."""
    failures: list[str] = []
    for seed in seeds:
        if slot_s is None:
            scenario = TwinsScenario.generate(seed)
        else:
            scenario = TwinsScenario.generate(seed, rounds=20, slot_s=slot_s)
        try:
            outcome = run_twins(scenario)
        except AssertionError as exc:
            failures.append(f"seed {seed} (slot_s={slot_s}): {exc}")
            continue
        if not outcome.progressed:
            failures.append(
                f"seed {seed} (slot_s={slot_s}): no progress after GST, "
                f"heights {outcome.final_heights}"
            )
    assert not failures, "Twins scenarios failed (replay by seed): " + "; ".join(failures[:10])


@pytest.mark.parametrize("chunk", range(6))
def test_twins_scenarios(chunk: int) -> None:
    _twins_sweep(range(chunk * 50, (chunk + 1) * 50))


@pytest.mark.parametrize("chunk", range(2))
def test_twins_time_slotted_scenarios(chunk: int) -> None:
    _twins_sweep(range(chunk * 30, (chunk + 1) * 30), slot_s=1.0)


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(10))
def test_twins_sweep(chunk: int) -> None:
    _twins_sweep(range(10_000 + chunk * 200, 10_000 + (chunk + 1) * 200))


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(4))
def test_twins_time_slotted_sweep(chunk: int) -> None:
    _twins_sweep(range(10_000 + chunk * 100, 10_000 + (chunk + 1) * 100), slot_s=1.0)


def test_invariant_checker_flags_a_fork() -> None:
    """The harness itself: a conflicting commit at a height is caught on the spot."""
    sim = Simulation(4, seed=0)
    sim.crash(3)
    sim.start()
    assert sim.run_until_height(1, deadline=LIVENESS_S)
    chain = sim.chain
    other, other_id = signed_block(
        chain, chain.genesis, chain.genesis_id, 1, chain.genesis_qc, payload=b"fork"
    )
    fork = CommittedBlock(other, other_id, make_qc(chain, other, other_id, (0, 1, 2)))
    with pytest.raises(InvariantViolation, match="agreement"):
        sim._on_commit(sim.nodes[3], [fork])


# --------------------------------------------------------------------- equivocation


def test_twin_equivocation_is_recorded() -> None:
    """A twin leader proposes twice in round 1 and both twins vote for their own block."""
    sim = Simulation(4, seed=2, twins=(1,), leaders=(1,), later_leaders=(0, 2, 3))
    sim.start()
    sim.run_for(3.0)
    honest = [n for n in sim.nodes if n.honest]
    proposals = [e for n in honest for e in n.core.evidence if e.kind is EquivocationKind.PROPOSAL]
    votes = [e for n in honest for e in n.core.evidence if e.kind is EquivocationKind.VOTE]
    assert proposals and all(e.author == 1 and e.round == 1 for e in proposals)
    assert proposals[0].first != proposals[0].second
    assert votes and all(e.author == 1 and e.round == 1 for e in votes)
    assert sim.run_until_height(5, deadline=sim.now + LIVENESS_S)
    sim.check_prefixes()
