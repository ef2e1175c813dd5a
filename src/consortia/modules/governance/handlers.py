"""Governance module: proposals and weighted votes, org admins' key management, permissions.

A proposal executes inside the vote transaction that makes it cross both
thresholds of its kind ([GOV-TALLY.1]); a vote after the deadline height is
refused, so an expired proposal can never execute ([GOV-EXPIRY.1]). The
permission table is checked by the executor before any method runs
([GOV-PERM.1], :class:`GovernancePermissions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consortia.execution.errors import ExecutionError, OutOfGas, PermissionDenied
from consortia.execution.events import EventStruct
from consortia.execution.module import Method, TxContext
from consortia.execution.state_view import StateView
from consortia.modules.accounts.handlers import (
    checked_keys,
    is_key,
    key_address,
    keys_kept,
    load_account,
    store_account,
)
from consortia.modules.accounts.types import Account
from consortia.modules.governance import effects
from consortia.modules.governance.charter import write_charter
from consortia.modules.governance.errors import (
    AccountExists,
    AddressNotOwned,
    BadDeadline,
    KeyNotFound,
    LastKeyRevoke,
    NotGovernor,
    NotOrgAdmin,
    ProposalClosed,
    ProposalExpired,
)
from consortia.modules.governance.events import (
    EVENTS,
    AccountRegistered,
    KeyRevoked,
    ProposalCreated,
    ProposalExecuted,
    ProposalFailed,
    VoteCast,
)
from consortia.modules.governance.state import (
    address_in_use,
    load_committee,
    load_member,
    load_org,
    load_proposal,
    load_thresholds,
    store_member,
    with_role,
)
from consortia.modules.governance.types import (
    ANY,
    NEXT_PROPOSAL_KEY,
    PERMISSIONS_KEY,
    CastVote,
    Choice,
    Committee,
    Counter,
    HistoryEntry,
    Permission,
    Permissions,
    Proposal,
    Propose,
    RegisterAccount,
    RevokeKey,
    Role,
    Status,
    Threshold,
    Vote,
    org_account_address,
    proposal_key,
)


def tally(committee: Committee, votes: tuple[Vote, ...]) -> tuple[int, int, int]:
    """Yes, no and abstain weight, each voter weighted by its current seat."""
    weights = {Choice.YES: 0, Choice.NO: 0, Choice.ABSTAIN: 0}
    for vote in votes:
        weights[vote.choice] += committee.weight_of(vote.voter)
    return weights[Choice.YES], weights[Choice.NO], weights[Choice.ABSTAIN]


def passes(committee: Committee, votes: tuple[Vote, ...], threshold: Threshold) -> bool:
    """Whether participation and approval both reach ``threshold`` (integer arithmetic)."""
    yes, no, abstain = tally(committee, votes)
    total = committee.total
    if total == 0 or yes == 0:
        return False
    part, appr = threshold.participation, threshold.approval
    return (yes + no + abstain) * part.denominator >= part.numerator * total and (
        yes * appr.denominator >= appr.numerator * (yes + no)
    )


def effective_status(proposal: Proposal, height: int) -> Status:
    """The stored status, or ``expired`` for an open proposal past its deadline."""
    if proposal.status is Status.OPEN and height > proposal.deadline_height:
        return Status.EXPIRED
    return proposal.status


def _propose(ctx: TxContext, args: Propose) -> None:
    if load_committee(ctx.state).weight_of(ctx.sender) == 0:
        raise NotGovernor(f"{ctx.sender.hex()} has no seat on the committee")
    height = ctx.block.height
    if not height <= args.deadline_height <= height + ctx.policy.max_expiry_blocks:
        raise BadDeadline(
            f"deadline {args.deadline_height} must be within [{height}, "
            f"{height + ctx.policy.max_expiry_blocks}]"
        )
    effects.precheck(ctx.state, args.kind, args.payload, ctx.modules)
    counter = ctx.state.get_struct(NEXT_PROPOSAL_KEY, Counter) or Counter(value=1)
    ctx.state.put_struct(NEXT_PROPOSAL_KEY, Counter(value=counter.value + 1))
    proposal = Proposal(
        id=counter.value,
        kind=args.kind,
        payload=args.payload,
        proposer=ctx.sender,
        created_height=height,
        deadline_height=args.deadline_height,
        status=Status.OPEN,
        history=(HistoryEntry(height=height, action="proposed", actor=ctx.sender),),
    )
    ctx.state.put_struct(proposal_key(proposal.id), proposal)
    ctx.emit(
        ProposalCreated(
            id=proposal.id,
            kind=args.kind.value,
            proposer=ctx.sender,
            deadline=args.deadline_height,
        )
    )


def _vote(ctx: TxContext, args: CastVote) -> None:
    proposal = load_proposal(ctx.state, args.proposal_id)
    height = ctx.block.height
    if proposal.status is not Status.OPEN:
        raise ProposalClosed(f"proposal {proposal.id} is {proposal.status.value}")
    if height > proposal.deadline_height:
        raise ProposalExpired(
            f"proposal {proposal.id} expired at height {proposal.deadline_height}"
        )
    committee = load_committee(ctx.state)
    weight = committee.weight_of(ctx.sender)
    if weight == 0:
        raise NotGovernor(f"{ctx.sender.hex()} has no seat on the committee")
    others = tuple(v for v in proposal.votes if v.voter != ctx.sender)
    votes = tuple(
        sorted(
            (*others, Vote(voter=ctx.sender, choice=args.choice, height=height)),
            key=lambda v: v.voter,
        )
    )
    entry = HistoryEntry(height=height, action="voted", actor=ctx.sender, detail=args.choice.value)
    history = (*proposal.history, entry)
    ctx.emit(VoteCast(id=proposal.id, voter=ctx.sender, choice=args.choice.value, weight=weight))
    status, outcome = Status.OPEN, ""
    threshold = load_thresholds(ctx.state).for_proposal(proposal.kind, proposal.payload)
    if passes(committee, votes, threshold):
        status, outcome = _execute(ctx, proposal)
        history = (
            *history,
            HistoryEntry(height=height, action=status.value, actor=ctx.sender, detail=outcome),
        )
    updated = Proposal(
        id=proposal.id,
        kind=proposal.kind,
        payload=proposal.payload,
        proposer=proposal.proposer,
        created_height=proposal.created_height,
        deadline_height=proposal.deadline_height,
        status=status,
        votes=votes,
        history=history,
        outcome=outcome,
        closed_height=height if status is not Status.OPEN else 0,
    )
    ctx.state.put_struct(proposal_key(proposal.id), updated)


def _execute(ctx: TxContext, proposal: Proposal) -> tuple[Status, str]:
    """Apply the effect in its own checkpoint: executed, or failed with nothing written."""
    try:
        with ctx.state.transaction():
            effects.apply(ctx, proposal)
    except OutOfGas:
        raise
    except ExecutionError as exc:
        ctx.emit(ProposalFailed(id=proposal.id, code=exc.code, message=exc.message))
        return Status.FAILED, f"{exc.code}: {exc.message}"
    ctx.emit(ProposalExecuted(id=proposal.id, kind=proposal.kind.value))
    return Status.EXECUTED, ""


def _admin_org(ctx: TxContext) -> str:
    """The organisation the sender administers; raises NotOrgAdmin."""
    member = load_member(ctx.state, ctx.sender)
    if Role.ORG_ADMIN not in member.roles or not member.organisation:
        raise NotOrgAdmin(f"{ctx.sender.hex()} is no organisation's admin")
    if ctx.sender not in load_org(ctx.state, member.organisation).admins:
        raise NotOrgAdmin(f"{ctx.sender.hex()} is not an admin of {member.organisation!r}")
    return member.organisation


def _check_owned(org: str, args: RegisterAccount) -> None:
    """[GOV-KEYS.2]: the address is the keys' own address, or one the organisation allocates."""
    if args.salt:
        allocated = org_account_address(org, args.salt)
        if allocated != args.address:
            raise AddressNotOwned(
                f"address {args.address.hex()} is not {org!r}'s allocation for salt "
                f"{args.salt.hex()} ({allocated.hex()})"
            )
        return
    for k in args.keys:
        derived = key_address(k.key_type, k.public_key)
        if derived != args.address:
            raise AddressNotOwned(
                f"key of address {derived.hex()} may not be registered for {args.address.hex()}: "
                "without a salt, every key must be the account's own key"
            )


