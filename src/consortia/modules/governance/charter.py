"""The charter: validation ([GOV-CHARTER.1]) and the genesis state it becomes."""

from __future__ import annotations

from consortia.execution.state_view import StateView
from consortia.modules.governance.errors import (
    BadRoleName,
    CharterBadRoleName,
    CharterUndeclaredRole,
    InvalidCharter,
    UndeclaredRole,
)
from consortia.modules.governance.state import (
    BUILTIN_ROLES,
    check_role,
    store_committee,
    store_member,
)
from consortia.modules.governance.types import (
    ANY,
    PERMISSIONS_KEY,
    ROLES_KEY,
    THRESHOLDS_KEY,
    Charter,
    DeclaredRoles,
    Member,
    Permissions,
    Role,
    Thresholds,
    org_key,
    role_name_problem,
    threshold_kind_problem,
)


def validate_charter(charter: Charter) -> None:
    """Check what decoding alone cannot; the message names the offending field.

    Raises:
        InvalidCharter: ``GOV_CHARTER_INVALID``, naming the first broken rule;
            ``GOV_CHARTER_BAD_ROLE_NAME`` or ``GOV_CHARTER_UNDECLARED_ROLE`` for a
            role name that breaks the rule or is not declared ([GOV-ROLES.1]).
    """
    names: set[str] = set()
    admin_of: dict[bytes, str] = {}
    for i, org in enumerate(charter.organisations):
        where = f"governance.organisations[{i}]"
        if org.name in names:
            raise InvalidCharter(f"{where}.name: organisation {org.name!r} appears twice")
        names.add(org.name)
        if not org.admins:
            raise InvalidCharter(f"{where}.admins: organisation {org.name!r} needs an admin")
        for admin in org.admins:
            if admin in admin_of:
                raise InvalidCharter(
                    f"{where}.admins: {admin.hex()} is already an admin of {admin_of[admin]!r}"
                )
            admin_of[admin] = org.name
    seats: set[bytes] = set()
    for i, gov in enumerate(charter.governors):
        if gov.address in seats:
            raise InvalidCharter(f"governance.governors[{i}].address: {gov.address.hex()} twice")
        seats.add(gov.address)
    kinds: set[str] = set()
    for i, th in enumerate(charter.thresholds):
        where = f"governance.thresholds[{i}]"
        problem = threshold_kind_problem(th.kind)
        if problem is not None:
            raise InvalidCharter(f"{where}.kind: {problem}")
        if th.kind in kinds:
            raise InvalidCharter(f"{where}.kind: {th.kind!r} appears twice")
        kinds.add(th.kind)
        for label, frac in (("participation", th.participation), ("approval", th.approval)):
            if not 0 < frac.numerator <= frac.denominator:
                raise InvalidCharter(
                    f"{where}.{label}: {frac.numerator}/{frac.denominator} must be in (0, 1]"
                )
    known = _declared_roles(charter)
    for i, grant in enumerate(charter.roles):
        where = f"governance.roles[{i}]"
        _check_charter_role(known, grant.role, f"{where}.role")
        if grant.role in (Role.GOVERNOR, Role.ORG_ADMIN):
            raise InvalidCharter(
                f"{where}.role: {grant.role} comes from governors/organisations, not roles"
            )
        if grant.organisation and grant.organisation not in names:
            raise InvalidCharter(f"{where}.organisation: no organisation {grant.organisation!r}")
        owner = admin_of.get(grant.address)
        if owner and grant.organisation and grant.organisation != owner:
            raise InvalidCharter(f"{where}.organisation: {grant.address.hex()} admins {owner!r}")
    rules: set[tuple[str, str]] = set()
    for i, perm in enumerate(charter.permissions):
        where = f"governance.permissions[{i}]"
        if perm.method != ANY and not perm.method.isidentifier():
            raise InvalidCharter(f"{where}.method: {perm.method!r} is neither '*' nor a name")
        if (perm.module, perm.method) in rules:
            raise InvalidCharter(f"{where}: {perm.module}.{perm.method} appears twice")
        rules.add((perm.module, perm.method))
        for j, role in enumerate(perm.roles):
            _check_charter_role(known, role, f"{where}.roles[{j}]")


def _declared_roles(charter: Charter) -> frozenset[str]:
    """The built-in roles and the charter's declared ones, each declaration checked.

    Raises:
        CharterBadRoleName: a declared name breaks the rule, is built in, or repeats.
    """
    declared: set[str] = set()
    for i, decl in enumerate(charter.declared_roles):
        where = f"governance.declared_roles[{i}].name"
        problem = role_name_problem(decl.name)
        if problem is not None:
            raise CharterBadRoleName(f"{where}: {problem}")
        if decl.name in BUILTIN_ROLES:
            raise CharterBadRoleName(f"{where}: {decl.name!r} is a built-in role")
        if decl.name in declared:
            raise CharterBadRoleName(f"{where}: {decl.name!r} is declared twice")
        declared.add(decl.name)
    return BUILTIN_ROLES | declared


def _check_charter_role(known: frozenset[str], role: str, field: str) -> None:
    """:func:`check_role` with the charter's error codes."""
    try:
        check_role(known, role, field)
    except BadRoleName as exc:
        raise CharterBadRoleName(exc.message) from None
    except UndeclaredRole as exc:
        raise CharterUndeclaredRole(exc.message) from None


def write_charter(state: StateView, charter: Charter) -> None:
    """Write the charter's records as genesis state (every collection sorted)."""
    roles: dict[bytes, set[str]] = {}
    orgs: dict[bytes, str] = {}
    for org in charter.organisations:
        state.put_struct(
            org_key(org.name),
            org.__class__(
                name=org.name, admins=tuple(sorted(set(org.admins))), ca_cert=org.ca_cert
            ),
        )
        for admin in org.admins:
            roles.setdefault(admin, set()).add(Role.ORG_ADMIN)
            orgs[admin] = org.name
    for gov in charter.governors:
        roles.setdefault(gov.address, set()).add(Role.GOVERNOR)
    for grant in charter.roles:
        roles.setdefault(grant.address, set()).add(grant.role)
        if grant.organisation:
            orgs[grant.address] = grant.organisation
    for address in sorted(roles):
        member = Member(roles=tuple(sorted(roles[address])), organisation=orgs.get(address, ""))
        store_member(state, address, member)
    store_committee(state, list(charter.governors))
    if charter.declared_roles:
        declared = tuple(sorted(charter.declared_roles, key=lambda d: d.name))
        state.put_struct(ROLES_KEY, DeclaredRoles(roles=declared))
    state.put_struct(
        THRESHOLDS_KEY, Thresholds(entries=tuple(sorted(charter.thresholds, key=lambda t: t.kind)))
    )
    state.put_struct(
        PERMISSIONS_KEY,
        Permissions(rules=tuple(sorted(charter.permissions, key=lambda p: (p.module, p.method)))),
    )
