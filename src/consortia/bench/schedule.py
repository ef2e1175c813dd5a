"""What ``consortia bench run`` sends and when: the workload mix and the send-rate schedule.

A *mix* gives each workload kind a whole-number weight; send slots are dealt to
the kinds in a fixed, smooth order (``kind_pattern``), so every stretch of the
run carries the same proportions. A *schedule* is the open-loop send rate over
time, piecewise linear: a fixed rate, a ramp from one rate to another over the
run, or phases of fixed rates one after another. The closed loop (no schedule)
keeps a window of transactions in flight instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Final

KINDS: Final = ("transfer", "issue", "erc20")
"""Workload kinds: native asset transfers, asset issues, ERC-20 transfers via JSON-RPC."""
WORKLOADS: Final = (*KINDS, "mixed")
"""Values of ``--workload``: one kind, or ``mixed``."""
DEFAULT_MIX: Final = (("transfer", 60), ("issue", 30), ("erc20", 10))
"""The ``mixed`` workload's default weights (percent of send slots)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the schedule whose rate moves linearly from ``start`` to ``end``."""

    seconds: float
    """Length of the segment."""
    start: float
    """Send rate (transactions per second) at its beginning."""
    end: float
    """Send rate at its end."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """An open-loop send rate over time, segment after segment."""

    segments: tuple[Segment, ...]

    @property
    def seconds(self) -> float:
        """Length of the whole schedule."""
        return sum(s.seconds for s in self.segments)

    def rate_at(self, t: float) -> float:
        """Send rate at ``t`` seconds from the start (0 after the end)."""
        for segment in self.segments:
            if t < segment.seconds:
                return segment.start + (segment.end - segment.start) * t / segment.seconds
            t -= segment.seconds
        return 0.0

    def due(self, t: float) -> float:
        """Transactions due by ``t`` seconds from the start: the integral of the rate."""
        total = 0.0
        for segment in self.segments:
            span = min(t, segment.seconds)
            if span <= 0:
                break
            slope = (segment.end - segment.start) / segment.seconds
            total += segment.start * span + slope * span * span / 2
            t -= segment.seconds
        return total

    def boundaries(self) -> list[float]:
        """Start times of the segments after the first."""
        edges: list[float] = []
        at = 0.0
        for segment in self.segments[:-1]:
            at += segment.seconds
            edges.append(at)
        return edges


def fixed(rate: float, seconds: float) -> Schedule:
    """``rate`` transactions per second for ``seconds``."""
    return Schedule((Segment(seconds, rate, rate),))


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} {text!r} must be a finite number >= 0")
    return value


def parse_ramp(text: str, seconds: float) -> Schedule:
    """``START:END`` (transactions per second), rising or falling linearly over ``seconds``.

    Raises:
        ValueError: not two numbers separated by a colon, a negative rate, or both zero.
    """
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"ramp {text!r} must be START:END in transactions per second")
    start, end = (_number(p.strip(), "ramp rate") for p in parts)
    if start == 0 and end == 0:
        raise ValueError(f"ramp {text!r} never sends: give a non-zero START or END")
    return Schedule((Segment(seconds, start, end),))


def parse_phases(text: str) -> Schedule:
    """``RATE:SECONDS,RATE:SECONDS,...``: fixed rates one after another.

    Raises:
        ValueError: a phase that is not RATE:SECONDS, a negative rate or a
            non-positive length.
    """
    segments = []
    for item in text.split(","):
        parts = item.strip().split(":")
        if len(parts) != 2:
            raise ValueError(f"phase {item.strip()!r} must be RATE:SECONDS")
        rate = _number(parts[0], "phase rate")
        seconds = _number(parts[1], "phase length")
        if seconds <= 0:
            raise ValueError(f"phase {item.strip()!r} must last more than 0 seconds")
        segments.append(Segment(seconds, rate, rate))
    return Schedule(tuple(segments))


def parse_mix(text: str) -> tuple[tuple[str, int], ...]:
    """``transfer=60,issue=30,erc20=10``: whole-number weights of the kinds sent.

    Raises:
        ValueError: an unknown kind, a kind named twice, a weight that is not a
            whole number >= 0, or no positive weight.
    """
    weights: dict[str, int] = {}
    for item in text.split(","):
        name, sep, weight = item.strip().partition("=")
        name = name.strip()
        if not sep or name not in KINDS:
            raise ValueError(
                f"mix item {item.strip()!r} must be KIND=WEIGHT, KIND one of {', '.join(KINDS)}"
            )
        if name in weights:
            raise ValueError(f"mix names {name} twice")
        try:
            value = int(weight)
        except ValueError:
            raise ValueError(
                f"mix weight {weight.strip()!r} of {name} is not a whole number"
            ) from None
        if value < 0:
            raise ValueError(f"mix weight of {name} must be >= 0")
        weights[name] = value
    if not any(weights.values()):
        raise ValueError("mix needs at least one kind with a positive weight")
    return tuple((k, weights[k]) for k in KINDS if weights.get(k, 0) > 0)


def kind_pattern(mix: Sequence[tuple[str, int]]) -> list[str]:
    """One period of send slots, each kind as often as its weight (reduced by their gcd),
    spread evenly (smooth weighted round robin)."""
    divisor = reduce(math.gcd, (w for _, w in mix))
    weights = {k: w // divisor for k, w in mix}
    total = sum(weights.values())
    credit = dict.fromkeys(weights, 0)
    pattern = []
    for _ in range(total):
        for kind, weight in weights.items():
            credit[kind] += weight
        chosen = max(credit, key=lambda k: credit[k])
        credit[chosen] -= total
        pattern.append(chosen)
    return pattern


__all__ = [
    "DEFAULT_MIX",
    "KINDS",
    "WORKLOADS",
    "Schedule",
    "Segment",
    "fixed",
    "kind_pattern",
    "parse_mix",
    "parse_phases",
    "parse_ramp",
]