def _register_account(ctx: TxContext, args: RegisterAccount) -> None:
    """[GOV-KEYS.1] create a new account of the admin's organisation, never change one."""
    org = _admin_org(ctx)
    member = load_member(ctx.state, args.address)
    if member.organisation and member.organisation != org:
        raise NotOrgAdmin(
            f"account {args.address.hex()} belongs to {member.organisation!r}, not {org!r}"
        )
    in_use = address_in_use(ctx.state, args.address)
    if in_use is not None:
        raise AccountExists(
            f"address {args.address.hex()} already has {in_use}: register_account only creates "
            "new accounts; an account changes its own keys (accounts.set_keys), a lost key is "
            "replaced by a recover_account proposal"
        )
    keys = checked_keys(args.keys)
    _check_owned(org, args)
    store_account(ctx.state, args.address, Account(nonce=0, keys=keys))
    if Role.MEMBER not in member.roles or member.organisation != org:
        store_member(ctx.state, args.address, with_role(member, Role.MEMBER, org))
    ctx.touched.add(args.address)
    ctx.emit(AccountRegistered(account=args.address, organisation=org, keys=len(keys)))


def _revoke_key(ctx: TxContext, args: RevokeKey) -> None:
    """[GOV-KEYS.3] remove a (compromised) key of an account of the admin's organisation.

    Defensive only: the admin can add no key to an existing account, so a
    revocation never moves control to the admin; and the last key is never
    revoked (``GOV_LAST_KEY``), so an admin cannot lock a member out.
    """
    org = _admin_org(ctx)
    if load_member(ctx.state, args.address).organisation != org:
        raise NotOrgAdmin(f"account {args.address.hex()} is not an account of {org!r}")
    account = load_account(ctx.state, args.address)
    keys = () if account is None else account.keys
    remaining = tuple(
        k
        for k in keys
        if k.public_key != args.public_key and not is_key(k, k.key_type, args.public_key)
    )
    if account is None or len(remaining) == len(keys):
        raise KeyNotFound(f"key is not registered to account {args.address.hex()}")
    if not remaining:
        raise LastKeyRevoke(
            f"the key is the last of account {args.address.hex()}; an admin never revokes the "
            "last key (freeze_account and recover_account are proposals)"
        )
    store_account(ctx.state, args.address, keys_kept(account, remaining))
    ctx.touched.add(args.address)
    ctx.emit(KeyRevoked(account=args.address, organisation=org, remaining=len(remaining)))


