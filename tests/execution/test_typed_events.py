"""Typed module events ([EXEC-EVENT.1]): declared structs that keep the ledger's encoding."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
from tests.execution.chain import Chain, key, make_tx

from consortia.codec import encode
from consortia.crypto import KeyType
from consortia.execution.events import (
    EventStruct,
    InvalidEventDeclaration,
    UndeclaredEvent,
    event_schema,
    validate_declarations,
)
from consortia.execution.module import Method, TxContext
from consortia.execution.state_view import StateView
from consortia.genesis import default_runtime
from consortia.ledger.types import STATUS_OK, Event
from consortia.modules.assets.events import Burned, Transferred
from consortia.modules.assets.types import Create, Issue, SupplyRule, Transfer

ALICE = key(KeyType.SM2, 1)
BOB = key(KeyType.SM2, 2)


def test_a_struct_becomes_the_event_the_keyword_form_made() -> None:
    """Field order as declared, ints in decimal, bytes in lowercase hex, text as is:
    the bytes of the ledger event are those ``emit("transferred", ...)`` produced."""
    sender, to = bytes(range(20)), b"\xab" * 20
    typed = Transferred(symbol="GOLD", sender=sender, to=to, amount=10**30).to_event("assets")
    legacy = Event(
        module="assets",
        name="transferred",
        attributes=(
            ("symbol", "GOLD"),
            ("sender", sender.hex()),
            ("to", to.hex()),
            ("amount", str(10**30)),
        ),
    )
    assert encode(typed) == encode(legacy)


def test_every_native_module_declares_its_events_with_a_schema() -> None:
    runtime = default_runtime()
    assert set(runtime.declared_events) == {"accounts", "assets", "evm", "governance"}
    schema = event_schema(runtime.modules["assets"].events)
    assert schema["burned"] == [
        {"name": "symbol", "type": "string"},
        {"name": "holder", "type": "bytes"},
        {"name": "amount", "type": "uint"},
    ]
    assert set(schema) == {"created", "issued", "transferred", "burned"}


def _fund(chain: Chain, symbol: str, amount: int) -> None:
    """ALICE creates ``symbol`` (unlimited) and issues herself ``amount``."""
    alice = ALICE.public_key().address()
    create = Create(symbol, symbol, 0, SupplyRule.UNLIMITED, 0)
    issue = Issue(symbol, alice, amount)
    for tx in (
        make_tx(ALICE, chain.nonce(alice), "assets", "create", create),
        make_tx(ALICE, chain.nonce(alice) + 1, "assets", "issue", issue),
    ):
        receipt = chain.run(tx).receipt
        assert receipt.status == STATUS_OK, receipt.message


def test_a_transfer_receipt_carries_the_typed_event(chain: Chain) -> None:
    _fund(chain, "GOLD", 100)
    bob = BOB.public_key().address()
    nonce = chain.nonce(ALICE.public_key().address())
    outcome = chain.run(make_tx(ALICE, nonce, "assets", "transfer", Transfer("GOLD", bob, 7)))
    assert outcome.receipt.status == STATUS_OK
    (event,) = outcome.receipt.events
    assert event == Transferred(
        symbol="GOLD", sender=ALICE.public_key().address(), to=bob, amount=7
    ).to_event("assets")


class BadType(EventStruct, frozen=True):
    event_name = "bad_type"
    ratio: float


class NoName(EventStruct, frozen=True):
    amount: int


class Flag(EventStruct, frozen=True):
    event_name = "flag"
    on: bool


class AlsoBurned(EventStruct, frozen=True):
    event_name = "burned"
    amount: int


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ((BadType,), "event bad_type field ratio: type <class 'float'> is not int, bytes or str"),
        ((Flag,), "event flag field on: type <class 'bool'> is not int, bytes or str"),
        ((NoName,), "event class NoName needs its own class-level event_name"),
        ((Burned, AlsoBurned), "module m declares two events named burned"),
        ((Create,), "module m declares <class 'consortia.modules.assets.types.Create'>"),
    ],
)
def test_a_malformed_declaration_is_refused_at_registration(
    events: tuple[type[EventStruct], ...], message: str
) -> None:
    with pytest.raises(InvalidEventDeclaration) as caught:
        validate_declarations("m", events)
    assert message in str(caught.value)


def test_a_value_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(InvalidEventDeclaration, match="field amount is declared uint, got -1"):
        Burned(symbol="G", holder=b"\x00" * 20, amount=-1).attributes()
    with pytest.raises(InvalidEventDeclaration, match="field holder is declared bytes"):
        Burned(symbol="G", holder="00" * 20, amount=1).attributes()  # type: ignore[arg-type]


class Emitted(EventStruct, frozen=True):
    event_name = "emitted"
    n: int


def _emits_undeclared(ctx: TxContext, args: Create) -> None:
    ctx.emit(Emitted(n=1))


class Sloppy:
    name = "sloppy"
    methods: Mapping[str, Method[Any]] = {"go": Method(Create, _emits_undeclared)}
    events: tuple[type[EventStruct], ...] = ()

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """No state."""


def test_emitting_an_undeclared_event_is_a_programming_error(chain: Chain) -> None:
    runtime = default_runtime()
    chain.runtime = dataclasses.replace(
        runtime, modules={**runtime.modules, "sloppy": Sloppy()}, permissions=None
    )
    args = Create("GOLD", "g", 0, SupplyRule.UNLIMITED, 0)
    with pytest.raises(UndeclaredEvent, match="module sloppy emitted Emitted"):
        chain.run(make_tx(ALICE, 0, "sloppy", "go", args))


def test_issue_event_is_unchanged_in_a_receipt(chain: Chain) -> None:
    """An ``issued`` event lists symbol, to, amount in that order, as before."""
    _fund(chain, "SILVER", 1)
    bob = BOB.public_key().address()
    nonce = chain.nonce(ALICE.public_key().address())
    outcome = chain.run(make_tx(ALICE, nonce, "assets", "issue", Issue("SILVER", bob, 5)))
    assert outcome.receipt.events == (
        Event(
            module="assets",
            name="issued",
            attributes=(("symbol", "SILVER"), ("to", bob.hex()), ("amount", "5")),
        ),
    )
