"""The text rule for names and labels ([EXEC-TEXT.1]) through the modules and the chain.

Names reach the chain as canonical bytes built by anyone, so the refusals are
checked on raw arguments executed by a real chain (real signatures), and the
rule itself is checked with hypothesis over arbitrary text.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.execution.chain import Chain, address, key, make_tx
from tests.governance.helpers import G1, Gov, gov_chain

from consortia.codec import decode, encode
from consortia.crypto import KeyType
from consortia.execution.text import (
    InvalidName,
    display_text,
    normalise,
    text_problem,
    validate_label,
    validate_name,
)
from consortia.modules.assets.types import Create, SupplyRule
from consortia.modules.governance.types import (
    ApproveContract,
    GrantRole,
    ProposalKind,
    Role,
    ScheduleUpgrade,
    SetPermission,
    WaiveFinding,
)

ISSUER = key(KeyType.SM2, 41)

DANGEROUS = (
    "\x00",  # NUL
    "\r",
    "\n",
    "\t",
    "\x1b",  # ESC: terminal escape sequences
    "\x85",  # NEL (C1)
    "\u00ad",  # soft hyphen
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\u200e",  # LRM
    "\u200f",  # RLM
    "\u202a",  # LRE
    "\u202e",  # RLO: the bidi override of the report
    "\u2028",  # line separator
    "\u2029",  # paragraph separator
    "\u2066",  # LRI
    "\u2069",  # PDI
    "\u061c",  # Arabic letter mark
    "\ufeff",  # BOM
    "\ufe0f",  # variation selector
    "\U000e0041",  # tag latin capital A
    "\ue000",  # private use
    "\U0001f600",  # emoji: not in Unicode 3.2
)
"""Characters that must never pass, each for its own reason."""

texts = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from(DANGEROUS),
        st.sampled_from(" \u00a0\u3000e\u0301A数字"),
    ),
    max_size=24,
)


def create_args(name: str, symbol: str = "CNY") -> bytes:
    """Canonical ``Create`` bytes with ``name`` unchecked (as any client could send)."""
    return encode([symbol, name, 2, "capped", 1_000, True])


@pytest.fixture
def issuer_chain(tmp_path: Path) -> Iterator[Chain]:
    opened = Chain.open(tmp_path / "db")
    yield opened
    opened.close()


# ----------------------------------------------------------- the named cases


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("yu\x00an", "name contains U+0000 (control character) at index 2"),
        ("\u202enauy", "name contains U+202E RIGHT-TO-LEFT OVERRIDE (format character) at index 0"),
        ("yuan\r\n| CNY | forged", "name contains U+000D (control character) at index 4"),
        ("yuan\nforged", "name contains U+000A (control character) at index 4"),
        ("   ", "name is blank"),
        ("\u3000", "name is blank"),
        (" yuan", "name starts with whitespace U+0020 SPACE"),
        ("yuan\u00a0", "name ends with whitespace U+00A0 NO-BREAK SPACE"),
        ("Cafe\u0301", "name is not in Unicode normalization form C (NFC)"),
        ("a\u2066b", "name contains U+2066 (character not assigned in Unicode 3.2) at index 1"),
        ("a\u200db", "name contains U+200D ZERO WIDTH JOINER (format character) at index 1"),
        (
            "a\u200bb",
            "name contains U+200B ZERO WIDTH SPACE (invisible (default-ignorable) "
            "character) at index 1",
        ),
    ],
)
def test_create_refuses_the_name(issuer_chain: Chain, name: str, message: str) -> None:
    tx = make_tx(ISSUER, 0, "assets", "create", None, raw_args=create_args(name))
    receipt = issuer_chain.run(tx).receipt
    assert (receipt.status, receipt.message) == ("TX_BAD_NAME", message)
    assert receipt.events == ()
    assert issuer_chain.asset("CNY") is None
    assert issuer_chain.balance(address(ISSUER), "CNY") == 0


@pytest.mark.parametrize("name", ["Digital yuan", "数字人民币", "Café", "Ünïcödé €", "a  b", "𠀀"])
def test_create_accepts_the_name(issuer_chain: Chain, name: str) -> None:
    tx = make_tx(ISSUER, 0, "assets", "create", None, raw_args=create_args(name))
    assert issuer_chain.run(tx).receipt.status == "OK"
    asset = issuer_chain.asset("CNY")
    assert asset is not None and asset.name == name


def test_the_struct_refuses_on_construction_and_on_decode() -> None:
    with pytest.raises(InvalidName) as raised:
        Create("CNY", "a\u202eb", 2, SupplyRule.CAPPED, 5, True)
    assert raised.value.code == "TX_BAD_NAME"
    with pytest.raises(InvalidName, match="U\\+000A"):
        decode(create_args("a\nb"), Create)


def test_an_empty_name_stays_a_bound_error(issuer_chain: Chain) -> None:
    """Empty fails the declared min_length first (TX_BAD_ARGS, as before the rule)."""
    tx = make_tx(ISSUER, 0, "assets", "create", None, raw_args=create_args(""))
    assert issuer_chain.run(tx).receipt.status == "TX_BAD_ARGS"


# ------------------------------------------------------- governance payloads


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        (
            ProposalKind.APPROVE_CONTRACT,
            [bytes(32), "ok\u202e"],
            "note contains U+202E RIGHT-TO-LEFT OVERRIDE (format character) at index 2",
        ),
        (
            ProposalKind.WAIVE_FINDING,
            [bytes(32), "reentrancy\n", ""],
            "check contains U+000A (control character) at index 10",
        ),
        (
            ProposalKind.WAIVE_FINDING,
            [bytes(32), "x", " why"],
            "reason starts with whitespace U+0020 SPACE",
        ),
        (
            ProposalKind.SCHEDULE_UPGRADE,
            ["assets", "2\x00", 9],
            "version contains U+0000 (control character) at index 1",
        ),
        (ProposalKind.SET_PERMISSION, ["assets", " ", [], False], "method is blank"),
        (
            ProposalKind.DECLARE_ROLE,
            ["custodian", "ok\u202e"],
            "declare_role.description contains U+202E RIGHT-TO-LEFT OVERRIDE (format character) "
            "at index 2",
        ),
    ],
)
def test_a_proposal_with_a_bad_label_is_refused(
    tmp_path: Path, kind: ProposalKind, payload: list[object], message: str
) -> None:
    for gov in gov_chain(tmp_path / "db"):
        out = gov.propose(G1, kind, payload)
        assert (out.receipt.status, out.receipt.message) == ("TX_BAD_NAME", message)
        assert out.receipt.events == ()


def test_governance_payload_structs_keep_the_rule() -> None:
    ok = bytes(32)
    for build in (
        lambda: ApproveContract(ok, "\u202e"),
        lambda: WaiveFinding(ok, "", ""),
        lambda: WaiveFinding(ok, "check", "\r"),
        lambda: ScheduleUpgrade("assets", " 2", 9),
        lambda: SetPermission("assets", "\x00"),
        lambda: GrantRole(bytes(20), Role.GOVERNOR, "org1\n"),
    ):
        with pytest.raises(InvalidName):
            build()
    assert ApproveContract(ok).note == "" and GrantRole(bytes(20), Role.GOVERNOR).organisation == ""


def test_a_good_note_still_passes(tmp_path: Path) -> None:
    for gov in gov_chain(tmp_path / "db"):
        assert isinstance(gov, Gov)
        out = gov.propose(G1, ProposalKind.APPROVE_CONTRACT, ApproveContract(bytes(32), "审计 ok"))
        assert out.receipt.status == "OK", out.receipt.message


# --------------------------------------------------------------- properties

_SAFE_RUNNING = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}


@settings(max_examples=400, deadline=None)
@given(texts)
def test_accepted_text_is_safe_for_any_reader(value: str) -> None:
    """Whatever passes has nothing a terminal, table or browser treats specially,
    judged by the running interpreter's own (newer) Unicode tables."""
    if text_problem(value, allow_empty=False) is not None:
        with pytest.raises(InvalidName):
            validate_name(value, "name")
        return
    validate_name(value, "name")
    assert value and value == value.strip()
    assert unicodedata.normalize("NFC", value) == value
    assert not any(unicodedata.category(c) in _SAFE_RUNNING for c in value)
    assert not set(value) & set(DANGEROUS)
    assert display_text(value) == value


