"""The log of refused P2P connections, rate-limited so a flood cannot fill the disk
([NET-REJECT-LOG.1]).

Every connection the transport refuses (TLS handshake failure, a certificate
no member CA issued, a Hello for another chain, a bad or missing Hello, a
handshake that times out) is counted by reason, and logged as one line::

    refused P2P connection from 203.0.113.9:51234 [NET_TLS_FAILED]: <detail>
    refused P2P connection to org2-v1 (10.0.0.2:26656) [NET_WRONG_CHAIN]: <detail>

At most ``burst`` lines per reason are written per ``window_s`` seconds.
Beyond that, refusals are only counted; when the window has passed (at the
next refusal of that reason, at :meth:`RejectionLog.flush`, or at close) one
summary line gives the number left out. So a flood of any size writes at
most ``burst + 1`` lines per reason per window.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["REJECT_LOG_BURST", "REJECT_LOG_WINDOW_S", "RejectionLog"]

REJECT_LOG_BURST: Final = 10
"""Lines per reason per window before refusals are only counted."""
REJECT_LOG_WINDOW_S: Final = 60.0
"""Length of a rate-limit window, in seconds."""
_DETAIL_CHARS: Final = 200
"""Longest detail logged (a peer's Hello can name anything)."""


@dataclass
class _Window:
    start: float
    logged: int = 0
    suppressed: int = 0


class RejectionLog:
    """Counts refused connections by reason and logs them, rate-limited per reason."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        burst: int = REJECT_LOG_BURST,
        window_s: float = REJECT_LOG_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._burst = burst
        self._window_s = window_s
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._totals: dict[str, int] = {}

    def record(self, peer: str, reason: str, detail: str, *, dialed: bool = False) -> None:
        """Count one refusal of ``peer`` (``host:port``) for ``reason`` (an error code);
        ``dialed``: a peer this node dialed, not one that connected to it."""
        self._totals[reason] = self._totals.get(reason, 0) + 1
        now = self._clock()
        window = self._windows.get(reason)
        if window is None or now - window.start >= self._window_s:
            if window is not None:
                self._summarise(reason, window)
            window = self._windows[reason] = _Window(start=now)
        if window.logged < self._burst:
            window.logged += 1
            # repr: a peer-chosen detail cannot start a line or reorder it.
            shown = repr(detail[:_DETAIL_CHARS])[1:-1] + (
                "…" if len(detail) > _DETAIL_CHARS else ""
            )
            direction = "to" if dialed else "from"
            self._log.warning(
                "refused P2P connection %s %s [%s]: %s", direction, peer, reason, shown
            )
        else:
            window.suppressed += 1

    def flush(self, *, force: bool = False) -> None:
        """Write the summary of every window that has ended (``force``: of every window)."""
        now = self._clock()
        for reason, window in list(self._windows.items()):
            if force or now - window.start >= self._window_s:
                self._summarise(reason, window)
                del self._windows[reason]

    def statistics(self) -> dict[str, int]:
        """Refusals counted so far, by reason (a copy)."""
        return dict(self._totals)

    def _summarise(self, reason: str, window: _Window) -> None:
        if window.suppressed:
            self._log.warning(
                "refused %d more P2P connections [%s] in %.0f s (not logged one by one)",
                window.suppressed,
                reason,
                self._window_s,
            )
            window.suppressed = 0
