"""Each proposal kind's effect once executed ([GOV-EFFECT.1])."""

from __future__ import annotations

import pytest
from tests.execution.chain import address, key

from consortia.crypto import KeyType
from consortia.execution.epochs import (
    VALIDATORS_KEY,
    VALIDATORS_NEXT_KEY,
    current_set,
    enter_epoch,
    pending_set,
)
from consortia.execution.policy import POLICY_KEY, ChainPolicy
from consortia.execution.state_view import StateView
from consortia.execution.upgrades import ModuleVersion, version_key
from consortia.ledger.types import ValidatorInfo, ValidatorSet
from consortia.modules.assets.types import Create, SupplyRule
from consortia.modules.governance.state import load_committee
from consortia.modules.governance.types import (
    AccountTarget,
    AddOrganisation,
    AddValidator,
    GrantRole,
    Organisation,
    ProposalKind,
    RemoveOrganisation,
    RemoveValidator,
    RevokeRole,
    ReweightValidator,
    Role,
    ScheduledUpgrade,
    ScheduleUpgrade,
    SetPolicy,
    Status,
    org_key,
    upgrade_key,
)

from .helpers import ALICE, G2, Gov

NEW_ADMIN = key(KeyType.SM2, 400)


def test_add_and_remove_organisation(gov: Gov) -> None:
    add = AddOrganisation(name="org9", admins=(address(NEW_ADMIN),), ca_cert=b"PEM")
    assert gov.pass_(ProposalKind.ADD_ORGANISATION, add).status is Status.EXECUTED
    org = gov.chain.read(lambda v: v.get_struct(org_key("org9"), Organisation))
    assert org is not None and org.admins == (address(NEW_ADMIN),)
    assert gov.member(address(NEW_ADMIN)).roles == (Role.ORG_ADMIN,)
    again = gov.pass_(ProposalKind.ADD_ORGANISATION, add)
    assert again.status is Status.FAILED and again.outcome.startswith("GOV_ORG_EXISTS")
    assert gov.pass_(ProposalKind.REMOVE_ORGANISATION, RemoveOrganisation("org9")).status is (
        Status.EXECUTED
    )
    assert gov.chain.read(lambda v: v.get(org_key("org9"))) is None
    assert Role.ORG_ADMIN not in gov.member(address(NEW_ADMIN)).roles


def test_grant_and_revoke_governor(gov: Gov) -> None:
    grant = GrantRole(address=address(ALICE), role=Role.GOVERNOR, weight=3)
    gov.pass_(ProposalKind.GRANT_ROLE, grant)
    committee = gov.chain.read(load_committee)
    assert committee.weight_of(address(ALICE)) == 3 and committee.total == 7
    gov_revoke = RevokeRole(address=address(G2), role=Role.GOVERNOR)
    out = gov.pass_(ProposalKind.REVOKE_ROLE, gov_revoke)  # G1 + G3 = 3 of 7: not enough
    assert out.status is Status.OPEN
    assert gov.vote(ALICE, out.id).receipt.status == "OK"
    assert gov.proposal(out.id).status is Status.EXECUTED
    assert gov.chain.read(load_committee).weight_of(address(G2)) == 0
    assert Role.GOVERNOR not in gov.member(address(G2)).roles


def test_set_policy(gov: Gov) -> None:
    gov.pass_(ProposalKind.SET_POLICY, SetPolicy(parameter="max_tx_bytes", integer=4_096))
    gov.pass_(ProposalKind.SET_POLICY, SetPolicy(parameter="allowed_key_types", strings=("sm2",)))
    policy = gov.chain.read(lambda v: v.get_struct(POLICY_KEY, ChainPolicy))
    assert policy is not None
    assert policy.max_tx_bytes == 4_096 and policy.allowed_key_types == ("sm2",)


def test_freeze_and_unfreeze(gov: Gov) -> None:
    gov.pass_(ProposalKind.FREEZE_ACCOUNT, AccountTarget(address(ALICE)))
    args = Create("CNY", "yuan", 2, SupplyRule.UNLIMITED, 0)
    assert gov.send(ALICE, "assets", "create", args).receipt.status == "TX_ACCOUNT_FROZEN"
    gov.pass_(ProposalKind.UNFREEZE_ACCOUNT, AccountTarget(address(ALICE)))
    assert gov.send(ALICE, "assets", "create", args).receipt.status == "OK"
    missing = gov.pass_(ProposalKind.FREEZE_ACCOUNT, AccountTarget(b"\x09" * 20))
    assert missing.status is Status.FAILED


