"""Governance state, the charter in genesis, and the arguments of the governance methods.

Everything stored is a canonical struct; every collection is a tuple kept
sorted by its key (address, name, module/method), so the encoding never
depends on insertion or dict order.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Final

import msgspec

from consortia.codec import U64, Address, Canonical, CodecError, Hash32, Name, decode, encode
from consortia.crypto import sha256
from consortia.execution.text import validate_label, validate_name
from consortia.ledger.types import PublicKeyBytes, ValidatorInfo
from consortia.modules.accounts.types import KeySet

PREFIX: Final = b"governance/"
MEMBER_PREFIX: Final = b"governance/members/"
ORG_PREFIX: Final = b"governance/orgs/"
PROPOSAL_PREFIX: Final = b"governance/proposals/"
CONTRACT_PREFIX: Final = b"governance/contracts/"
WAIVER_PREFIX: Final = b"governance/waivers/"
UPGRADE_PREFIX: Final = b"governance/upgrades/"
COMMITTEE_KEY: Final = b"governance/committee"
PERMISSIONS_KEY: Final = b"governance/permissions"
THRESHOLDS_KEY: Final = b"governance/thresholds"
NEXT_PROPOSAL_KEY: Final = b"governance/next_proposal"
ROLES_KEY: Final = b"governance/roles"
"""The roles the charter declares beyond the built-in ones ([GOV-ROLES.1])."""
ANY: Final = "*"
"""Method wildcard of a permission rule."""

Weight = Annotated[int, msgspec.Meta(ge=1)]
"""A positive voting weight."""


RoleName = Annotated[str, msgspec.Meta(max_length=64)]
"""A role's name: a built-in :class:`Role` or one the charter declares ([GOV-ROLES.1]).

Decoding bounds only the length; :func:`role_name_problem` is the rule
(1-32 of ``a-z 0-9 _``, starting with a letter), checked where a name enters
state, so a refusal names the field and has its own code."""

ROLE_NAME_MAX: Final = 32
_NAME_RULE: Final = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
"""The ``Name`` rule (codec), for a module named inside a threshold kind."""


class Role(StrEnum):
    """The built-in roles, which governance itself gives meaning to; applications declare more
    in the charter (``declared_roles``)."""

    ORG_ADMIN = "org_admin"
    """Registers new accounts of its organisation; revokes (never the last) keys of them."""
    GOVERNOR = "governor"
    """Proposes and votes, with its committee weight."""
    VALIDATOR_OPERATOR = "validator_operator"
    """Operates a validator of its organisation (recorded; no method needs it yet)."""
    AUDITOR = "auditor"
    """May call what the permission table grants it (by default ``evm.submit_audit``)."""
    MEMBER = "member"
    """An account registered by its organisation's admin."""


class ProposalKind(StrEnum):
    """What a proposal does when executed; each has its payload type (PAYLOAD_TYPES)."""

    ADD_ORGANISATION = "add_organisation"
    REMOVE_ORGANISATION = "remove_organisation"
    GRANT_ROLE = "grant_role"
    REVOKE_ROLE = "revoke_role"
    SET_POLICY = "set_policy"
    FREEZE_ACCOUNT = "freeze_account"
    UNFREEZE_ACCOUNT = "unfreeze_account"
    APPROVE_CONTRACT = "approve_contract"
    SCHEDULE_UPGRADE = "schedule_upgrade"
    CALL_MODULE = "call_module"
    """Call a module's governance-only method (extensions.py, [EXT-GOV-CALL.1])."""
    DECLARE_ROLE = "declare_role"
    """Add a role to the declared set ([GOV-ROLES.1]), e.g. for a module an upgrade brings."""
    ADD_VALIDATOR = "add_validator"
    REMOVE_VALIDATOR = "remove_validator"
    REWEIGHT_VALIDATOR = "reweight_validator"
    SET_PERMISSION = "set_permission"
    SET_THRESHOLD = "set_threshold"
    WAIVE_FINDING = "waive_finding"
    RECOVER_ACCOUNT = "recover_account"


class Choice(StrEnum):
    """A governor's vote."""

    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


class Status(StrEnum):
    """Where a proposal stands; ``expired`` is derived from the height, never stored."""

    OPEN = "open"
    EXECUTED = "executed"
    FAILED = "failed"
    """Thresholds were met but the effect was refused (code in ``outcome``); state unchanged."""
    EXPIRED = "expired"


