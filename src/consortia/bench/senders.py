"""The load's senders: each account's pre-signed transactions, and who sends next.

A send slot goes to the next sender of the kind the mix deals it
(``schedule.kind_pattern``); each sender sends its transactions in nonce
order. A refused transaction that may be resent keeps its place: the sender's
next slot resends it first.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

from consortia.bench.schedule import kind_pattern

__all__ = ["SendPool", "Sender"]


@dataclass(slots=True)
class Sender:
    """One account's pre-signed transactions and where its sending stands."""

    kind: str
    raws: list[bytes]
    ids: list[bytes]
    cursor: int = 0
    """Next transaction never sent."""
    retry: list[int] = field(default_factory=list)
    """Heap of refused transactions to send again first."""
    retired: bool = False
    """A refusal that resending cannot cure: send nothing more."""
    uncertain: set[int] = field(default_factory=set)
    """Sent in a request that failed: a later duplicate answer means admitted."""

    def next_index(self) -> int | None:
        """The transaction to send next (a refused one first), or None: nothing left."""
        if self.retired:
            return None
        if self.retry:
            return heapq.heappop(self.retry)
        if self.cursor < len(self.raws):
            self.cursor += 1
            return self.cursor - 1
        return None


class SendPool:
    """Deals send slots to kinds in mix order and, within a kind, to its senders in turn."""

    def __init__(self, senders: list[Sender], mix: Sequence[tuple[str, int]]) -> None:
        self.senders = senders
        self.pattern = kind_pattern(mix)
        self.members = {k: [i for i, s in enumerate(senders) if s.kind == k] for k, _ in mix}
        self._turn = dict.fromkeys(self.members, 0)
        self._slot = 0
        self.exhausted = False

    def take(self, n: int) -> list[tuple[int, int]]:
        """Up to ``n`` (sender, transaction index) picks; fewer once a kind runs out."""
        picks: list[tuple[int, int]] = []
        while len(picks) < n and not self.exhausted:
            kind = self.pattern[self._slot % len(self.pattern)]
            self._slot += 1
            pick = self._next_of(kind)
            if pick is None:
                self.exhausted = True
            else:
                picks.append(pick)
        return picks

    def _next_of(self, kind: str) -> tuple[int, int] | None:
        members = self.members[kind]
        for _ in range(len(members)):
            index = members[self._turn[kind] % len(members)]
            self._turn[kind] += 1
            tx = self.senders[index].next_index()
            if tx is not None:
                return index, tx
        return None
