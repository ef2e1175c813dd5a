"""Round synchronisation: which round we are in and how long to wait in it.

Jolteon §3.2: a validator enters round r + 1 on seeing a QC or TC for round
r. If a round makes no progress it times out; consecutive timeouts back off
exponentially so that rounds eventually last long enough for any honest
leader after GST ([CONS-PACE.1]). The pacemaker reads no clock: it returns
durations and the node schedules the timers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PacemakerConfig:
    """Timeout schedule in seconds."""

    base_timeout_s: float = 2.0
    """First timeout of a round that follows a QC."""
    backoff: float = 1.5
    """Multiplier per consecutive round without a QC."""
    max_timeout_s: float = 30.0


class Pacemaker:
    """Tracks the current round and the timeout owed to it."""

    def __init__(self, config: PacemakerConfig) -> None:
        self.config = config
        self.current_round = 0
        self._last_qc_round = 0

    def advance(self, qc_round: int, tc_round: int) -> bool:
        """Move to ``max(qc_round, tc_round) + 1`` if that is ahead; True if the round changed."""
        self._last_qc_round = max(self._last_qc_round, qc_round)
        new_round = max(qc_round, tc_round) + 1
        if new_round <= self.current_round:
            return False
        self.current_round = new_round
        return True

    def timeout_duration(self) -> float:
        """How long the current round may last before we time out."""
        misses = max(0, self.current_round - self._last_qc_round - 1)
        duration = self.config.base_timeout_s * self.config.backoff ** min(misses, 16)
        return min(duration, self.config.max_timeout_s)