# ------------------------------------------------------------------ charter


class Fraction(Canonical, frozen=True):
    """``numerator / denominator`` of weight, compared with integer arithmetic only."""

    numerator: U64
    denominator: Weight


TWO_THIRDS: Final = Fraction(numerator=2, denominator=3)


class Threshold(Canonical, frozen=True):
    """How much weight a proposal kind needs to execute."""

    kind: str
    """A ProposalKind value, ``default`` for kinds without their own entry, or
    ``call_module:<module>.<method>`` for calls of one governance-only method."""
    participation: Fraction = TWO_THIRDS
    """Weight that voted (yes, no or abstain) over the committee's total weight."""
    approval: Fraction = TWO_THIRDS
    """Yes weight over yes + no weight (abstentions count for participation only)."""


class Organisation(Canonical, frozen=True):
    """A member organisation of the consortium."""

    name: Name
    admins: tuple[Address, ...]
    """Accounts holding ``org_admin`` for this organisation (sorted)."""
    ca_cert: bytes = b""
    """PEM of the organisation's CA certificate (empty if not given)."""


class Governor(Canonical, frozen=True):
    """A committee seat: an account and its voting weight."""

    address: Address
    weight: Weight


class RoleDeclaration(Canonical, frozen=True):
    """A role an application adds (charter ``[[declared_role]]``)."""

    name: RoleName
    description: Annotated[str, msgspec.Meta(max_length=256)] = ""


class DeclaredRoles(Canonical, frozen=True):
    """The declared roles in state (key ``governance/roles``), sorted by name."""

    roles: tuple[RoleDeclaration, ...]


class RoleGrant(Canonical, frozen=True):
    """An initial role of an account (charter ``[[role]]``)."""

    address: Address
    role: RoleName
    organisation: str = ""


class Permission(Canonical, frozen=True):
    """Who may call ``module.method`` (``method`` ``*``: every method of the module)."""

    module: Name
    method: str
    roles: tuple[RoleName, ...] = ()
    """Any of these roles suffices; empty means every account."""


DEFAULT_PERMISSIONS: Final = (
    Permission(module="accounts", method=ANY),
    Permission(module="assets", method=ANY),
    Permission(module="evm", method=ANY),
    Permission(module="evm", method="submit_audit", roles=(Role.AUDITOR,)),
    Permission(module="governance", method="propose", roles=(Role.GOVERNOR,)),
    Permission(module="governance", method="register_account", roles=(Role.ORG_ADMIN,)),
    Permission(module="governance", method="revoke_key", roles=(Role.ORG_ADMIN,)),
    Permission(module="governance", method="vote", roles=(Role.GOVERNOR,)),
)


class Charter(Canonical, frozen=True):
    """The ``governance`` section of the genesis: who governs, and by which rules."""

    organisations: tuple[Organisation, ...] = ()
    governors: tuple[Governor, ...] = ()
    thresholds: tuple[Threshold, ...] = (Threshold(kind="default"),)
    roles: tuple[RoleGrant, ...] = ()
    permissions: tuple[Permission, ...] = DEFAULT_PERMISSIONS
    declared_roles: tuple[RoleDeclaration, ...] = ()
    """Roles beyond the built-in ones that grants and permissions may name."""


# -------------------------------------------------------------------- state


class Member(Canonical, frozen=True):
    """An account's roles and organisation (key ``governance/members/<address>``)."""

    roles: tuple[RoleName, ...]
    """Sorted, no duplicates."""
    organisation: str = ""


class Committee(Canonical, frozen=True):
    """The governing committee, sorted by address."""

    governors: tuple[Governor, ...]

    def weight_of(self, address: bytes) -> int:
        """Weight of ``address`` (0 if it has no seat)."""
        return next((g.weight for g in self.governors if g.address == address), 0)

    @property
    def total(self) -> int:
        """Sum of all weights."""
        return sum(g.weight for g in self.governors)


class Permissions(Canonical, frozen=True):
    """The permission table, sorted by (module, method)."""

    rules: tuple[Permission, ...]


