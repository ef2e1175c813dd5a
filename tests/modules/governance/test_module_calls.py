"""A committee vote calls a module's governance-only method ([EXT-GOV-CALL.1]).

The ``limits`` module (tests/execution/ext_modules.py) declares ``set_limit``
governance-only: a wallet-limit change needs a committee vote.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.execution.chain import address
from tests.execution.ext_modules import LIMIT_CAP, LimitValue, SetLimit, Spend, limit_key
from tests.governance.helpers import ALICE, G1, G2, G3, Gov

from consortia.codec import encode
from consortia.execution.extensions import GOVERNANCE_AUTHORITY
from consortia.ledger.types import Event
from consortia.modules.governance.charter import validate_charter
from consortia.modules.governance.errors import InvalidCharter
from consortia.modules.governance.types import (
    NEXT_PROPOSAL_KEY,
    CallModule,
    Counter,
    Fraction,
    GrantRole,
    ProposalKind,
    Status,
    Threshold,
    call_threshold_kind,
)
from consortia.node.charter import CharterError, parse_charter

from .fixtures import app_chain, app_charter


@pytest.fixture
def gov(tmp_path: Path) -> Iterator[Gov]:
    yield from app_chain(tmp_path / "db")


def _limit(gov: Gov, who: bytes) -> LimitValue | None:
    return gov.chain.read(lambda v: v.get_struct(limit_key(who), LimitValue))


def _call(amount: int) -> CallModule:
    args = encode(SetLimit(account=address(ALICE), amount=amount))
    return CallModule(module="limits", method="set_limit", args=args)


def test_a_transaction_may_not_call_a_governance_only_method(gov: Gov) -> None:
    out = gov.send(G1, "limits", "set_limit", SetLimit(account=address(ALICE), amount=5))
    assert (out.receipt.status, out.receipt.message) == (
        "TX_GOVERNANCE_ONLY",
        "limits.set_limit is callable only by an executed governance proposal "
        "(propose kind call_module)",
    )
    assert _limit(gov, address(ALICE)) is None


def test_a_passed_proposal_calls_the_method_as_the_governance_authority(gov: Gov) -> None:
    alice = address(ALICE)
    assert gov.send(ALICE, "limits", "spend", Spend(amount=100)).receipt.status == (
        "LIMITS_EXCEEDED"
    )
    proposed = gov.propose(G1, ProposalKind.CALL_MODULE, _call(100))
    assert proposed.receipt.status == "OK", proposed.receipt.message
    pid = int(dict(proposed.receipt.events[-1].attributes)["id"])
    assert gov.vote(G1, pid).receipt.events[-1].name == "vote_cast"  # 1 of 4: not yet
    assert _limit(gov, alice) is None
    last = gov.vote(G3, pid).receipt
    assert last.status == "OK"
    assert [(e.module, e.name) for e in last.events] == [
        ("governance", "vote_cast"),
        ("limits", "limit_set"),
        ("governance", "module_called"),
        ("governance", "proposal_executed"),
    ]
    assert last.events[1] == Event(
        module="limits",
        name="limit_set",
        attributes=(
            ("account", alice.hex()),
            ("amount", "100"),
            ("by", GOVERNANCE_AUTHORITY.hex()),
        ),
    )
    assert gov.proposal(pid).status is Status.EXECUTED
    assert _limit(gov, alice) == LimitValue(amount=100)
    assert gov.send(ALICE, "limits", "spend", Spend(amount=100)).receipt.status == "OK"
    assert gov.send(ALICE, "limits", "spend", Spend(amount=101)).receipt.status == (
        "LIMITS_EXCEEDED"
    )


def test_a_call_the_method_refuses_fails_the_proposal_and_writes_nothing(gov: Gov) -> None:
    proposal = gov.pass_(ProposalKind.CALL_MODULE, _call(LIMIT_CAP + 1))
    assert proposal.status is Status.FAILED
    assert proposal.outcome == f"LIMITS_TOO_HIGH: limit {LIMIT_CAP + 1} above the cap {LIMIT_CAP}"
    assert _limit(gov, address(ALICE)) is None


@pytest.mark.parametrize(
    ("call", "code", "message"),
    [
        (
            CallModule(module="nowhere", method="set_limit"),
            "GOV_NOT_GOVERNANCE_METHOD",
            "call_module.module: no module 'nowhere'",
        ),
        (
            CallModule(module="limits", method="raise_limit"),
            "GOV_NOT_GOVERNANCE_METHOD",
            "call_module.method: module 'limits' has no method 'raise_limit'",
        ),
        (
            CallModule(module="limits", method="spend", args=encode(Spend(amount=1))),
            "GOV_NOT_GOVERNANCE_METHOD",
            "call_module.method: limits.spend is not declared governance-callable (the "
            "module's governance methods: set_limit)",
        ),
        (
            CallModule(module="assets", method="transfer"),
            "GOV_NOT_GOVERNANCE_METHOD",
            "call_module.method: assets.transfer is not declared governance-callable (the "
            "module's governance methods: none)",
        ),
        (
            CallModule(module="limits", method="set_limit", args=encode(Spend(amount=1))),
            "TX_BAD_ARGS",
            "call_module.args: limits.set_limit arguments: invalid SetLimit encoding: Expected "
            "`array` of at least length 2, got 1",
        ),
    ],
)
def test_a_module_call_is_checked_when_proposed(
    gov: Gov, call: CallModule, code: str, message: str
) -> None:
    before = gov.chain.read(lambda v: v.get_struct(NEXT_PROPOSAL_KEY, Counter))
    out = gov.propose(G1, ProposalKind.CALL_MODULE, call)
    assert (out.receipt.status, out.receipt.message) == (code, message)
    assert out.receipt.events == ()
    assert gov.chain.read(lambda v: v.get_struct(NEXT_PROPOSAL_KEY, Counter)) == before


STABLE = {"OK", "GOV_NOT_GOVERNANCE_METHOD", "TX_BAD_ARGS", "GOV_BAD_PAYLOAD"}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    module=st.sampled_from(["limits", "assets", "governance", "nowhere"]),
    method=st.sampled_from(["set_limit", "spend", "transfer", "propose", "x"]),
    args=st.one_of(
        st.binary(max_size=40),
        st.builds(
            lambda a, n: encode(SetLimit(account=a, amount=n)),
            st.binary(min_size=20, max_size=20),
            st.integers(0, 2**64 - 1),
        ),
    ),
)
def test_any_module_call_proposal_gets_a_stable_code_and_a_refusal_writes_nothing(
    gov: Gov, module: str, method: str, args: bytes
) -> None:
    """Fuzz the new proposal kind's payload: never a crash, only the documented codes."""
    before = gov.chain.dump(b"governance/")
    out = gov.propose(G1, ProposalKind.CALL_MODULE, CallModule(module, method, args))
    assert out.receipt.status in STABLE, (out.receipt.status, out.receipt.message)
    if out.receipt.status == "OK":
        assert (module, method) == ("limits", "set_limit")
    else:
        assert gov.chain.dump(b"governance/") == before


