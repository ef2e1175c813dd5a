"""End-of-block hooks: typed events, a gas budget, deterministic order ([EXEC-BLOCK-END.1]).

Two small modules defined here run through the real block transition
(``transition.apply_block`` over an LMDB block store and state tree):

* ``maturity``: ``schedule`` stores an item to mature at a height; at the end
  of that height's block the hook deletes it and emits ``Matured``;
* ``hog``: its hook emits an event, writes a marker, then writes until it
  runs out of the policy's ``end_block_gas``.

Chain drawn per test::

    genesis(0) -- b1 [schedule a@2, b@3, c@3] -- b2 -- b3 -- b4
                                                 a      b,c
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from tests.execution.chain import genesis_for, key, make_tx
from tests.execution.test_transition import Ledger

from consortia.codec import U64, Canonical, Name
from consortia.consensus.blocktree import CommittedBlock
from consortia.crypto import KeyType
from consortia.execution import transition
from consortia.execution.block_end import (
    BlockEndReceipt,
    block_end_leaf,
    read_block_end_receipts,
)
from consortia.execution.errors import ModuleError
from consortia.execution.events import EventStruct, InvalidEventDeclaration, UndeclaredEvent
from consortia.execution.executor import Runtime
from consortia.execution.module import BlockEndContext, Method, TxContext
from consortia.execution.policy import MIN_END_BLOCK_GAS, ChainPolicy, policy_problem
from consortia.execution.state_view import StateView
from consortia.genesis import Genesis, default_runtime
from consortia.ledger.merkle import merkle_root
from consortia.ledger.types import STATUS_OK, Event, receipt_leaf
from consortia.modules.assets.types import Transfer
from consortia.node.event_log import read_event_log

ALICE = key(KeyType.SM2, 1)
PREFIX = b"maturity/"


class Schedule(Canonical, frozen=True):
    """``maturity.schedule``: ``item`` matures at ``height``."""

    item: Name
    height: U64


class Scheduled(EventStruct, frozen=True):
    event_name = "scheduled"
    item: str
    height: int


class Matured(EventStruct, frozen=True):
    event_name = "matured"
    item: str
    height: int
    owner: bytes


class HogStarted(EventStruct, frozen=True):
    event_name = "hog_started"
    height: int


def _due_key(height: int, item: str) -> bytes:
    return PREFIX + height.to_bytes(8, "big") + item.encode()


def _schedule(ctx: TxContext, args: Schedule) -> None:
    ctx.state.set(_due_key(args.height, args.item), ctx.sender)
    ctx.emit(Scheduled(item=args.item, height=args.height))


class MaturityModule:
    """Items mature at the end of the block of their height, in key (item) order."""

    name = "maturity"
    methods: Mapping[str, Method[Any]] = {"schedule": Method(Schedule, _schedule, gas=1_000)}
    events: tuple[type[EventStruct], ...] = (Scheduled, Matured)

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """Nothing is scheduled at genesis."""

    def end_block(self, ctx: BlockEndContext) -> None:
        height = ctx.block.height
        due = PREFIX + height.to_bytes(8, "big")
        for k, owner in list(ctx.state.iterate(due)):
            ctx.charge(100, "maturity item")
            ctx.state.delete(k)
            ctx.emit(Matured(item=k[len(due) :].decode(), height=height, owner=owner))


class HogModule:
    """A hook that never fits its budget: its marker and event must roll back."""

    name = "hog"
    methods: Mapping[str, Method[Any]] = {}
    events: tuple[type[EventStruct], ...] = (HogStarted,)

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """No state."""

    def end_block(self, ctx: BlockEndContext) -> None:
        ctx.emit(HogStarted(height=ctx.block.height))
        ctx.state.set(b"hog/marker", b"\x01")
        n = 0
        while True:  # each write costs 500 + 5 per byte: the budget stops it
            ctx.state.set(b"hog/" + n.to_bytes(8, "big"), b"x" * 32)
            n += 1


class Undeclared(EventStruct, frozen=True):
    event_name = "undeclared"
    note: str


class SloppyModule(MaturityModule):
    """Emits an event type it did not declare: a programming error."""

    name = "sloppy"

    def end_block(self, ctx: BlockEndContext) -> None:
        ctx.emit(Undeclared(note="oops"))


def _runtime(*extra: object) -> Runtime:
    base = default_runtime()
    modules = dict(base.modules)
    for module in extra:
        modules[module.name] = module  # type: ignore[attr-defined]
    # permissions=None: governance's table knows no test module, so every account may call
    return dataclasses.replace(base, modules=modules, permissions=None)  # type: ignore[arg-type]


def _ledger(path: Path, runtime: Runtime, policy: ChainPolicy | None = None) -> Ledger:
    genesis: Genesis = genesis_for([ALICE], policy=policy)
    ledger = Ledger(path, genesis)
    ledger.runtime = runtime
    return ledger


def _run(ledger: Ledger, blocks: list[tuple[Any, ...]]) -> list[transition.Executed]:
    """Install genesis, then apply one block per entry (its transactions)."""
    parent, pid = ledger.install()
    out = []
    for txs in blocks:
        committed: CommittedBlock = ledger.committed(parent, pid, tuple(txs))
        executed = ledger.apply(committed)
        out.append(executed)
        parent, pid = committed.block, committed.block_id
    return out


def _schedules() -> list[tuple[Any, ...]]:
    return [
        (
            make_tx(ALICE, 0, "maturity", "schedule", Schedule(item="a", height=2)),
            make_tx(ALICE, 1, "maturity", "schedule", Schedule(item="c", height=3)),
            make_tx(ALICE, 2, "maturity", "schedule", Schedule(item="b", height=3)),
        ),
        (),
        (),
        (),
    ]


def test_items_mature_at_their_height_with_typed_events_in_the_block_end_receipt(
    tmp_path: Path,
) -> None:
    ledger = _ledger(tmp_path / "db", _runtime(MaturityModule()))
    executed = _run(ledger, _schedules())
    b1, b2, b3, b4 = executed
    assert [r.status for r in b1.receipts] == [STATUS_OK] * 3
    assert b1.block_end == () and b4.block_end == ()
    owner = ALICE.public_key().address()
    assert b2.block_end == (
        BlockEndReceipt(
            module="maturity",
            height=2,
            index=0,  # block 2 has no transactions: the hook's receipt comes first
            status=STATUS_OK,
            message="",
            gas_used=b2.block_end[0].gas_used,
            events=(
                Event(
                    module="maturity",
                    name="matured",
                    attributes=(("item", "a"), ("height", "2"), ("owner", owner.hex())),
                ),
            ),
        ),
    )
    assert [dict(e.attributes)["item"] for e in b3.block_end[0].events] == ["b", "c"]
    with ledger.env.begin() as txn:
        assert read_block_end_receipts(ledger.store, txn, 3) == b3.block_end
        assert read_block_end_receipts(ledger.store, txn, 4) == ()
        view = StateView(ledger.tree, txn, 4)
        assert list(view.iterate(PREFIX)) == []  # every item matured and was removed
        # receipts_root commits to the hook's receipt after the transactions' receipts
        roots = transition.read_roots(ledger.store, txn, 2)
        assert roots is not None
        assert roots.receipts_root == merkle_root(
            ledger.hash, [block_end_leaf(ledger.hash, r) for r in b2.block_end]
        )
        roots1 = transition.read_roots(ledger.store, txn, 1)
        assert roots1 is not None
        assert roots1.receipts_root == merkle_root(
            ledger.hash, [receipt_leaf(ledger.hash, r) for r in b1.receipts]
        )
        # the event log lists end-block events after the block's transactions
        page = read_event_log(ledger.store, txn, before=None, limit=10, max_blocks=10)
    listed = [(e.position.height, e.position.index, e.event.name) for e in page.events]
    assert listed == [
        (3, 0, "matured"),
        (3, 0, "matured"),
        (2, 0, "matured"),
        (1, 2, "scheduled"),
        (1, 1, "scheduled"),
        (1, 0, "scheduled"),
    ]
    assert page.events[0].tx_id == b""


def test_a_hook_over_its_budget_is_rolled_back_and_the_block_completes(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "db", _runtime(MaturityModule(), HogModule()))
    executed = _run(ledger, _schedules()[:2])
    b1, b2 = executed
    hog = b1.block_end[0]
    assert (hog.module, hog.status, hog.index, hog.events) == ("hog", "END_BLOCK_OUT_OF_GAS", 3, ())
    assert hog.gas_used == ChainPolicy().end_block_gas
    assert "end_block of hog: out of gas at state write" in hog.message
    # hooks run in module-name order: hog, then maturity, which still ran
    assert [(r.module, r.status) for r in b2.block_end] == [
        ("hog", "END_BLOCK_OUT_OF_GAS"),
        ("maturity", STATUS_OK),
    ]
    assert [r.index for r in b2.block_end] == [0, 1]
    with ledger.env.begin() as txn:
        view = StateView(ledger.tree, txn, 2)
        assert view.get(b"hog/marker") is None
        assert list(view.iterate(b"hog/")) == []
        assert view.get(_due_key(3, "b")) is not None  # the block's other writes stayed


def test_the_budget_comes_from_the_chain_policy(tmp_path: Path) -> None:
    small = ChainPolicy(end_block_gas=MIN_END_BLOCK_GAS)
    ledger = _ledger(tmp_path / "db", _runtime(HogModule()), policy=small)
    (b1,) = _run(ledger, [()])
    assert b1.block_end[0].gas_used == MIN_END_BLOCK_GAS
    assert policy_problem(ChainPolicy(end_block_gas=MIN_END_BLOCK_GAS - 1)) == (
        f"end_block_gas must be at least {MIN_END_BLOCK_GAS}"
    )


def test_replaying_the_blocks_on_a_fresh_state_gives_the_same_roots(tmp_path: Path) -> None:
    runs = []
    blocks = _schedules()  # signed once: an SM2 signature's length varies, and with it gas
    for name in ("first", "second"):
        ledger = _ledger(tmp_path / name, _runtime(MaturityModule(), HogModule()))
        executed = _run(ledger, blocks)
        with ledger.env.begin() as txn:
            roots = [transition.read_roots(ledger.store, txn, h) for h in range(5)]
        runs.append((roots, [e.block_end for e in executed]))
    assert runs[0] == runs[1]
    assert all(r is not None for r in runs[0][0])


def test_a_block_without_hook_reports_keeps_its_receipts_root(tmp_path: Path) -> None:
    """No module reported at the block's end: the receipts root is the transactions' alone."""
    ledger = _ledger(tmp_path / "db", default_runtime())
    sender = ALICE

    tx = make_tx(
        sender, 0, "assets", "transfer", Transfer(symbol="NONE", to=b"\x01" * 20, amount=1)
    )
    (b1,) = _run(ledger, [(tx,)])
    assert b1.block_end == ()
    with ledger.env.begin() as txn:
        roots = transition.read_roots(ledger.store, txn, 1)
    assert roots is not None
    leaves = [receipt_leaf(ledger.hash, r) for r in b1.receipts]
    assert roots.receipts_root == merkle_root(ledger.hash, leaves)


def test_an_undeclared_event_stops_the_block_as_a_programming_error(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "db", _runtime(SloppyModule()))
    parent, pid = ledger.install()
    with pytest.raises(UndeclaredEvent, match="module sloppy emitted Undeclared"):
        ledger.apply(ledger.committed(parent, pid))
    with ledger.env.begin() as txn:
        assert ledger.store.latest_height(txn) == 0  # nothing of the block was kept


def test_a_module_declaring_a_non_event_is_refused_at_registration() -> None:
    class Bad(MaturityModule):
        name = "bad"
        events = (Schedule,)  # type: ignore[assignment]

    with pytest.raises(InvalidEventDeclaration, match="module bad declares"):
        _runtime(Bad())


class Refusing(ModuleError):
    """A hook's own refusal."""

    code = "REFUSING_HOOK"


class RefusingModule(MaturityModule):
    """Writes, emits, then refuses: rolled back with its own code."""

    name = "refusing"

    def end_block(self, ctx: BlockEndContext) -> None:
        ctx.state.set(b"refusing/marker", b"\x01")
        ctx.emit(Scheduled(item="x", height=ctx.block.height))
        raise Refusing("nothing to net this cycle")


def test_a_hook_that_raises_a_module_error_is_rolled_back_with_its_code(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "db", _runtime(RefusingModule()))
    (b1,) = _run(ledger, [()])
    (receipt,) = b1.block_end
    assert (receipt.module, receipt.status, receipt.events) == ("refusing", "REFUSING_HOOK", ())
    assert receipt.message == "end_block of refusing: nothing to net this cycle"
    with ledger.env.begin() as txn:
        assert StateView(ledger.tree, txn, 1).get(b"refusing/marker") is None