class Thresholds(Canonical, frozen=True):
    """Thresholds in force, sorted by kind."""

    entries: tuple[Threshold, ...]

    def for_kind(self, kind: str) -> Threshold:
        """The kind's own entry, else ``default``, else 2/3 and 2/3."""
        by_kind = {t.kind: t for t in self.entries}
        return by_kind.get(kind) or by_kind.get("default") or Threshold(kind="default")

    def for_proposal(self, kind: ProposalKind, payload: bytes) -> Threshold:
        """The threshold a proposal must reach: for ``call_module``, the entry of its
        method (``call_module:<module>.<method>``) first; else :meth:`for_kind`."""
        if kind is ProposalKind.CALL_MODULE:
            try:
                call = decode(payload, CallModule)
            except CodecError:
                call = None
            if call is not None:
                target = call_threshold_kind(call.module, call.method)
                for entry in self.entries:
                    if entry.kind == target:
                        return entry
        return self.for_kind(kind.value)


class Vote(Canonical, frozen=True):
    """A governor's current vote on a proposal."""

    voter: Address
    choice: Choice
    height: U64


class HistoryEntry(Canonical, frozen=True):
    """One step of a proposal's life."""

    height: U64
    action: str
    """``proposed``, ``voted``, ``executed`` or ``failed``."""
    actor: bytes
    detail: str = ""


class Proposal(Canonical, frozen=True):
    """A proposal and its votes (key ``governance/proposals/<id, 8 bytes big-endian>``)."""

    id: U64
    kind: ProposalKind
    payload: bytes
    """Canonical bytes of the kind's payload struct."""
    proposer: Address
    created_height: U64
    deadline_height: U64
    """Last height at which a vote is accepted."""
    status: Status
    votes: tuple[Vote, ...] = ()
    """One per voter, sorted by voter."""
    history: tuple[HistoryEntry, ...] = ()
    outcome: str = ""
    """Empty, or the error code and message of a refused effect."""
    closed_height: U64 = 0


class Counter(Canonical, frozen=True):
    """A stored counter."""

    value: U64


class ContractApproval(Canonical, frozen=True):
    """An approved contract bytecode hash."""

    code_hash: Hash32
    proposal_id: U64
    height: U64
    note: str = ""


class ScheduledUpgrade(Canonical, frozen=True):
    """A module upgrade approved for an activation height (not applied by v1)."""

    module: Name
    version: str
    activation_height: U64
    proposal_id: U64


# ------------------------------------------------------------------ payloads


class AddOrganisation(Canonical, frozen=True):
    """Admit an organisation; its admins receive ``org_admin``."""

    name: Name
    admins: tuple[Address, ...]
    ca_cert: bytes = b""


class RemoveOrganisation(Canonical, frozen=True):
    """Remove an organisation; its admins lose ``org_admin``."""

    name: Name


class GrantRole(Canonical, frozen=True):
    """Give ``role`` to ``address`` (``weight``: the committee seat of a governor)."""

    address: Address
    role: RoleName
    organisation: str = ""
    weight: Weight = 1

    def __post_init__(self) -> None:
        """Keep the text rule [EXEC-TEXT.1] (raises InvalidName, TX_BAD_NAME)."""
        validate_label(self.organisation, "organisation")


class RevokeRole(Canonical, frozen=True):
    """Take ``role`` from ``address`` (a governor also loses its seat)."""

    address: Address
    role: RoleName


class SetPolicy(Canonical, frozen=True):
    """Set one ChainPolicy field: ``integer`` for numeric fields, ``strings`` for
    lists, ``text`` for ``contract_deployment``."""

    parameter: str
    integer: U64 = 0
    strings: tuple[str, ...] = ()
    text: str = ""


class AccountTarget(Canonical, frozen=True):
    """Freeze or unfreeze ``address``."""

    address: Address


class ApproveContract(Canonical, frozen=True):
    """Record an approved contract bytecode hash."""

    code_hash: Hash32
    note: str = ""

    def __post_init__(self) -> None:
        """Keep the text rule [EXEC-TEXT.1] (raises InvalidName, TX_BAD_NAME)."""
        validate_label(self.note, "note")


class ScheduleUpgrade(Canonical, frozen=True):
    """Record a module upgrade to activate at ``activation_height``."""

    module: Name
    version: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    activation_height: U64

    def __post_init__(self) -> None:
        """Keep the text rule [EXEC-TEXT.1] (raises InvalidName, TX_BAD_NAME)."""
        validate_name(self.version, "version")