ALL = Fraction(numerator=1, denominator=1)


def _unanimous_limits(tmp_path: Path) -> Iterator[Gov]:
    """The app chain whose charter makes a wallet-limit change need every governor."""
    every = Threshold(kind=call_threshold_kind("limits", "set_limit"), participation=ALL)
    charter = msgspec.structs.replace(app_charter(), thresholds=(Threshold(kind="default"), every))
    yield from app_chain(tmp_path / "db", charter)


def test_a_method_has_its_own_threshold(tmp_path: Path) -> None:
    """``call_module:limits.set_limit`` needs all 4 weight; other kinds keep 2/3."""
    for gov in _unanimous_limits(tmp_path):
        proposed = gov.propose(G1, ProposalKind.CALL_MODULE, _call(100))
        pid = int(dict(proposed.receipt.events[-1].attributes)["id"])
        gov.vote(G1, pid)
        gov.vote(G3, pid)  # 3 of 4: enough for the default, not for this method
        assert gov.proposal(pid).status is Status.OPEN
        assert gov.vote(G2, pid).receipt.events[-1].name == "proposal_executed"
        assert _limit(gov, address(ALICE)) == LimitValue(amount=100)
        grant = GrantRole(address=address(ALICE), role="central_bank")
        assert gov.pass_(ProposalKind.GRANT_ROLE, grant).status is Status.EXECUTED  # 3 of 4


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("call_module:limits", "'call_module:limits' is not call_module:<module>.<method>"),
        ("call_module:.set_limit", "'call_module:.set_limit' is not call_module:<module>.<method>"),
        ("call_modules", "unknown proposal kind 'call_modules'"),
    ],
)
def test_a_malformed_threshold_kind_is_refused(kind: str, message: str) -> None:
    charter = msgspec.structs.replace(
        app_charter(), thresholds=(Threshold(kind="default"), Threshold(kind=kind))
    )
    with pytest.raises(InvalidCharter) as caught:
        validate_charter(charter)
    assert caught.value.message == f"governance.thresholds[1].kind: {message}"


def test_a_charter_file_sets_a_methods_threshold() -> None:
    text = """
[[organisation]]
name = "org1"
admins = ["0x{a}"]

[[governor]]
account = "0x{a}"

[thresholds."call_module:currency.set_wallet_limit"]
participation = "1/1"
approval = "3/4"
""".replace("{a}", "11" * 20)
    parsed = parse_charter(text, "c.toml", lambda a, _f: bytes.fromhex(a[2:]), {}, ("org1",))
    by_kind = {t.kind: t for t in parsed.charter.thresholds}
    entry = by_kind["call_module:currency.set_wallet_limit"]
    assert (entry.participation, entry.approval) == (ALL, Fraction(numerator=3, denominator=4))
    with pytest.raises(CharterError, match=r"thresholds.call_module:x: 'call_module:x' is not"):
        parse_charter(
            text.replace("currency.set_wallet_limit", "x"),
            "c.toml",
            lambda a, _f: bytes.fromhex(a[2:]),
            {},
            ("org1",),
        )
