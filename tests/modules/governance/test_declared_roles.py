"""Roles are an open set: the charter declares an application's roles ([GOV-ROLES.1])."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from tests.execution.chain import address
from tests.execution.ext_modules import Spend
from tests.governance.helpers import ALICE, BOB, G1, Gov

from consortia.modules.governance.charter import validate_charter
from consortia.modules.governance.errors import InvalidCharter
from consortia.modules.governance.types import (
    NEXT_PROPOSAL_KEY,
    ROLES_KEY,
    Counter,
    DeclaredRoles,
    GrantRole,
    Permission,
    ProposalKind,
    RevokeRole,
    RoleDeclaration,
    RoleGrant,
    SetPermission,
    Status,
    role_name_problem,
)
from consortia.node.charter import CharterError, parse_charter

from .fixtures import APP_ROLES, app_chain, app_charter


@pytest.fixture
def gov(tmp_path: Path) -> Iterator[Gov]:
    yield from app_chain(tmp_path / "db")


def test_the_declared_roles_are_in_state(gov: Gov) -> None:
    declared = gov.chain.read(lambda v: v.get_struct(ROLES_KEY, DeclaredRoles))
    assert declared is not None
    assert [d.name for d in declared.roles] == sorted(APP_ROLES)
    assert gov.member(address(ALICE)).roles == ("operating_bank",)


def test_a_permission_names_an_application_role(gov: Gov) -> None:
    assert gov.send(ALICE, "limits", "spend", Spend(amount=0)).receipt.status == "OK"
    refused = gov.send(BOB, "limits", "spend", Spend(amount=0)).receipt
    assert (refused.status, refused.message) == (
        "TX_PERMISSION_DENIED",
        f"limits.spend needs role operating_bank; {address(BOB).hex()} holds none",
    )


def test_a_declared_role_is_granted_and_revoked_by_proposal(gov: Gov) -> None:
    bob = address(BOB)
    granted = gov.pass_(ProposalKind.GRANT_ROLE, GrantRole(address=bob, role="central_bank"))
    assert (granted.status, granted.outcome) == (Status.EXECUTED, "")
    assert gov.member(bob).roles == ("central_bank",)
    revoked = gov.pass_(ProposalKind.REVOKE_ROLE, RevokeRole(address=bob, role="central_bank"))
    assert revoked.status is Status.EXECUTED
    assert gov.member(bob).roles == ()


NOT_DECLARED = (
    "is not declared (declare it in the charter's declared_roles; known: auditor, central_bank, "
    "csd_participant, device_gateway, governor, member, operating_bank, org_admin, "
    "validator_operator)"
)


@pytest.mark.parametrize(
    ("kind", "payload", "code", "message"),
    [
        (
            ProposalKind.GRANT_ROLE,
            GrantRole(address=bytes(20), role="bank_of_x"),
            "GOV_UNDECLARED_ROLE",
            f"grant_role.role: role 'bank_of_x' {NOT_DECLARED}",
        ),
        (
            ProposalKind.GRANT_ROLE,
            GrantRole(address=bytes(20), role="Central-Bank"),
            "GOV_BAD_ROLE_NAME",
            "grant_role.role: role name 'Central-Bank' must be a-z, 0-9 and _, starting with a "
            "letter",
        ),
        (
            ProposalKind.GRANT_ROLE,
            GrantRole(address=bytes(20), role="r" * 33),
            "GOV_BAD_ROLE_NAME",
            f"grant_role.role: role name '{'r' * 33}' must be 1 to 32 characters",
        ),
        (
            ProposalKind.REVOKE_ROLE,
            RevokeRole(address=bytes(20), role="nobody"),
            "GOV_UNDECLARED_ROLE",
            f"revoke_role.role: role 'nobody' {NOT_DECLARED}",
        ),
        (
            ProposalKind.SET_PERMISSION,
            SetPermission(module="limits", method="spend", roles=("operating_bank", "nope")),
            "GOV_UNDECLARED_ROLE",
            f"set_permission.roles[1]: role 'nope' {NOT_DECLARED}",
        ),
    ],
)
def test_an_undeclared_or_malformed_role_is_refused_when_proposed(
    gov: Gov, kind: ProposalKind, payload: Any, code: str, message: str
) -> None:
    before = gov.chain.read(lambda v: v.get_struct(NEXT_PROPOSAL_KEY, Counter))
    out = gov.propose(G1, kind, payload)
    assert (out.receipt.status, out.receipt.message) == (code, message)
    assert out.receipt.events == ()
    assert gov.chain.read(lambda v: v.get_struct(NEXT_PROPOSAL_KEY, Counter)) == before


def test_the_role_name_rule() -> None:
    assert role_name_problem("r" * 32) is None
    assert role_name_problem("device_gateway2") is None
    for bad in ("", "r" * 33, "2fa", "_x", "Bank", "bank-x", "bank x", "bänk"):
        assert role_name_problem(bad) is not None, bad


def _refused(charter: Any) -> InvalidCharter:
    with pytest.raises(InvalidCharter) as caught:
        validate_charter(charter)
    return caught.value


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (
            {"declared_roles": (RoleDeclaration(name="Bank"),)},
            "GOV_CHARTER_BAD_ROLE_NAME",
            "governance.declared_roles[0].name: role name 'Bank' must be a-z, 0-9 and _, "
            "starting with a letter",
        ),
        (
            {"declared_roles": (RoleDeclaration(name="auditor"),)},
            "GOV_CHARTER_BAD_ROLE_NAME",
            "governance.declared_roles[0].name: 'auditor' is a built-in role",
        ),
        (
            {"declared_roles": (RoleDeclaration(name="x"), RoleDeclaration(name="x"))},
            "GOV_CHARTER_BAD_ROLE_NAME",
            "governance.declared_roles[1].name: 'x' is declared twice",
        ),
        (
            {"roles": (RoleGrant(address=bytes(20), role="custodian"),)},
            "GOV_CHARTER_UNDECLARED_ROLE",
            "governance.roles[0].role: role 'custodian' is not declared",
        ),
        (
            {"permissions": (Permission(module="limits", method="*", roles=("custodian",)),)},
            "GOV_CHARTER_UNDECLARED_ROLE",
            "governance.permissions[0].roles[0]: role 'custodian' is not declared",
        ),
    ],
)
def test_the_charter_refuses_a_bad_or_undeclared_role_naming_the_field(
    change: dict[str, Any], code: str, message: str
) -> None:
    exc = _refused(msgspec.structs.replace(app_charter(), **change))
    assert exc.code == code
    assert exc.message.startswith(message), exc.message


CHARTER_FILE = """
[[organisation]]
name = "org1"
admins = ["0x{admin}"]