class AddValidator(Canonical, frozen=True):
    """Request a validator's admission to the next validator set."""

    validator: ValidatorInfo


class RemoveValidator(Canonical, frozen=True):
    """Request a validator's removal from the next validator set."""

    name: Name


class ReweightValidator(Canonical, frozen=True):
    """Request a new weight for a validator in the next validator set."""

    name: Name
    weight: Weight


class WaiveFinding(Canonical, frozen=True):
    """Accept a finding of a contract's audit: deployment no longer refuses it."""

    code_hash: Hash32
    """Keccak-256 of the contract's runtime code (what its audit report is bound to)."""
    check: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    """The finding's check id, e.g. ``reentrancy-eth`` or ``consortia-reentrancy``."""
    reason: Annotated[str, msgspec.Meta(max_length=1024)] = ""

    def __post_init__(self) -> None:
        """Keep the text rule [EXEC-TEXT.1] (raises InvalidName, TX_BAD_NAME)."""
        validate_name(self.check, "check")
        validate_label(self.reason, "reason")


class Waiver(Canonical, frozen=True):
    """A recorded waiver (key ``governance/waivers/<code hash><check>``)."""

    code_hash: Hash32
    check: str
    reason: str
    proposal_id: U64
    height: U64


class SetPermission(Canonical, frozen=True):
    """Set the permission rule of ``module.method`` (``*``: the module), or remove it."""

    module: Name
    method: str
    roles: tuple[RoleName, ...] = ()
    """Any of these roles suffices; empty means every account."""
    remove: bool = False
    """Delete the rule instead (then only the module's ``*`` rule, if any, applies)."""

    def __post_init__(self) -> None:
        """Keep the text rule [EXEC-TEXT.1] (raises InvalidName, TX_BAD_NAME)."""
        validate_name(self.method, "method")


class RecoverAccount(Canonical, frozen=True):
    """Replace the keys of ``address`` (lost-key recovery, [GOV-RECOVER.1])."""

    address: Address
    keys: KeySet
    """The account's whole new key set; every earlier key stops signing."""
    reason: Annotated[str, msgspec.Meta(max_length=1024)] = ""
    """Why (recorded in the proposal for the audit trail)."""

    def __post_init__(self) -> None:
        """Keep the text rule [EXEC-TEXT.1] (raises InvalidName, TX_BAD_NAME)."""
        validate_label(self.reason, "reason")


class CallModule(Canonical, frozen=True):
    """Call ``module.method`` with ``args`` as the governance authority ([EXT-GOV-CALL.1])."""

    module: Name
    method: Name
    args: bytes = b""
    """Canonical bytes of the method's argument type (checked when proposed)."""


PAYLOAD_TYPES: Final[dict[ProposalKind, type[Canonical]]] = {
    ProposalKind.ADD_ORGANISATION: AddOrganisation,
    ProposalKind.REMOVE_ORGANISATION: RemoveOrganisation,
    ProposalKind.GRANT_ROLE: GrantRole,
    ProposalKind.REVOKE_ROLE: RevokeRole,
    ProposalKind.SET_POLICY: SetPolicy,
    ProposalKind.FREEZE_ACCOUNT: AccountTarget,
    ProposalKind.UNFREEZE_ACCOUNT: AccountTarget,
    ProposalKind.APPROVE_CONTRACT: ApproveContract,
    ProposalKind.SCHEDULE_UPGRADE: ScheduleUpgrade,
    ProposalKind.CALL_MODULE: CallModule,
    ProposalKind.DECLARE_ROLE: RoleDeclaration,
    ProposalKind.ADD_VALIDATOR: AddValidator,
    ProposalKind.REMOVE_VALIDATOR: RemoveValidator,
    ProposalKind.REWEIGHT_VALIDATOR: ReweightValidator,
    ProposalKind.SET_PERMISSION: SetPermission,
    ProposalKind.SET_THRESHOLD: Threshold,
    ProposalKind.WAIVE_FINDING: WaiveFinding,
    ProposalKind.RECOVER_ACCOUNT: RecoverAccount,
}


# ------------------------------------------------------------------- methods