class GovernanceModule:
    """The ``governance`` module."""

    name = "governance"
    methods: Mapping[str, Method[Any]] = {
        "propose": Method(Propose, _propose, gas=5_000),
        "vote": Method(CastVote, _vote, gas=5_000),
        "register_account": Method(RegisterAccount, _register_account, gas=3_000),
        "revoke_key": Method(RevokeKey, _revoke_key, gas=3_000),
    }
    events: tuple[type[EventStruct], ...] = EVENTS

    def init_genesis(self, state: StateView, genesis: Any) -> None:
        """Write the charter's organisations, roles, committee, thresholds and permissions."""
        write_charter(state, genesis.governance)


MODULE = GovernanceModule()


class GovernancePermissions:
    """The executor's permission pre-check over the table at ``governance/permissions``."""

    def __init__(self) -> None:
        self._indexed: tuple[Permissions, dict[tuple[str, str], Permission]] | None = None

    def _index(self, table: Permissions) -> dict[tuple[str, str], Permission]:
        """The table's rules by (module, method), rebuilt only when the table object changes
        (a state view hands back the same decoded table while its bytes are unchanged)."""
        indexed = self._indexed
        if indexed is None or indexed[0] is not table:
            indexed = self._indexed = (table, {(r.module, r.method): r for r in table.rules})
        return indexed[1]

    def check(self, state: StateView, sender: bytes, module: str, method: str) -> None:
        """Return if a rule for ``module.method`` admits one of the sender's roles.

        The rule for the exact method wins over the module's ``*`` rule; no
        rule means nobody may call it. Without a table (a runtime whose
        genesis wrote none) everything is allowed.

        Raises:
            PermissionDenied: ``TX_PERMISSION_DENIED``.
        """
        table = state.get_struct(PERMISSIONS_KEY, Permissions)
        if table is None:
            return
        rules = self._index(table)
        rule = rules.get((module, method)) or rules.get((module, ANY))
        if rule is None:
            raise PermissionDenied(f"no permission rule allows {module}.{method}")
        if not rule.roles:
            return
        held = load_member(state, sender).roles
        if not set(rule.roles) & set(held):
            needed = ", ".join(rule.roles)
            raise PermissionDenied(
                f"{module}.{method} needs role {needed}; {sender.hex()} holds "
                f"{', '.join(held) or 'none'}"
            )


PERMISSIONS = GovernancePermissions()