[[governor]]
account = "0x{admin}"

[[declared_role]]
name = "device_gateway"
description = "an IoT gateway"

[[role]]
account = "0x{gateway}"
role = "device_gateway"

[[permission]]
module = "iot"
method = "*"
roles = ["{role}"]
"""


def _parse(role: str) -> Any:
    text = CHARTER_FILE.format(admin="11" * 20, gateway="22" * 20, role=role)
    return parse_charter(text, "charter.toml", lambda a, _f: bytes.fromhex(a[2:]), {}, ("org1",))


def test_a_charter_file_declares_roles() -> None:
    charter = _parse("device_gateway").charter
    assert charter.declared_roles == (
        RoleDeclaration(name="device_gateway", description="an IoT gateway"),
    )
    assert charter.roles[0].role == "device_gateway"
    assert charter.permissions[0].roles == ("device_gateway",)


def test_a_charter_file_refuses_an_undeclared_role_naming_the_field() -> None:
    with pytest.raises(
        CharterError,
        match=r"charter.toml: permission\[0\].roles\[0\]: unknown "
        r"role 'gateway' \(one of auditor, device_gateway, ",
    ):
        _parse("gateway")


def test_a_vote_declares_a_role_that_grants_and_permissions_may_then_name(gov: Gov) -> None:
    """An application that arrives after genesis (by an upgrade) adds its roles by vote."""
    bob = address(BOB)
    refused = gov.propose(G1, ProposalKind.GRANT_ROLE, GrantRole(address=bob, role="custodian"))
    assert refused.receipt.status == "GOV_UNDECLARED_ROLE"
    declared = gov.pass_(
        ProposalKind.DECLARE_ROLE, RoleDeclaration(name="custodian", description="holds securities")
    )
    assert (declared.status, declared.outcome) == (Status.EXECUTED, "")
    roles = gov.chain.read(lambda v: v.get_struct(ROLES_KEY, DeclaredRoles))
    assert roles is not None
    assert [d.name for d in roles.roles] == sorted([*APP_ROLES, "custodian"])
    granted = gov.pass_(ProposalKind.GRANT_ROLE, GrantRole(address=bob, role="custodian"))
    assert granted.status is Status.EXECUTED
    assert gov.member(bob).roles == ("custodian",)


@pytest.mark.parametrize(
    ("declaration", "code", "message"),
    [
        (
            RoleDeclaration(name="auditor"),
            "GOV_ROLE_EXISTS",
            "declare_role.name: role 'auditor' is built in or declared already",
        ),
        (
            RoleDeclaration(name="central_bank"),
            "GOV_ROLE_EXISTS",
            "declare_role.name: role 'central_bank' is built in or declared already",
        ),
        (
            RoleDeclaration(name="Custodian"),
            "GOV_BAD_ROLE_NAME",
            "declare_role.name: role name 'Custodian' must be a-z, 0-9 and _, starting with a "
            "letter",
        ),
        (
            RoleDeclaration(name="custodian", description="x\n"),
            "TX_BAD_NAME",
            "declare_role.description contains U+000A (control character) at index 1",
        ),
    ],
)
def test_a_bad_role_declaration_is_refused_when_proposed(
    gov: Gov, declaration: RoleDeclaration, code: str, message: str
) -> None:
    out = gov.propose(G1, ProposalKind.DECLARE_ROLE, declaration)
    assert (out.receipt.status, out.receipt.message) == (code, message)
    assert out.receipt.events == ()
