"""A module version's migration runs once, at its activation height, before the block's
transactions ([EXT-MIGRATE.1]); a fresh node replaying the chain reaches the same roots.

The chain (one governor, who schedules the upgrade by a real proposal)::

    h1  bump a, bump a, bump b      counter v1: counter/v1/a = "2", counter/v1/b = "1"
    h2  propose schedule_upgrade counter 2 at h6
    h3  vote yes                    executes: chain/module_versions/counter = 2 @ h6
    h4  bump a                      v1: a = "3"
    h5  (empty)
    h6  bump a                      migration first (a -> 3, b -> 1 as v2 structs), then v2: a = 4
    h7  bump c                      v2
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import msgspec
import pytest
from tests.execution.chain import Chain, address, genesis_for, key, make_tx
from tests.execution.ext_modules import V1_PREFIX, V2_PREFIX, Bump, Count, CounterV1, CounterV2
from tests.execution.test_transition import Ledger

from consortia.codec import decode, encode
from consortia.crypto import KeyType, PrivateKey
from consortia.execution import transition
from consortia.execution.executor import Runtime
from consortia.execution.extensions import MigrationFailed
from consortia.execution.state_view import StateView
from consortia.execution.upgrades import MigrationRecord, migrated_key
from consortia.genesis import Genesis, default_runtime
from consortia.ledger.types import Transaction
from consortia.modules.governance.types import (
    DEFAULT_PERMISSIONS,
    NEXT_PROPOSAL_KEY,
    CastVote,
    Charter,
    Choice,
    Counter,
    Governor,
    Permission,
    ProposalKind,
    Propose,
    ScheduleUpgrade,
)

GOV = key(KeyType.SM2, 300)
ALICE = key(KeyType.SM2, 1)
ACTIVATION = 6


def _genesis() -> Genesis:
    charter = Charter(
        governors=(Governor(address=address(GOV), weight=1),),
        permissions=(*DEFAULT_PERMISSIONS, Permission(module="counter", method="*")),
    )
    return msgspec.structs.replace(genesis_for([GOV, ALICE]), governance=charter)


def _runtime(v2: CounterV2) -> Runtime:
    base = default_runtime()
    return dataclasses.replace(
        base,
        modules={**base.modules, "counter": CounterV1()},
        upgrades={("counter", "2"): v2},
    )


class Script:
    """Signs the chain's transactions with running nonces; keeps every block for replay."""

    def __init__(self) -> None:
        self.nonces: dict[bytes, int] = {}
        self.blocks: list[list[Transaction]] = []

    def tx(self, signer: PrivateKey, module: str, method: str, args: object) -> Transaction:
        who = address(signer)
        nonce = self.nonces.get(who, 0)
        self.nonces[who] = nonce + 1
        return make_tx(signer, nonce, module, method, args)

    def bump(self, name: str) -> Transaction:
        return self.tx(ALICE, "counter", "bump", Bump(name=name))

    def run(self, chain: Chain, txs: list[Transaction]) -> list[str]:
        outcomes = chain.execute(txs)
        self.blocks.append(txs)
        return [o.receipt.status for o in outcomes]

    def schedule(self, chain: Chain, activation: int, deadline: int = 40) -> None:
        payload = ScheduleUpgrade(module="counter", version="2", activation_height=activation)
        propose = Propose(
            kind=ProposalKind.SCHEDULE_UPGRADE, payload=encode(payload), deadline_height=deadline
        )
        assert self.run(chain, [self.tx(GOV, "governance", "propose", propose)]) == ["OK"]
        proposal_id = self._last_proposal(chain)
        vote = CastVote(proposal_id=proposal_id, choice=Choice.YES)
        assert self.run(chain, [self.tx(GOV, "governance", "vote", vote)]) == ["OK"]

    @staticmethod
    def _last_proposal(chain: Chain) -> int:
        counter = chain.read(lambda v: v.get_struct(NEXT_PROPOSAL_KEY, Counter))
        assert counter is not None
        return counter.value - 1


def _counts(chain: Chain) -> tuple[dict[str, bytes], dict[str, Count]]:
    v1 = {k[len(V1_PREFIX) :].decode(): v for k, v in chain.dump(V1_PREFIX).items()}
    v2 = {k[len(V2_PREFIX) :].decode(): decode(v, Count) for k, v in chain.dump(V2_PREFIX).items()}
    return v1, v2


def _record(chain: Chain) -> MigrationRecord | None:
    return chain.read(lambda v: v.get_struct(migrated_key("counter", "2"), MigrationRecord))


