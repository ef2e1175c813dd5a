"""Permissions checked by the executor; org admins register and revoke their accounts' keys."""

from __future__ import annotations

from tests.execution.chain import address, key, make_tx

from consortia.crypto import KeyType
from consortia.modules.accounts.types import AccountKey, account_key
from consortia.modules.assets.types import Create, SupplyRule
from consortia.modules.governance.types import (
    PERMISSIONS_KEY,
    AccountTarget,
    Fraction,
    GrantRole,
    Permission,
    Permissions,
    ProposalKind,
    RegisterAccount,
    RevokeKey,
    Role,
    SetPermission,
    Status,
    Threshold,
)

from .helpers import ADMIN, ALICE, BOB, G1, G3, Gov

EMPLOYEE = key(KeyType.SM2, 300)
SECOND = key(KeyType.SM2, 301)


def _akey(k: object) -> AccountKey:
    from consortia.crypto import PrivateKey

    assert isinstance(k, PrivateKey)
    return AccountKey(key_type=k.key_type.value, public_key=k.public_key().to_bytes())


def _restrict_assets(gov: Gov) -> None:
    """Pass a set_permission proposal: only auditors may call assets.*."""
    change = SetPermission(module="assets", method="*", roles=(Role.AUDITOR,))
    assert gov.pass_(ProposalKind.SET_PERMISSION, change).status is Status.EXECUTED
    table = gov.chain.read(lambda v: v.get_struct(PERMISSIONS_KEY, Permissions))
    assert table is not None
    assert Permission(module="assets", method="*", roles=(Role.AUDITOR,)) in table.rules


def test_permission_denied_leaves_state_unchanged(gov: Gov) -> None:
    _restrict_assets(gov)
    before = gov.chain.dump()
    args = Create("CNY", "yuan", 2, SupplyRule.UNLIMITED, 0)
    out = gov.send(ALICE, "assets", "create", args)
    assert out.receipt.status == "TX_PERMISSION_DENIED"
    assert "auditor" in out.receipt.message
    assert out.receipt.gas_used == 0
    after = gov.chain.dump()
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed == {account_key(address(ALICE))}  # only the nonce, consumed
    assert gov.chain.nonce(address(ALICE)) == 1
    gov.pass_(ProposalKind.GRANT_ROLE, GrantRole(address=address(ALICE), role=Role.AUDITOR))
    assert gov.send(ALICE, "assets", "create", args).receipt.status == "OK"


def test_unknown_method_keeps_its_own_code(gov: Gov) -> None:
    out = gov.chain.run(
        make_tx(ALICE, 0, "governance", "nope", GrantRole(b"\x01" * 20, Role.AUDITOR))
    )
    assert out.receipt.status == "TX_UNKNOWN_METHOD"


def test_admin_registers_and_revokes_keys(gov: Gov) -> None:
    who = address(EMPLOYEE)
    out = gov.send(
        ADMIN, "governance", "register_account", RegisterAccount(who, (_akey(EMPLOYEE),))
    )
    assert out.receipt.status == "OK", out.receipt.message
    assert gov.member(who).organisation == "org1"
    assert Role.MEMBER in gov.member(who).roles
    assert gov.send(EMPLOYEE, "accounts", "add_key", _akey_args(SECOND)).receipt.status == "OK"
    revoke = RevokeKey(who, EMPLOYEE.public_key().to_bytes())
    assert gov.send(ADMIN, "governance", "revoke_key", revoke).receipt.status == "OK"
    nonce = gov.chain.nonce(who)
    out = gov.chain.run(make_tx(EMPLOYEE, nonce, "accounts", "add_key", _akey_args(BOB)))
    assert out.receipt.status == "TX_UNAUTHORIZED"  # the revoked key no longer signs
    out = gov.chain.run(make_tx(SECOND, nonce, "accounts", "add_key", _akey_args(BOB), sender=who))
    assert out.receipt.status == "OK"
    assert gov.send(ADMIN, "governance", "revoke_key", revoke).receipt.status == "GOV_KEY_NOT_FOUND"


