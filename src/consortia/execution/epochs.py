"""The validator set in state and the one state transition consensus drives.

``chain/validators`` holds the set in force; an executed governance proposal
writes the requested next set to ``chain/validators_next`` (at most one
change per epoch). Consensus ends the epoch at the first block that certifies
a state with a pending set; executing the first block of the next epoch moves
the pending set into force ([CONS-EPOCH.1], docs/consensus.md). The
transition is a function of the block's header epoch only, so replaying the
chain reproduces it.
"""

from __future__ import annotations

from typing import Final

from consortia.execution.state_view import StateView
from consortia.ledger.types import ValidatorSet

VALIDATORS_KEY: Final = b"chain/validators"
"""The validator set in force."""
VALIDATORS_NEXT_KEY: Final = b"chain/validators_next"
"""The requested set of the next epoch, until that epoch begins."""


def current_set(state: StateView) -> ValidatorSet:
    """The validator set in force (genesis writes the first)."""
    current = state.get_struct(VALIDATORS_KEY, ValidatorSet)
    assert current is not None, "genesis writes the validator set"
    return current


def pending_set(state: StateView) -> ValidatorSet | None:
    """The requested next set, if a change is pending."""
    return state.get_struct(VALIDATORS_NEXT_KEY, ValidatorSet)


def enter_epoch(state: StateView, epoch: int) -> bool:
    """Put the pending set in force if a block of ``epoch`` is the first of its epoch.

    Returns True if the epoch changed. A certified block of a later epoch with
    no pending set for it would mean the validators certified a wrong
    header; execution stops rather than guess.
    """
    current = current_set(state)
    if epoch == current.epoch:
        return False
    pending = pending_set(state)
    if pending is None or pending.epoch != epoch:
        raise RuntimeError(
            f"block of epoch {epoch} but no pending set for it (in force: {current.epoch})"
        )
    state.put_struct(VALIDATORS_KEY, pending)
    state.delete(VALIDATORS_NEXT_KEY)
    return True
