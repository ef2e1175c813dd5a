"""The events the ``accounts`` module emits ([EXEC-EVENT.1]); see spec.md."""

from __future__ import annotations

from typing import Final

from consortia.execution.events import EventStruct


class KeyAdded(EventStruct, frozen=True):
    """The account registered another signing key."""

    event_name = "key_added"
    account: bytes
    key_type: str


class KeyRemoved(EventStruct, frozen=True):
    """The account removed one of its keys."""

    event_name = "key_removed"
    account: bytes


class KeysSet(EventStruct, frozen=True):
    """The account replaced its keys; ``keys`` is how many it now has."""

    event_name = "keys_set"
    account: bytes
    keys: int


class MultisigSet(EventStruct, frozen=True):
    """The account replaced its keys, weights and threshold (``accounts.set_multisig``)."""

    event_name = "multisig_set"
    account: bytes
    keys: int
    total_weight: int
    threshold: int


EVENTS: Final[tuple[type[EventStruct], ...]] = (KeyAdded, KeyRemoved, KeysSet, MultisigSet)
"""Every event type of the ``accounts`` module."""
