"""Runs the consensus core on the event loop: feeds it events, carries out its actions.

The only async part of consensus: timers, the proposal ticker and (with
peers) the network. Every core call is wrapped so an invalid message from a
peer is logged and counted, never propagated ([NODE-BYZ.1]).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from consortia.consensus.core import (
    Action,
    Broadcast,
    Commit,
    ConsensusCore,
    NeedBlock,
    ScheduleTimeout,
    SendVote,
)
from consortia.consensus.errors import ConsensusError
from consortia.consensus.types import Proposal, TimeoutMsg, Vote

log = logging.getLogger(__name__)


class Network(Protocol):
    """How the driver reaches other validators (see ``consortia.network``)."""

    def broadcast(self, message: Proposal | TimeoutMsg) -> None:
        """Send to every other validator."""
        ...

    def send_vote(self, to: int, vote: Vote) -> None:
        """Send a vote to validator ``to``."""
        ...

    def request_blocks(self, peer: int, action: NeedBlock, from_height: int) -> None:
        """Fetch a missing certified block and its ancestors down to ``from_height``."""
        ...


class LocalNetwork:
    """The network of a single-validator chain: nobody else to talk to."""

    def broadcast(self, message: Proposal | TimeoutMsg) -> None:
        """Nothing to do."""

    def send_vote(self, to: int, vote: Vote) -> None:
        """Nothing to do (our own votes are handled inside the core)."""

    def request_blocks(self, peer: int, action: NeedBlock, from_height: int) -> None:
        """Nothing to fetch from."""


class ConsensusDriver:
    """Owns the core's timers and ticker; applies actions."""

    def __init__(
        self,
        core: ConsensusCore,
        network: Network,
        on_commit: Callable[[Commit], None],
        *,
        tick_s: float,
    ) -> None:
        self.core = core
        self._network = network
        """Where outbound actions go: the peer links, or nobody on a one-validator chain."""
        self._on_commit = on_commit
        """Receives commits (the node's epoch gate in front of execution)."""
        self._tick_s = tick_s
        self._timer: asyncio.TimerHandle | None = None
        self.rejected_messages = 0

    def apply(self, actions: list[Action]) -> None:
        """Carry out core actions in order."""
        for action in actions:
            if isinstance(action, Broadcast):
                self._network.broadcast(action.message)
            elif isinstance(action, SendVote):
                self._network.send_vote(action.to, action.vote)
            elif isinstance(action, Commit):
                self._on_commit(action)
            elif isinstance(action, ScheduleTimeout):
                self._schedule(action)
            else:
                from_height = self.core.tree.root.header.height + 1
                self._network.request_blocks(action.peer, action, from_height)

    def switch(self, core: ConsensusCore) -> None:
        """Run ``core`` (a new epoch's) from now on; the old core's timer is cancelled."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.core = core
        self.guarded(core.start)

    def _schedule(self, action: ScheduleTimeout) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(action.delay_s, self._fire, action.round)

    def _fire(self, round_: int) -> None:
        self.guarded(lambda: self.core.on_local_timeout(round_))

    def guarded(self, step: Callable[[], list[Action]]) -> None:
        """Run a core step; log and count a refused message instead of raising."""
        try:
            actions = step()
        except ConsensusError as exc:
            self.rejected_messages += 1
            log.warning("consensus refused a message: [%s] %s", exc.code, exc.message)
            return
        self.apply(actions)

    def poke(self) -> None:
        """Ask the core to propose now if it leads and has something to propose."""
        self.guarded(self.core.try_propose)

    async def run(self) -> None:
        """Start the core, then tick the proposer until cancelled."""
        self.guarded(self.core.start)
        try:
            while True:
                await asyncio.sleep(self._tick_s)
                self.poke()
        finally:
            if self._timer is not None:
                self._timer.cancel()
