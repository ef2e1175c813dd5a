"""The events the ``assets`` module emits ([EXEC-EVENT.1]); see spec.md."""

from __future__ import annotations

from typing import Final

from consortia.execution.events import EventStruct


class Created(EventStruct, frozen=True):
    """An asset was defined (a fixed-supply asset's whole supply went to its issuer)."""

    event_name = "created"
    symbol: str
    issuer: bytes
    rule: str
    """The supply rule: ``fixed`` or ``mintable``."""


class Issued(EventStruct, frozen=True):
    """The issuer minted ``amount`` to ``to``."""

    event_name = "issued"
    symbol: str
    to: bytes
    amount: int


class Transferred(EventStruct, frozen=True):
    """``amount`` moved from ``sender`` to ``to``."""

    event_name = "transferred"
    symbol: str
    sender: bytes
    to: bytes
    amount: int


class Burned(EventStruct, frozen=True):
    """``holder`` destroyed ``amount`` of its balance."""

    event_name = "burned"
    symbol: str
    holder: bytes
    amount: int


EVENTS: Final[tuple[type[EventStruct], ...]] = (Created, Issued, Transferred, Burned)
"""Every event type of the ``assets`` module."""