def test_schedule_upgrade(gov: Gov) -> None:
    gov.pass_(
        ProposalKind.SCHEDULE_UPGRADE,
        ScheduleUpgrade(module="assets", version="2", activation_height=1_000),
    )
    found = gov.chain.read(lambda v: v.get_struct(upgrade_key("assets"), ScheduledUpgrade))
    assert found is not None and found.activation_height == 1_000 and found.proposal_id == 1
    # The execution layer's record, which switches the module at that height.
    record = gov.chain.read(lambda v: v.get_struct(version_key("assets"), ModuleVersion))
    assert record == ModuleVersion(module="assets", version="2", activation_height=1_000)


def _new_validator(seed: int, weight: int = 1) -> ValidatorInfo:
    new_key = key(KeyType.SM2, seed)
    return ValidatorInfo(
        name="org9-v0",
        organisation="org9",
        address=address(new_key),
        key_type="sm2",
        public_key=new_key.public_key().to_bytes(),
        weight=weight,
        endpoint="10.0.0.9:26656",
    )


def test_validator_changes_write_next_set_one_per_epoch(gov: Gov) -> None:
    current = gov.chain.read(lambda v: v.get_struct(VALIDATORS_KEY, ValidatorSet))
    assert current is not None
    gov.pass_(ProposalKind.ADD_VALIDATOR, AddValidator(_new_validator(500)))
    nxt = gov.chain.read(lambda v: v.get_struct(VALIDATORS_NEXT_KEY, ValidatorSet))
    assert nxt is not None and nxt.epoch == current.epoch + 1
    assert [(v.name, v.weight) for v in nxt.validators] == [("v0", 1), ("org9-v0", 1)]
    assert gov.chain.read(lambda v: v.get_struct(VALIDATORS_KEY, ValidatorSet)) == current
    # A second change while the first is pending is refused, and changes nothing.
    again = gov.pass_(ProposalKind.REWEIGHT_VALIDATOR, ReweightValidator(name="v0", weight=5))
    assert again.status is Status.FAILED and "GOV_VALIDATOR_CONFLICT" in again.outcome
    assert gov.chain.read(lambda v: v.get_struct(VALIDATORS_NEXT_KEY, ValidatorSet)) == nxt


def test_enter_epoch_puts_the_pending_set_in_force(gov: Gov) -> None:
    gov.pass_(ProposalKind.ADD_VALIDATOR, AddValidator(_new_validator(501, weight=2)))
    nxt = gov.chain.read(pending_set)
    assert nxt is not None

    def enter(view: StateView, epoch: int) -> tuple[bool, ValidatorSet, ValidatorSet | None]:
        changed = enter_epoch(view, epoch)
        return changed, current_set(view), pending_set(view)

    assert gov.chain.read(lambda v: enter(v, nxt.epoch - 1))[0] is False
    changed, in_force, pending = gov.chain.read(lambda v: enter(v, nxt.epoch))
    assert changed and in_force == nxt and pending is None
    with pytest.raises(RuntimeError, match="no pending set"):
        gov.chain.read(lambda v: enter(v, nxt.epoch + 1))


def test_the_validator_set_cannot_become_empty(gov: Gov) -> None:
    assert [v.name for v in gov.chain.read(current_set).validators] == ["v0"]
    last = gov.pass_(ProposalKind.REMOVE_VALIDATOR, RemoveValidator(name="v0"))
    assert last.status is Status.FAILED and "GOV_VALIDATOR_CONFLICT" in last.outcome
    assert gov.chain.read(pending_set) is None


def test_refused_effect_writes_nothing(gov: Gov) -> None:
    from .helpers import ADMIN

    before = gov.chain.dump(b"governance/members/")
    both = AddOrganisation(name="org9", admins=(address(NEW_ADMIN), address(ADMIN)))
    failed = gov.pass_(ProposalKind.ADD_ORGANISATION, both)  # ADMIN already admins org1
    assert failed.status is Status.FAILED and failed.outcome.startswith("GOV_BAD_PAYLOAD")
    assert [h.action for h in failed.history][-1] == "failed"
    assert gov.chain.dump(b"governance/members/") == before  # NEW_ADMIN's write rolled back
    assert gov.chain.read(lambda v: v.get(org_key("org9"))) is None
