"""What each proposal kind does when its thresholds are met ([GOV-EFFECT.1] in spec.md).

Each effect reads and writes state through ``ctx.state`` and raises a
ModuleError to refuse; the caller runs it inside its own checkpoint, so a
refused effect leaves no write behind and the proposal is marked ``failed``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import msgspec

from consortia.codec import CodecError, decode, encode
from consortia.execution.epochs import VALIDATORS_NEXT_KEY, current_set, pending_set
from consortia.execution.errors import ExecutionError
from consortia.execution.extensions import (
    call_as_governance,
    decode_call_args,
    governed_method,
)
from consortia.execution.module import Module, TxContext
from consortia.execution.policy import POLICY_KEY, ChainPolicy, policy_problem
from consortia.execution.state_view import StateView
from consortia.execution.text import validate_label
from consortia.execution.upgrades import ModuleVersion, schedule
from consortia.ledger.types import ValidatorInfo, ValidatorSet
from consortia.modules.accounts.handlers import (
    checked_keys,
    key_address,
    load_account,
    store_account,
)
from consortia.modules.accounts.types import Account
from consortia.modules.governance.errors import (
    BadPayload,
    BadRoleName,
    OrganisationExists,
    RoleExists,
    ValidatorConflict,
)
from consortia.modules.governance.events import AccountRecovered, ModuleCalled
from consortia.modules.governance.state import (
    address_in_use,
    check_role,
    known_roles,
    load_committee,
    load_member,
    load_org,
    load_thresholds,
    store_committee,
    store_member,
    with_role,
    without_role,
)
from consortia.modules.governance.types import (
    ANY,
    PAYLOAD_TYPES,
    PERMISSIONS_KEY,
    ROLES_KEY,
    THRESHOLDS_KEY,
    AccountTarget,
    AddOrganisation,
    AddValidator,
    ApproveContract,
    CallModule,
    ContractApproval,
    DeclaredRoles,
    Governor,
    GrantRole,
    Organisation,
    Permission,
    Permissions,
    Proposal,
    ProposalKind,
    RecoverAccount,
    RemoveOrganisation,
    RemoveValidator,
    RevokeRole,
    ReweightValidator,
    Role,
    RoleDeclaration,
    ScheduledUpgrade,
    ScheduleUpgrade,
    SetPermission,
    SetPolicy,
    Threshold,
    Thresholds,
    WaiveFinding,
    Waiver,
    contract_key,
    org_key,
    role_name_problem,
    threshold_kind_problem,
    upgrade_key,
    waiver_key,
)


def decode_payload(kind: ProposalKind, payload: bytes) -> Any:
    """The payload struct of ``kind``; raises BadPayload."""
    try:
        return decode(payload, PAYLOAD_TYPES[kind])
    except CodecError as exc:
        raise BadPayload(f"{kind.value} payload: {exc.message}") from None


def policy_with(policy: ChainPolicy, change: SetPolicy) -> ChainPolicy:
    """``policy`` with one field changed; raises BadPayload for an unknown field or bad value."""
    fields = ChainPolicy.__struct_fields__
    if change.parameter not in fields:
        raise BadPayload(f"no policy parameter {change.parameter!r}; one of {', '.join(fields)}")
    value: object = {"allowed_key_types": change.strings, "contract_deployment": change.text}.get(
        change.parameter, change.integer
    )
    updated = msgspec.structs.replace(policy, **{change.parameter: value})
    try:
        checked = decode(encode(updated), ChainPolicy)
    except (CodecError, msgspec.ValidationError) as exc:
        raise BadPayload(f"policy {change.parameter}: {exc}") from None
    problem = policy_problem(checked)
    if problem is not None:
        raise BadPayload(f"policy {change.parameter}: {problem}")
    return checked


def precheck(
    state: StateView, kind: ProposalKind, payload: bytes, modules: Mapping[str, Module]
) -> None:
    """Refuse at proposal time what could never execute (bad payload, unknown parameter).

    ``modules`` are the modules in force, against which a ``call_module``
    proposal's method and arguments are checked ([EXT-GOV-CALL.1]).
    """
    args = decode_payload(kind, payload)
    if kind is ProposalKind.SET_POLICY:
        current = state.get_struct(POLICY_KEY, ChainPolicy) or ChainPolicy()
        policy_with(current, args)
    if kind in (ProposalKind.GRANT_ROLE, ProposalKind.REVOKE_ROLE):
        check_role(known_roles(state), args.role, f"{kind.value}.role")
        if args.role == Role.MEMBER:
            raise BadPayload("the member role comes with register_account, not by proposal")
    if kind is ProposalKind.CALL_MODULE:
        method = governed_method(modules, args.module, args.method)
        decode_call_args(method, args.module, args.method, args.args)
    if kind is ProposalKind.DECLARE_ROLE:
        _declared_after(state, args)
    if kind is ProposalKind.SET_PERMISSION:
        _permissions_after(state, args)
    if kind is ProposalKind.SET_THRESHOLD:
        _check_threshold(args)
    if kind is ProposalKind.RECOVER_ACCOUNT:
        checked_keys(args.keys)


def _add_org(ctx: TxContext, args: AddOrganisation) -> None:
    if ctx.state.get(org_key(args.name)) is not None:
        raise OrganisationExists(f"organisation {args.name!r} exists")
    if not args.admins:
        raise BadPayload("an organisation needs at least one admin")
    for admin in args.admins:
        member = load_member(ctx.state, admin)
        if member.organisation and member.organisation != args.name:
            raise BadPayload(f"{admin.hex()} belongs to organisation {member.organisation!r}")
        store_member(ctx.state, admin, with_role(member, Role.ORG_ADMIN, args.name))
    admins = tuple(sorted(set(args.admins)))
    org = Organisation(name=args.name, admins=admins, ca_cert=args.ca_cert)
    ctx.state.put_struct(org_key(args.name), org)


def _remove_org(ctx: TxContext, args: RemoveOrganisation) -> None:
    org = load_org(ctx.state, args.name)
    for admin in org.admins:
        store_member(ctx.state, admin, without_role(load_member(ctx.state, admin), Role.ORG_ADMIN))
    ctx.state.delete(org_key(args.name))


def _grant_role(ctx: TxContext, args: GrantRole) -> None:
    check_role(known_roles(ctx.state), args.role, "grant_role.role")
    member = load_member(ctx.state, args.address)
    organisation = args.organisation or member.organisation
    if args.role == Role.ORG_ADMIN:
        if not organisation:
            raise BadPayload("org_admin needs an organisation")
        org = load_org(ctx.state, organisation)
        admins = tuple(sorted({*org.admins, args.address}))
        ctx.state.put_struct(
            org_key(org.name), Organisation(name=org.name, admins=admins, ca_cert=org.ca_cert)
        )
    elif args.organisation:
        load_org(ctx.state, args.organisation)
    if member.organisation and organisation != member.organisation:
        raise BadPayload(f"{args.address.hex()} belongs to organisation {member.organisation!r}")
    if args.role == Role.GOVERNOR:
        seats = [g for g in load_committee(ctx.state).governors if g.address != args.address]
        store_committee(ctx.state, [*seats, Governor(address=args.address, weight=args.weight)])
    store_member(ctx.state, args.address, with_role(member, args.role, organisation))


def _revoke_role(ctx: TxContext, args: RevokeRole) -> None:
    member = load_member(ctx.state, args.address)
    if args.role not in member.roles:
        raise BadPayload(f"{args.address.hex()} does not hold {args.role}")
    if args.role == Role.GOVERNOR:
        seats = [g for g in load_committee(ctx.state).governors if g.address != args.address]
        if not seats:
            raise BadPayload("the committee cannot lose its last governor")
        store_committee(ctx.state, seats)
    if args.role == Role.ORG_ADMIN and member.organisation:
        org = load_org(ctx.state, member.organisation)
        admins = tuple(a for a in org.admins if a != args.address)
        ctx.state.put_struct(
            org_key(org.name), Organisation(name=org.name, admins=admins, ca_cert=org.ca_cert)
        )
    store_member(ctx.state, args.address, without_role(member, args.role))


def _set_policy(ctx: TxContext, args: SetPolicy) -> None:
    current = ctx.state.get_struct(POLICY_KEY, ChainPolicy)
    assert current is not None, "genesis writes the chain policy"
    ctx.state.put_struct(POLICY_KEY, policy_with(current, args))


def _set_frozen(ctx: TxContext, address: bytes, frozen: bool) -> None:
    account = load_account(ctx.state, address)
    if account is None:
        raise BadPayload(f"no account {address.hex()}")
    store_account(ctx.state, address, msgspec.structs.replace(account, frozen=frozen))
    ctx.touched.add(address)


def _freeze(ctx: TxContext, args: AccountTarget) -> None:
    _set_frozen(ctx, args.address, True)


def _unfreeze(ctx: TxContext, args: AccountTarget) -> None:
    _set_frozen(ctx, args.address, False)


def _recover_account(ctx: TxContext, args: RecoverAccount, proposal_id: int) -> None:
    """[GOV-RECOVER.1] replace the keys of an address with state, by the committee's vote.

    Nonce and frozen status are kept (unfreezing is its own proposal). A
    dormant address (balances, no account record yet) gets its account here,
    at nonce 0. An address with no state has nothing to recover.
    """
    keys = checked_keys(args.keys)
    account = load_account(ctx.state, args.address)
    if account is None:
        if address_in_use(ctx.state, args.address) is None:
            raise BadPayload(f"address {args.address.hex()} has no state: nothing to recover")
        account = Account(nonce=0, keys=())
    # The recovered keys form a plain set (any one signs): the owners set weights again
    # with accounts.set_multisig ([ACCT-MULTISIG.2]).
    updated = Account(nonce=account.nonce, keys=keys, frozen=account.frozen)
    store_account(ctx.state, args.address, updated)
    ctx.touched.add(args.address)
    ctx.emit(AccountRecovered(id=proposal_id, account=args.address, keys=len(keys)))


def _approve_contract(ctx: TxContext, args: ApproveContract, proposal_id: int) -> None:
    record = ContractApproval(
        code_hash=args.code_hash, proposal_id=proposal_id, height=ctx.block.height, note=args.note
    )
    ctx.state.put_struct(contract_key(args.code_hash), record)


def _waive_finding(ctx: TxContext, args: WaiveFinding, proposal_id: int) -> None:
    record = Waiver(
        code_hash=args.code_hash,
        check=args.check,
        reason=args.reason,
        proposal_id=proposal_id,
        height=ctx.block.height,
    )
    ctx.state.put_struct(waiver_key(args.code_hash, args.check), record)


def _schedule_upgrade(ctx: TxContext, args: ScheduleUpgrade, proposal_id: int) -> None:
    if args.activation_height <= ctx.block.height:
        raise BadPayload(
            f"activation height {args.activation_height} is not above height {ctx.block.height}"
        )
    record = ScheduledUpgrade(
        module=args.module,
        version=args.version,
        activation_height=args.activation_height,
        proposal_id=proposal_id,
    )
    ctx.state.put_struct(upgrade_key(args.module), record)
    schedule(
        ctx.state,
        ModuleVersion(
            module=args.module, version=args.version, activation_height=args.activation_height
        ),
    )


def _next_set(state: StateView) -> ValidatorSet:
    """The current set with epoch + 1, to change; refused while a change is pending.

    One change per epoch: consensus hands over to exactly the set a certified
    state requested, so that request must not move until it is in force.
    """
    pending = pending_set(state)
    if pending is not None:
        raise ValidatorConflict(
            f"a change to the epoch {pending.epoch} validator set is pending; "
            "propose again once it is in force"
        )
    current = current_set(state)
    return ValidatorSet(epoch=current.epoch + 1, validators=current.validators)


def _write_next(state: StateView, epoch: int, validators: tuple[ValidatorInfo, ...]) -> None:
    if not validators:
        raise ValidatorConflict("the validator set cannot become empty")
    state.put_struct(VALIDATORS_NEXT_KEY, ValidatorSet(epoch=epoch, validators=validators))


def _add_validator(ctx: TxContext, args: AddValidator) -> None:
    nxt = _next_set(ctx.state)
    new = args.validator
    for v in nxt.validators:
        if new.name == v.name or new.address == v.address or new.public_key == v.public_key:
            raise ValidatorConflict(f"validator {new.name} clashes with {v.name}")
    if new.weight == 0:
        raise BadPayload("a validator needs a positive weight")
    if nxt.validators and new.key_type != nxt.validators[0].key_type:
        raise BadPayload(f"validator key type must be {nxt.validators[0].key_type}")
    try:
        derived = key_address(new.key_type, new.public_key)
    except ExecutionError as exc:
        raise BadPayload(exc.message) from None
    if derived != new.address:
        raise BadPayload(f"validator {new.name}'s address is not its key's address")
    _write_next(ctx.state, nxt.epoch, (*nxt.validators, new))


def _find(nxt: ValidatorSet, name: str) -> ValidatorInfo:
    for v in nxt.validators:
        if v.name == name:
            return v
    raise ValidatorConflict(f"no validator {name!r} in the next set")


def _remove_validator(ctx: TxContext, args: RemoveValidator) -> None:
    nxt = _next_set(ctx.state)
    _find(nxt, args.name)
    _write_next(ctx.state, nxt.epoch, tuple(v for v in nxt.validators if v.name != args.name))


def _reweight_validator(ctx: TxContext, args: ReweightValidator) -> None:
    nxt = _next_set(ctx.state)
    _find(nxt, args.name)
    validators = tuple(
        msgspec.structs.replace(v, weight=args.weight) if v.name == args.name else v
        for v in nxt.validators
    )
    _write_next(ctx.state, nxt.epoch, validators)


GOVERNING_METHODS: Final = ("propose", "vote")
"""Methods governors must keep: a permission change may never lock the committee out."""


def _rule_for(rules: dict[tuple[str, str], Permission], method: str) -> Permission | None:
    return rules.get(("governance", method)) or rules.get(("governance", ANY))


def _permissions_after(state: StateView, args: SetPermission) -> Permissions:
    """The permission table with ``args`` applied; raises BadPayload if it must not be."""
    if args.method != ANY and not args.method.isidentifier():
        raise BadPayload(f"method {args.method!r} is neither '*' nor a name")
    known = known_roles(state)
    for j, role in enumerate(args.roles):
        check_role(known, role, f"set_permission.roles[{j}]")
    table = state.get_struct(PERMISSIONS_KEY, Permissions) or Permissions(rules=())
    rules = {(r.module, r.method): r for r in table.rules}
    key = (args.module, args.method)
    if args.remove:
        if key not in rules:
            raise BadPayload(f"no rule for {args.module}.{args.method} to remove")
        del rules[key]
    else:
        roles = tuple(sorted(set(args.roles)))
        rules[key] = Permission(module=args.module, method=args.method, roles=roles)
    for method in GOVERNING_METHODS:
        rule = _rule_for(rules, method)
        if rule is None or (rule.roles and Role.GOVERNOR not in rule.roles):
            raise BadPayload(f"governors would lose governance.{method}; refused")
    return Permissions(rules=tuple(rules[k] for k in sorted(rules)))


def _set_permission(ctx: TxContext, args: SetPermission) -> None:
    ctx.state.put_struct(PERMISSIONS_KEY, _permissions_after(ctx.state, args))


def _check_threshold(args: Threshold) -> None:
    problem = threshold_kind_problem(args.kind)
    if problem is not None:
        raise BadPayload(problem)
    for label, frac in (("participation", args.participation), ("approval", args.approval)):
        if not 0 < frac.numerator <= frac.denominator:
            raise BadPayload(f"{label} {frac.numerator}/{frac.denominator} must be in (0, 1]")


def _set_threshold(ctx: TxContext, args: Threshold) -> None:
    _check_threshold(args)
    entries = {t.kind: t for t in load_thresholds(ctx.state).entries}
    entries[args.kind] = args
    ordered = tuple(entries[k] for k in sorted(entries))
    ctx.state.put_struct(THRESHOLDS_KEY, Thresholds(entries=ordered))


def _declared_after(state: StateView, args: RoleDeclaration) -> DeclaredRoles:
    """The declared roles with ``args`` added ([GOV-ROLES.1]).

    Raises:
        BadRoleName: the name breaks the rule; InvalidName: the description
            breaks the text rule; RoleExists: built in or declared already.
    """
    problem = role_name_problem(args.name)
    if problem is not None:
        raise BadRoleName(f"declare_role.name: {problem}")
    validate_label(args.description, "declare_role.description")
    if args.name in known_roles(state):
        raise RoleExists(f"declare_role.name: role {args.name!r} is built in or declared already")
    current = state.get_struct(ROLES_KEY, DeclaredRoles) or DeclaredRoles(roles=())
    return DeclaredRoles(roles=tuple(sorted((*current.roles, args), key=lambda d: d.name)))


def _declare_role(ctx: TxContext, args: RoleDeclaration) -> None:
    ctx.state.put_struct(ROLES_KEY, _declared_after(ctx.state, args))


def _call_module(ctx: TxContext, args: CallModule, proposal_id: int) -> None:
    """[EXT-GOV-CALL.1] run the module's governance-only method as the governance authority.

    The method is looked up again among the modules in force now (an upgrade
    may have removed it since the proposal), its arguments decoded again.
    """
    call_as_governance(ctx, args.module, args.method, args.args)
    ctx.emit(ModuleCalled(id=proposal_id, module=args.module, method=args.method))


_SIMPLE: Final[dict[ProposalKind, Callable[[TxContext, Any], None]]] = {
    ProposalKind.ADD_ORGANISATION: _add_org,
    ProposalKind.REMOVE_ORGANISATION: _remove_org,
    ProposalKind.GRANT_ROLE: _grant_role,
    ProposalKind.REVOKE_ROLE: _revoke_role,
    ProposalKind.SET_POLICY: _set_policy,
    ProposalKind.FREEZE_ACCOUNT: _freeze,
    ProposalKind.UNFREEZE_ACCOUNT: _unfreeze,
    ProposalKind.ADD_VALIDATOR: _add_validator,
    ProposalKind.REMOVE_VALIDATOR: _remove_validator,
    ProposalKind.REWEIGHT_VALIDATOR: _reweight_validator,
    ProposalKind.SET_PERMISSION: _set_permission,
    ProposalKind.SET_THRESHOLD: _set_threshold,
    ProposalKind.DECLARE_ROLE: _declare_role,
}


def apply(ctx: TxContext, proposal: Proposal) -> None:
    """Carry out ``proposal``'s effect; raises a ModuleError to refuse it."""
    args = decode_payload(proposal.kind, proposal.payload)
    if proposal.kind is ProposalKind.APPROVE_CONTRACT:
        _approve_contract(ctx, args, proposal.id)
    elif proposal.kind is ProposalKind.SCHEDULE_UPGRADE:
        _schedule_upgrade(ctx, args, proposal.id)
    elif proposal.kind is ProposalKind.WAIVE_FINDING:
        _waive_finding(ctx, args, proposal.id)
    elif proposal.kind is ProposalKind.RECOVER_ACCOUNT:
        _recover_account(ctx, args, proposal.id)
    elif proposal.kind is ProposalKind.CALL_MODULE:
        _call_module(ctx, args, proposal.id)
    else:
        _SIMPLE[proposal.kind](ctx, args)