@settings(max_examples=400, deadline=None)
@given(texts)
def test_display_never_shows_a_refused_character(value: str) -> None:
    shown = display_text(value)
    assert not any(unicodedata.category(c) in _SAFE_RUNNING for c in shown)
    assert not set(shown) & set(DANGEROUS)
    problem = text_problem(value, allow_empty=True) or ""
    assert (shown == value) == (not problem.startswith("contains"))


@settings(max_examples=300, deadline=None)
@given(texts)
def test_a_label_differs_from_a_name_only_when_empty(value: str) -> None:
    as_name = text_problem(value, allow_empty=False)
    as_label = text_problem(value, allow_empty=True)
    assert as_label == (None if value == "" else as_name)
    if value == "":
        validate_label(value, "note")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aeoAE\u0301\u0308\u0327c数"), min_size=1, max_size=12))
def test_clients_normalise_what_the_chain_would_refuse(value: str) -> None:
    fixed = normalise(value)
    if unicodedata.category(fixed[0]) != "Mn":
        assert text_problem(fixed, allow_empty=False) is None


_symbols = (f"N{i}" for i in itertools.count())


def _utf8(text: str) -> bool:
    """Lone surrogates cannot be UTF-8 encoded, so no transaction carries them."""
    return not any(0xD800 <= ord(c) <= 0xDFFF for c in text)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=texts.filter(lambda t: 1 <= len(t) <= 128 and _utf8(t)))
def test_the_chain_agrees_with_the_rule(issuer_chain: Chain, name: str) -> None:
    """Executed on a real chain: OK exactly when the rule passes; refused leaves no asset."""
    symbol = next(_symbols)
    nonce = issuer_chain.nonce(address(ISSUER))
    tx = make_tx(ISSUER, nonce, "assets", "create", None, raw_args=create_args(name, symbol))
    receipt = issuer_chain.run(tx).receipt
    problem = text_problem(name, allow_empty=False)
    assert receipt.status == ("OK" if problem is None else "TX_BAD_NAME"), receipt.message
    assert (issuer_chain.asset(symbol) is None) == (problem is not None)
    if problem is not None:
        assert receipt.message == f"name {problem}"
