"""The events the ``evm`` module emits ([EXEC-EVENT.1]); their names are the ledger's."""

from __future__ import annotations

from typing import Final

from consortia.execution.events import EventStruct


class Log(EventStruct, frozen=True):
    """A contract's LOG entry."""

    event_name = "log"
    address: bytes
    """The emitting contract."""
    topics: str
    """The 32-byte topics in hex, space-separated."""
    data: bytes


class ContractCreated(EventStruct, frozen=True):
    """A contract was deployed and passed the audit gate."""

    event_name = "contract_created"
    address: bytes
    code_hash: bytes
    """keccak256 of the runtime code."""


class Returned(EventStruct, frozen=True):
    """A call's return data."""

    event_name = "returned"
    output: bytes


class AuditRecorded(EventStruct, frozen=True):
    """An auditor's report was stored for a runtime code hash."""

    event_name = "audit_recorded"
    code_hash: bytes
    contract: str
    high: int
    """Number of high-severity findings."""
    medium: int
    auditor: bytes


EVENTS: Final[tuple[type[EventStruct], ...]] = (Log, ContractCreated, Returned, AuditRecorded)
"""Every event type of the ``evm`` module."""
