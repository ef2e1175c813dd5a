"""Reads and writes of governance records shared by the handlers, effects and genesis."""

from __future__ import annotations

from consortia.execution.state_view import StateView
from consortia.modules.accounts.handlers import load_account
from consortia.modules.assets.types import balance_key
from consortia.modules.governance.errors import (
    BadRoleName,
    OrganisationNotFound,
    ProposalNotFound,
    UndeclaredRole,
)
from consortia.modules.governance.types import (
    COMMITTEE_KEY,
    ROLES_KEY,
    THRESHOLDS_KEY,
    Committee,
    DeclaredRoles,
    Governor,
    Member,
    Organisation,
    Proposal,
    Role,
    Thresholds,
    member_key,
    org_key,
    proposal_key,
    role_name_problem,
)

NO_ROLES = Member(roles=())


def load_member(state: StateView, address: bytes) -> Member:
    """Roles and organisation of ``address`` (no roles if never recorded)."""
    return state.get_struct(member_key(address), Member) or NO_ROLES


def store_member(state: StateView, address: bytes, member: Member) -> None:
    """Write ``member`` with sorted, unique roles; delete the record if it holds nothing."""
    roles = tuple(sorted(set(member.roles)))
    if not roles and not member.organisation:
        if state.get(member_key(address)) is not None:
            state.delete(member_key(address))
        return
    state.put_struct(member_key(address), Member(roles=roles, organisation=member.organisation))


def with_role(member: Member, role: str, organisation: str | None = None) -> Member:
    """``member`` plus ``role`` (and ``organisation`` if given)."""
    org = member.organisation if organisation is None else organisation
    return Member(roles=(*member.roles, role), organisation=org)


def without_role(member: Member, role: str) -> Member:
    """``member`` minus ``role``."""
    return Member(
        roles=tuple(r for r in member.roles if r != role), organisation=member.organisation
    )


def load_committee(state: StateView) -> Committee:
    """The committee (empty if the charter named none)."""
    return state.get_struct(COMMITTEE_KEY, Committee) or Committee(governors=())


def store_committee(state: StateView, governors: list[Governor]) -> None:
    """Write the committee sorted by address."""
    ordered = tuple(sorted(governors, key=lambda g: g.address))
    state.put_struct(COMMITTEE_KEY, Committee(governors=ordered))


def load_thresholds(state: StateView) -> Thresholds:
    """Thresholds in force."""
    return state.get_struct(THRESHOLDS_KEY, Thresholds) or Thresholds(entries=())


def load_org(state: StateView, name: str) -> Organisation:
    """Organisation ``name``; raises OrganisationNotFound."""
    found = state.get_struct(org_key(name), Organisation)
    if found is None:
        raise OrganisationNotFound(f"no organisation {name!r}")
    return found


def load_proposal(state: StateView, proposal_id: int) -> Proposal:
    """Proposal ``proposal_id``; raises ProposalNotFound."""
    found = state.get_struct(proposal_key(proposal_id), Proposal)
    if found is None:
        raise ProposalNotFound(f"no proposal {proposal_id}")
    return found


def address_in_use(state: StateView, address: bytes) -> str | None:
    """What state ``address`` has, or None if it has none ([GOV-KEYS.1]).

    State about an address lives under keys that contain it: its account
    record (``accounts/<address>``, present once it has signed, been
    registered or been given keys at genesis) and its asset balances
    (``assets/bal/<address>/<symbol>``; a zero balance is deleted, so any
    entry is a holding). Both are exact-key or short prefix reads of the
    authenticated state: deterministic, and bounded by the symbols the
    address holds. The EVM world needs no read: an address in it without an
    account record is a contract, whose CREATE/CREATE2 address no key and no
    org-allocation derives (see [GOV-KEYS.2]).
    """
    if load_account(state, address) is not None:
        return "an account"
    prefix = balance_key(address, "")
    for key, _ in state.iterate(prefix):
        return f"a balance of {key[len(prefix) :].decode(errors='replace')}"
    return None


BUILTIN_ROLES = frozenset(r.value for r in Role)


def known_roles(state: StateView) -> frozenset[str]:
    """The built-in roles and those the charter declared ([GOV-ROLES.1])."""
    declared = state.get_struct(ROLES_KEY, DeclaredRoles)
    if declared is None:
        return BUILTIN_ROLES
    return BUILTIN_ROLES | {d.name for d in declared.roles}


def check_role(known: frozenset[str], role: str, field: str) -> None:
    """Refuse a role name outside the rule or not known.

    Raises:
        BadRoleName: ``GOV_BAD_ROLE_NAME``, naming ``field``.
        UndeclaredRole: ``GOV_UNDECLARED_ROLE``, naming ``field``.
    """
    problem = role_name_problem(role)
    if problem is not None:
        raise BadRoleName(f"{field}: {problem}")
    if role not in known:
        raise UndeclaredRole(
            f"{field}: role {role!r} is not declared (declare it in the charter's "
            f"declared_roles; known: {', '.join(sorted(known))})"
        )
