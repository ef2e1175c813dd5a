"""The events the ``governance`` module emits ([EXEC-EVENT.1]); see spec.md."""

from __future__ import annotations

from typing import Final

from consortia.execution.events import EventStruct


class ProposalCreated(EventStruct, frozen=True):
    """A governor opened proposal ``id``."""

    event_name = "proposal_created"
    id: int
    kind: str
    proposer: bytes
    deadline: int
    """Last height at which votes count."""


class VoteCast(EventStruct, frozen=True):
    """A governor voted on proposal ``id``."""

    event_name = "vote_cast"
    id: int
    voter: bytes
    choice: str
    weight: int


class ProposalFailed(EventStruct, frozen=True):
    """Proposal ``id`` passed but its effect failed (nothing of it was written)."""

    event_name = "proposal_failed"
    id: int
    code: str
    message: str


class ProposalExecuted(EventStruct, frozen=True):
    """Proposal ``id`` passed and its effect was applied."""

    event_name = "proposal_executed"
    id: int
    kind: str


class AccountRegistered(EventStruct, frozen=True):
    """An organisation admin registered an account of its organisation."""

    event_name = "account_registered"
    account: bytes
    organisation: str
    keys: int


class KeyRevoked(EventStruct, frozen=True):
    """An organisation admin revoked a key of one of its accounts."""

    event_name = "key_revoked"
    account: bytes
    organisation: str
    remaining: int


class AccountRecovered(EventStruct, frozen=True):
    """Proposal ``id`` replaced a lost account's keys."""

    event_name = "account_recovered"
    id: int
    account: bytes
    keys: int


class ModuleCalled(EventStruct, frozen=True):
    """Proposal ``id`` called ``module.method`` as the governance authority ([EXT-GOV-CALL.1])."""

    event_name = "module_called"
    id: int
    module: str
    method: str


EVENTS: Final[tuple[type[EventStruct], ...]] = (
    ProposalCreated,
    VoteCast,
    ProposalFailed,
    ProposalExecuted,
    AccountRegistered,
    KeyRevoked,
    AccountRecovered,
    ModuleCalled,
)
"""Every event type of the ``governance`` module."""