class Propose(Canonical, frozen=True):
    """``governance.propose``: open a proposal (governors only)."""

    kind: ProposalKind
    payload: bytes
    """Canonical bytes of ``PAYLOAD_TYPES[kind]``."""
    deadline_height: U64


class CastVote(Canonical, frozen=True):
    """``governance.vote``: vote on an open proposal; a later vote replaces an earlier one."""

    proposal_id: U64
    choice: Choice


OrgSalt = Annotated[bytes, msgspec.Meta(max_length=32)]
ORG_ACCOUNT_TAG: Final = "consortia/org-account/v1"
"""Domain tag of org-allocated addresses (never the preimage layout of a key's address)."""


def org_account_address(organisation: str, salt: bytes) -> bytes:
    """The org-allocated address ``salt`` of ``organisation`` ([GOV-KEYS.2]).

    The last 20 bytes of SHA-256 over the canonical (MessagePack) encoding of
    ``[tag, organisation, salt]``: suite-independent, injective in its
    inputs, and a different hash input than any key's address (H(x‖y)) or
    EVM contract address (Keccak of RLP), so finding one that is also a key's
    address is a 160-bit preimage search.
    """
    return sha256(encode((ORG_ACCOUNT_TAG, organisation, salt)))[-20:]


class RegisterAccount(Canonical, frozen=True):
    """``governance.register_account``: an org admin creates a new account of its org.

    ``address`` must have no state, and be either the own address of every
    key in ``keys`` (``salt`` empty) or ``org_account_address(org, salt)``
    ([GOV-KEYS.1], [GOV-KEYS.2]).
    """

    address: Address
    keys: KeySet
    salt: OrgSalt = b""
    """Empty: ``address`` is the keys' own address; else the org-allocation salt."""


class RevokeKey(Canonical, frozen=True):
    """``governance.revoke_key``: an org admin removes a key (not the last) of its org's account."""

    address: Address
    public_key: PublicKeyBytes


def member_key(address: bytes) -> bytes:
    """State key of an account's roles."""
    return MEMBER_PREFIX + address


def org_key(name: str) -> bytes:
    """State key of an organisation."""
    return ORG_PREFIX + name.encode()


def proposal_key(proposal_id: int) -> bytes:
    """State key of a proposal (big-endian id: key order is id order)."""
    return PROPOSAL_PREFIX + proposal_id.to_bytes(8, "big")


def waiver_key(code_hash: bytes, check: str) -> bytes:
    """State key of the waiver of ``check`` for the code with ``code_hash``."""
    return WAIVER_PREFIX + code_hash + check.encode()


def contract_key(code_hash: bytes) -> bytes:
    """State key of a contract approval."""
    return CONTRACT_PREFIX + code_hash


def upgrade_key(module: str) -> bytes:
    """State key of a module's scheduled upgrade."""
    return UPGRADE_PREFIX + module.encode()


def role_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a role name, or None ([GOV-ROLES.1])."""
    if not 1 <= len(name) <= ROLE_NAME_MAX:
        return f"role name {name!r} must be 1 to {ROLE_NAME_MAX} characters"
    if not (name[0].isascii() and name[0].islower()) or not all(
        c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in name
    ):
        return f"role name {name!r} must be a-z, 0-9 and _, starting with a letter"
    return None


CALL_THRESHOLD_PREFIX: Final = "call_module:"


def call_threshold_kind(module: str, method: str) -> str:
    """The threshold kind of calls of ``module.method`` (``call_module:<module>.<method>``)."""
    return f"{CALL_THRESHOLD_PREFIX}{module}.{method}"


def threshold_kind_problem(kind: str) -> str | None:
    """Why ``kind`` cannot key a threshold, or None: ``default``, a ProposalKind value, or
    ``call_module:<module>.<method>``."""
    if kind == "default" or kind in ProposalKind.__members__.values():
        return None
    if kind.startswith(CALL_THRESHOLD_PREFIX):
        module, dot, method = kind[len(CALL_THRESHOLD_PREFIX) :].rpartition(".")
        if dot and module and method.isidentifier() and _NAME_RULE.fullmatch(module):
            return None
        return f"{kind!r} is not call_module:<module>.<method>"
    return f"unknown proposal kind {kind!r}"