def test_revoking_the_last_key_is_refused(gov: Gov) -> None:
    """[GOV-KEYS.3]: an admin never locks an account out (until issue #16 it could)."""
    who = address(EMPLOYEE)
    gov.send(ADMIN, "governance", "register_account", RegisterAccount(who, (_akey(EMPLOYEE),)))
    revoke = RevokeKey(who, EMPLOYEE.public_key().to_bytes())
    assert gov.send(ADMIN, "governance", "revoke_key", revoke).receipt.status == "GOV_LAST_KEY"
    out = gov.chain.run(make_tx(EMPLOYEE, 0, "accounts", "add_key", _akey_args(BOB)))
    assert out.receipt.status == "OK"


def test_admin_limits(gov: Gov) -> None:
    # a non-admin is stopped by the permission table
    args = RegisterAccount(address(EMPLOYEE), (_akey(EMPLOYEE),))
    assert gov.send(ALICE, "governance", "register_account", args).receipt.status == (
        "TX_PERMISSION_DENIED"
    )
    # an admin cannot take over an existing account ([GOV-KEYS.1])
    grab = RegisterAccount(address(ALICE), (_akey(EMPLOYEE),))
    out = gov.send(ADMIN, "governance", "register_account", grab)
    assert out.receipt.status == "GOV_ACCOUNT_EXISTS"
    revoke = RevokeKey(address(ALICE), ALICE.public_key().to_bytes())
    assert gov.send(ADMIN, "governance", "revoke_key", revoke).receipt.status == "GOV_NOT_ORG_ADMIN"


def _akey_args(k: object) -> object:
    from consortia.modules.accounts.types import AddKey

    return AddKey(_akey(k))


def test_set_permission_can_open_remove_but_never_lock_out_governors(gov: Gov) -> None:
    _restrict_assets(gov)
    # A method rule wins over the module's "*" rule: transfers open to all again.
    opened = SetPermission(module="assets", method="transfer", roles=())
    assert gov.pass_(ProposalKind.SET_PERMISSION, opened).status is Status.EXECUTED
    gov.pass_(ProposalKind.SET_PERMISSION, SetPermission("assets", "transfer", remove=True))
    table = gov.chain.read(lambda v: v.get_struct(PERMISSIONS_KEY, Permissions))
    assert table is not None and ("assets", "transfer") not in {
        (r.module, r.method) for r in table.rules
    }
    # Refused when proposed: governors would lose vote / propose, or nothing to remove.
    for change in (
        SetPermission("governance", "vote", roles=(Role.AUDITOR,)),
        SetPermission("governance", "propose", remove=True),
        SetPermission("assets", "nothing_here", remove=True),
        SetPermission("assets", "not a name", roles=()),
    ):
        out = gov.propose(G1, ProposalKind.SET_PERMISSION, change)
        assert out.receipt.status == "GOV_BAD_PAYLOAD", change


def test_set_threshold_changes_what_a_kind_needs(gov: Gov) -> None:
    quarter = Threshold(
        kind="freeze_account",
        participation=Fraction(numerator=1, denominator=4),
        approval=Fraction(numerator=1, denominator=2),
    )
    assert gov.pass_(ProposalKind.SET_THRESHOLD, quarter).status is Status.EXECUTED
    # Now G3 alone (weight 2 of 4) freezes an account with a single vote.
    out = gov.propose(G1, ProposalKind.FREEZE_ACCOUNT, AccountTarget(address=address(BOB)))
    pid = int(dict(out.receipt.events[-1].attributes)["id"])
    assert gov.vote(G3, pid).receipt.status == "OK"
    assert gov.proposal(pid).status is Status.EXECUTED
    bad = Threshold(kind="freeze_account", participation=Fraction(numerator=5, denominator=4))
    out = gov.propose(G1, ProposalKind.SET_THRESHOLD, bad)
    assert out.receipt.status == "GOV_BAD_PAYLOAD"
    out = gov.propose(G1, ProposalKind.SET_THRESHOLD, Threshold(kind="no_such_kind"))
    assert out.receipt.status == "GOV_BAD_PAYLOAD"