def _build(tmp_path: Path, v2: CounterV2) -> tuple[Chain, Script]:
    chain = Chain.open(tmp_path, _genesis(), _runtime(v2))
    script = Script()
    assert script.run(chain, [script.bump("a"), script.bump("a"), script.bump("b")]) == ["OK"] * 3
    script.schedule(chain, ACTIVATION)  # h2, h3
    assert script.run(chain, [script.bump("a")]) == ["OK"]  # h4
    script.run(chain, [])  # h5
    return chain, script


def test_the_migration_moves_the_old_layout_once_before_the_blocks_transactions(
    tmp_path: Path,
) -> None:
    v2 = CounterV2()
    chain, script = _build(tmp_path / "a", v2)
    try:
        assert _counts(chain) == ({"a": b"3", "b": b"1"}, {})
        assert _record(chain) is None and v2.runs == 0
        assert script.run(chain, [script.bump("a")]) == ["OK"]  # h6: migrate, then bump under v2
        v1, counts = _counts(chain)
        assert v1 == {}
        assert counts == {
            "a": Count(value=4, since_height=ACTIVATION),
            "b": Count(value=1, since_height=ACTIVATION),
        }
        record = _record(chain)
        assert record is not None
        assert (record.module, record.version, record.height) == ("counter", "2", ACTIVATION)
        assert record.gas_used > 0
        assert script.run(chain, [script.bump("c")]) == ["OK"]  # h7
        assert _counts(chain)[1]["c"] == Count(value=1, since_height=7)
        # Scheduling the same version again (h8, h9 -> active at h11) never re-runs it.
        script.schedule(chain, 11)
        script.run(chain, [])  # h10
        script.run(chain, [script.bump("b")])  # h11
        assert v2.runs == 1 and _record(chain) == record
        assert _counts(chain)[1]["b"] == Count(value=2, since_height=ACTIVATION)
    finally:
        chain.close()
    # A fresh node (new store, new module objects) replaying the blocks reaches the same roots.
    replica = Chain.open(tmp_path / "b", _genesis(), _runtime(CounterV2()))
    try:
        for txs in script.blocks:
            replica.execute(txs)
        assert replica.roots == chain.roots
    finally:
        replica.close()


def test_a_migration_past_its_gas_bound_stops_the_block_and_applies_nothing(
    tmp_path: Path,
) -> None:
    chain, script = _build(tmp_path, CounterV2(migration_gas=600))  # one write is 500 + bytes
    try:
        height, root = chain.height, chain.roots[-1]
        with pytest.raises(MigrationFailed) as caught:
            chain.execute([script.bump("a")])
        assert caught.value.code == "EXEC_MIGRATION_FAILED"
        assert caught.value.message.startswith(
            f"migration of counter version 2 at height {ACTIVATION} failed: TX_OUT_OF_GAS: "
        )
        assert (chain.height, chain.roots[-1]) == (height, root)
        assert _counts(chain) == ({"a": b"3", "b": b"1"}, {})
    finally:
        chain.close()


def test_the_node_block_transition_replays_the_upgrade_to_the_same_roots(tmp_path: Path) -> None:
    """The blocks, applied by ``transition.apply_block`` on two fresh block stores (a node
    and a node replaying from genesis), give the same execution roots as each other and as
    the executor harness, at every height."""
    chain, script = _build(tmp_path / "chain", CounterV2())
    try:
        script.run(chain, [script.bump("a")])  # h6: the migration
        script.run(chain, [script.bump("c")])  # h7
    finally:
        chain.close()
    runs = []
    for name in ("node", "replica"):
        ledger = Ledger(tmp_path / name, _genesis())
        ledger.runtime = _runtime(CounterV2())
        parent, parent_id = ledger.install()
        for txs in script.blocks:
            committed = ledger.committed(parent, parent_id, tuple(txs))
            ledger.apply(committed)
            parent, parent_id = committed.block, committed.block_id
        with ledger.env.begin() as txn:
            roots = [transition.read_roots(ledger.store, txn, h) for h in range(8)]
            view = StateView(ledger.tree, txn, 7)
            record = view.get_struct(migrated_key("counter", "2"), MigrationRecord)
        ledger.env.close()
        assert all(r is not None for r in roots)
        runs.append(([r.state_root for r in roots if r is not None], record))
    assert runs[0] == runs[1]
    assert runs[0][0] == chain.roots
    assert runs[0][1] is not None and runs[0][1].height == ACTIVATION
