"""Governance module errors (stable codes; see spec.md for when each is raised)."""

from __future__ import annotations

from consortia.errors import NodeError
from consortia.execution.errors import ModuleError, PermissionDenied

__all__ = [
    "AccountExists",
    "AddressNotOwned",
    "BadDeadline",
    "BadPayload",
    "BadRoleName",
    "CharterBadRoleName",
    "CharterUndeclaredRole",
    "InvalidCharter",
    "KeyNotFound",
    "LastKeyRevoke",
    "NotGovernor",
    "NotOrgAdmin",
    "OrganisationExists",
    "OrganisationNotFound",
    "PermissionDenied",
    "ProposalClosed",
    "ProposalExpired",
    "ProposalNotFound",
    "RoleExists",
    "UndeclaredRole",
    "ValidatorConflict",
]


class InvalidCharter(NodeError):
    """The genesis charter breaks a rule; the message names the field."""

    code = "GOV_CHARTER_INVALID"


class CharterBadRoleName(InvalidCharter):
    """A role the charter declares has a name outside the role-name rule ([GOV-ROLES.1])."""

    code = "GOV_CHARTER_BAD_ROLE_NAME"


class CharterUndeclaredRole(InvalidCharter):
    """A charter grant or permission names a role that is neither built in nor declared."""

    code = "GOV_CHARTER_UNDECLARED_ROLE"


class BadRoleName(ModuleError):
    """A proposal names a role outside the role-name rule ([GOV-ROLES.1])."""

    code = "GOV_BAD_ROLE_NAME"


class UndeclaredRole(ModuleError):
    """A proposal names a role that is neither built in nor declared in the charter."""

    code = "GOV_UNDECLARED_ROLE"


class RoleExists(ModuleError):
    """``declare_role`` of a built-in or already declared role."""

    code = "GOV_ROLE_EXISTS"
    http_status = 409


class NotGovernor(ModuleError):
    """The sender has no seat (weight) on the committee."""

    code = "GOV_NOT_GOVERNOR"
    http_status = 403


class ProposalNotFound(ModuleError):
    """No proposal with that id."""

    code = "GOV_PROPOSAL_NOT_FOUND"
    http_status = 404


class ProposalClosed(ModuleError):
    """The proposal already executed or failed."""

    code = "GOV_PROPOSAL_CLOSED"


class ProposalExpired(ModuleError):
    """The chain is past the proposal's deadline height."""

    code = "GOV_PROPOSAL_EXPIRED"


class BadDeadline(ModuleError):
    """The deadline height is not ahead of the current height, or too far ahead."""

    code = "GOV_BAD_DEADLINE"


class BadPayload(ModuleError):
    """The payload does not decode as the kind's type, or names something impossible."""

    code = "GOV_BAD_PAYLOAD"


class OrganisationExists(ModuleError):
    """An organisation of that name exists."""

    code = "GOV_ORG_EXISTS"


class OrganisationNotFound(ModuleError):
    """No organisation of that name."""

    code = "GOV_ORG_NOT_FOUND"
    http_status = 404


class NotOrgAdmin(ModuleError):
    """The sender is not an admin of the account's organisation."""

    code = "GOV_NOT_ORG_ADMIN"
    http_status = 403


class KeyNotFound(ModuleError):
    """The key to revoke is not registered to the account."""

    code = "GOV_KEY_NOT_FOUND"


class AccountExists(ModuleError):
    """``register_account`` on an address with state: only new accounts are registered."""

    code = "GOV_ACCOUNT_EXISTS"
    http_status = 409


class AddressNotOwned(ModuleError):
    """The address is neither the registered key's own address nor an org-allocated one."""

    code = "GOV_ADDRESS_NOT_OWNED"
    http_status = 403


class LastKeyRevoke(ModuleError):
    """``revoke_key`` would leave the account with no key (recovery is by proposal)."""

    code = "GOV_LAST_KEY"


class ValidatorConflict(ModuleError):
    """The validator to add exists, or the one to change does not, or the set would be empty."""

    code = "GOV_VALIDATOR_CONFLICT"
