"""What a load run saw, and the report made from it: totals, per kind, per phase, per second.

``Observations`` is filled while the run goes (sends, acknowledgements,
rejections, commits from the event stream, resource samples); ``summarise``
turns it into the JSON report. Times are ``time.perf_counter()`` seconds;
every figure but the time series and the phases is taken over the measured
window, from the end of the warm-up to the end of sending.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from consortia.bench.schedule import Schedule
from consortia.ledger.types import STATUS_OK

Sample = tuple[float, list[int | None], list[float | None], float]
"""(time, RSS bytes per node, CPU seconds per node, CPU seconds of the load generator)."""


@dataclass
class Observations:
    """Everything a run records; filled by ``consortia.bench.load`` as it goes."""

    kinds: dict[str, str] = field(default_factory=dict)
    """Workload kind -> key type of its senders."""
    kind_of_sender: list[str] = field(default_factory=list)
    """Kind of each sender, by sender index."""
    owner: dict[bytes, int] = field(default_factory=dict)
    """Id of every pre-signed load transaction -> its sender's index."""
    start: float = 0.0
    """When sending began."""
    warmup_s: float = 0.0
    """Seconds after ``start`` left out of the window."""
    load_s: float = 0.0
    """Seconds of sending planned."""
    sent_until: float = 0.0
    """When sending stopped."""
    ended: float = 0.0
    """When waiting for commits stopped."""
    schedule: Schedule | None = None
    """Open-loop send rate, or None for the closed loop."""
    acked: dict[bytes, tuple[float, float, int]] = field(default_factory=dict)
    """Acknowledged transaction -> (send time of the admitted attempt, answer time, node index)."""
    attempts: Counter[tuple[int, str]] = field(default_factory=Counter)
    """(second of sending, kind) -> transactions sent, retries included."""
    rejected: Counter[tuple[int, str, str]] = field(default_factory=Counter)
    """(second of sending, kind, code) -> attempts the node refused."""
    committed: dict[bytes, float] = field(default_factory=dict)
    """Transaction (load or setup) -> commit time (when its block's event arrived)."""
    commit_estimated: set[bytes] = field(default_factory=set)
    """Commits whose time is only an upper bound (block event missed): no latency from them."""
    failed: dict[bytes, str] = field(default_factory=dict)
    """Committed with a status other than OK -> that status."""
    status_unknown: set[bytes] = field(default_factory=set)
    """Committed, but the status was not streamed (the event stream lagged)."""
    blocks: list[tuple[float, int, int]] = field(default_factory=list)
    """(arrival time, height, transaction count) of each block event."""
    samples: list[Sample] = field(default_factory=list)
    """Resource samples, about two a second."""
    ws_reconnects: int = 0
    """Times the event stream dropped us (a node closes a subscriber that lags) and we rejoined."""
    exhausted: bool = False
    """Sending stopped early: a kind ran out of pre-signed transactions."""
    presigned: int = 0
    """Load transactions signed before the start."""
    acked_committed: int = 0
    """Acknowledged load transactions seen committed."""
    load_committed: int = 0
    """Load transactions seen committed (acknowledged or not yet)."""
    check: dict[str, int] = field(default_factory=dict)
    """Outcome of checking acknowledged transactions that did not commit in time."""

    def commit(self, tx: bytes, at: float, status: str | None, *, estimated: bool = False) -> None:
        """Record a commit (the first one seen of ``tx`` counts)."""
        if tx in self.committed:
            return
        self.committed[tx] = at
        if status is None:
            self.status_unknown.add(tx)
        elif status != STATUS_OK:
            self.failed[tx] = status
        if estimated:
            self.commit_estimated.add(tx)
        if tx in self.owner:
            self.load_committed += 1
            if tx in self.acked:
                self.acked_committed += 1

    def acknowledge(self, tx: bytes, sent_at: float, answered_at: float, node: int) -> None:
        """Record that a node admitted ``tx``."""
        if tx in self.acked:
            return
        self.acked[tx] = (sent_at, answered_at, node)
        if tx in self.committed:
            self.acked_committed += 1


def percentiles(values: Iterable[float], qs: Sequence[float]) -> list[float | None]:
    """Nearest-rank percentiles (None when there are no values)."""
    ordered = sorted(values)
    if not ordered:
        return [None] * len(qs)
    top = len(ordered) - 1
    return [ordered[min(top, round(q * top))] for q in qs]


def _latency_figures(latencies: list[float]) -> dict[str, float | None]:
    p50, p95, p99 = percentiles(latencies, (0.50, 0.95, 0.99))
    return {
        "latency_p50_s": p50,
        "latency_p95_s": p95,
        "latency_p99_s": p99,
        "latency_max_s": max(latencies, default=None),
        "latency_samples": len(latencies),
    }


def _by_code(counter: Counter[tuple[int, str, str]], kind: str | None = None) -> dict[str, int]:
    out: Counter[str] = Counter()
    for (_, k, code), n in counter.items():
        if kind is None or k == kind:
            out[code] += n
    return dict(out.most_common())


class _View:
    """Derived indexes over the observations shared by the report's sections."""

    def __init__(self, obs: Observations) -> None:
        self.obs = obs
        self.kind_of = {tx: obs.kind_of_sender[s] for tx, s in obs.owner.items()}
        self.load_commits = [(t, tx) for tx, t in obs.committed.items() if tx in obs.owner]
        self.latency = {
            tx: obs.committed[tx] - sent
            for tx, (sent, _, _) in obs.acked.items()
            if tx in obs.committed and tx not in obs.commit_estimated
        }

    def commits_between(self, a: float, b: float, kind: str | None = None) -> int:
        return sum(
            1
            for t, tx in self.load_commits
            if a <= t < b and (kind is None or self.kind_of[tx] == kind)
        )

    def latencies_sent_between(self, a: float, b: float, kind: str | None = None) -> list[float]:
        acked = self.obs.acked
        return [
            lat
            for tx, lat in self.latency.items()
            if a <= acked[tx][0] <= b and (kind is None or self.kind_of[tx] == kind)
        ]


def _peak(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


class _CpuWindow(NamedTuple):
    """CPU between the first and last samples inside a window."""

    start: float
    end: float
    node_seconds: list[float | None]
    """Per node; None where a sample lacks the node."""
    generator_seconds: float


def _cpu_window(obs: Observations, a: float, b: float) -> _CpuWindow | None:
    """CPU seconds between the nearest samples inside [a, b] (None: fewer than two)."""
    inside = [s for s in obs.samples if a <= s[0] <= b]
    if len(inside) < 2:
        return None
    first, last = inside[0], inside[-1]
    seconds = [
        None if c0 is None or c1 is None else c1 - c0
        for c0, c1 in zip(first[2], last[2], strict=True)
    ]
    return _CpuWindow(first[0], last[0], seconds, last[3] - first[3])


def _resources(obs: Observations, a: float, b: float) -> dict[str, Any]:
    """CPU over [a, b] (nearest samples) and peak RSS over the whole run."""
    samples = obs.samples
    nodes = len(samples[0][1]) if samples else 0
    peak = [_peak(s[1][i] for s in samples) for i in range(nodes)]
    cpu_s: list[float | None] = [None] * nodes
    cpu_pct: list[float | None] = [None] * nodes
    generator_pct = None
    window = _cpu_window(obs, a, b)
    if window is not None:
        span = window.end - window.start
        cpu_s = window.node_seconds
        cpu_pct = [None if c is None else 100 * c / span for c in cpu_s]
        generator_pct = 100 * window.generator_seconds / span
    return {
        "peak_rss_bytes_per_node": peak,
        "cpu_seconds_per_node": cpu_s,
        "cpu_percent_per_node": cpu_pct,
        "load_generator_cpu_percent": generator_pct,
    }


def _kind_section(view: _View, kind: str, a: float, b: float) -> dict[str, Any]:
    obs = view.obs
    span = max(b - a, 1e-9)
    acked = [tx for tx in obs.acked if view.kind_of[tx] == kind]
    committed = [tx for tx in acked if tx in obs.committed]
    failed = Counter(obs.failed[tx] for tx in committed if tx in obs.failed)
    in_window = view.commits_between(a, b, kind)
    return {
        "key_type": obs.kinds[kind],
        "submitted": sum(n for (_, k), n in obs.attempts.items() if k == kind),
        "acknowledged": len(acked),
        "committed": len(committed),
        "succeeded": sum(
            1 for tx in committed if tx not in obs.failed and tx not in obs.status_unknown
        ),
        "committed_in_window": in_window,
        "committed_tps": in_window / span,
        "rejected_by_code": _by_code(obs.rejected, kind),
        "failed_by_status": dict(failed),
        **_latency_figures(view.latencies_sent_between(a, b, kind)),
    }


def _phases(view: _View, schedule: Schedule) -> list[dict[str, Any]]:
    obs = view.obs
    out = []
    at = obs.start
    for segment in schedule.segments:
        a, b = at, at + segment.seconds
        at = b
        first, last = int(a - obs.start), int(b - obs.start)
        rejected = Counter({key: n for key, n in obs.rejected.items() if first <= key[0] < last})
        mid = (a + b) / 2
        acked_by_end = sum(1 for s, _, _ in obs.acked.values() if s < b)
        committed_by_end = sum(1 for t, tx in view.load_commits if t < b and tx in obs.acked)
        rss = [s[1] for s in obs.samples if a <= s[0] < b]
        nodes = len(rss[0]) if rss else 0
        out.append(
            {
                "from_s": a - obs.start,
                "to_s": b - obs.start,
                "offered_tps": [segment.start, segment.end],
                "submitted": sum(n for (s, _), n in obs.attempts.items() if first <= s < last),
                "acknowledged": sum(1 for s, _, _ in obs.acked.values() if a <= s < b),
                "rejected_by_code": _by_code(rejected),
                "committed_tps": view.commits_between(a, b) / segment.seconds,
                "committed_tps_second_half": view.commits_between(mid, b) / (b - mid),
                "in_flight_at_end": acked_by_end - committed_by_end,
                "peak_rss_bytes_per_node": [_peak(r[i] for r in rss) for i in range(nodes)],
                **_latency_figures(view.latencies_sent_between(a, b)),
            }
        )
    return out


def _timeseries(view: _View, multi_kind: bool) -> list[dict[str, Any]]:
    obs = view.obs
    seconds = max(1, math.ceil(obs.ended - obs.start))
    committed: Counter[int] = Counter()
    committed_kind: defaultdict[int, Counter[str]] = defaultdict(Counter)
    latencies: defaultdict[int, list[float]] = defaultdict(list)
    for t, tx in view.load_commits:
        second = int(t - obs.start)
        committed[second] += 1
        committed_kind[second][view.kind_of[tx]] += 1
        if tx in view.latency:
            latencies[second].append(view.latency[tx])
    acked: Counter[int] = Counter(int(s - obs.start) for s, _, _ in obs.acked.values())
    submitted: Counter[int] = Counter()
    for (second, _), n in obs.attempts.items():
        submitted[second] += n
    rejected: Counter[int] = Counter()
    for (second, _, _), n in obs.rejected.items():
        rejected[second] += n
    blocks = Counter(int(t - obs.start) for t, _, _ in obs.blocks if t >= obs.start)
    samples: dict[int, Sample] = {}
    for taken in obs.samples:
        if taken[0] >= obs.start:
            samples.setdefault(int(taken[0] - obs.start), taken)
    series = []
    in_flight = 0
    previous: Sample | None = None
    for second in range(seconds):
        in_flight += acked[second] - committed[second]
        sample = samples.get(second)
        cpu: list[float | None] | None = None
        if sample is not None and previous is not None:
            span = max(sample[0] - previous[0], 1e-9)
            cpu = [
                None if c1 is None or c0 is None else 100 * (c1 - c0) / span
                for c0, c1 in zip(previous[2], sample[2], strict=True)
            ]
        if sample is not None:
            previous = sample
        p50, p99 = percentiles(latencies[second], (0.50, 0.99))
        row: dict[str, Any] = {
            "t": second,
            "offered": None
            if obs.schedule is None
            else obs.schedule.due(second + 1) - obs.schedule.due(second),
            "submitted": submitted[second],
            "acknowledged": acked[second],
            "rejected": rejected[second],
            "committed": committed[second],
            "latency_p50_s": p50,
            "latency_p99_s": p99,
            "blocks": blocks[second],
            "in_flight": in_flight,
            "rss_bytes_per_node": None if sample is None else sample[1],
            "cpu_percent_per_node": cpu,
        }
        if multi_kind:
            row["committed_by_kind"] = dict(committed_kind[second])
        series.append(row)
    return series


def _cpu_per_tx(
    view: _View, a: float, b: float, verify_cpu_us: float | None
) -> dict[str, list[float | None]]:
    """Each node's CPU per committed transaction over [a, b] (nearest samples), in
    microseconds and in signature checks (``verify_cpu_us`` each): a figure that
    moves with the code far less than throughput moves with a shared machine."""
    window = _cpu_window(view.obs, a, b)
    nodes = len(view.obs.samples[0][1]) if view.obs.samples else 0
    us: list[float | None] = [None] * nodes
    if window is not None:
        commits = view.commits_between(window.start, window.end)
        if commits:
            us = [None if c is None else 1e6 * c / commits for c in window.node_seconds]
    checks = [None if u is None or not verify_cpu_us else u / verify_cpu_us for u in us]
    return {"node_cpu_us_per_tx": us, "node_cpu_per_tx_in_checks": checks}


def summarise(
    obs: Observations,
    *,
    limit_tps: float,
    verify_rates: dict[str, float],
    verify_cpu_us: float | None = None,
) -> dict[str, Any]:
    """The report of a run: see docs/performance.md for every field.

    ``verify_cpu_us`` is the CPU time of one transaction's signature check, as
    the machine limit measured it (None: not measured).
    """
    view = _View(obs)
    a, b = obs.start + obs.warmup_s, obs.sent_until
    span = max(b - a, 1e-9)
    in_window = view.commits_between(a, b)
    block_times = [t for t, _, _ in obs.blocks if a <= t <= b]
    intervals = [y - x for x, y in itertools.pairwise(block_times)]
    block_txs = [n for t, _, n in obs.blocks if a <= t <= b]
    committed_tps = in_window / span
    load_committed = [tx for tx in obs.acked if tx in obs.committed]
    failed = Counter(obs.failed[tx] for tx in load_committed if tx in obs.failed)
    offered = None
    if obs.schedule is not None:
        offered = (obs.schedule.due(b - obs.start) - obs.schedule.due(a - obs.start)) / span
    window_attempts = sum(
        n for (s, _), n in obs.attempts.items() if a - obs.start <= s < b - obs.start
    )
    report: dict[str, Any] = {
        "committed_tps": committed_tps,
        **_latency_figures(view.latencies_sent_between(a, b)),
        "limit_tps": limit_tps,
        "limit_ratio": committed_tps / limit_tps if limit_tps else None,
        "verify_rate_per_key_type": verify_rates,
        "verify_cpu_us": verify_cpu_us,
        **_cpu_per_tx(view, a, b, verify_cpu_us),
        "offered_tps": offered,
        "submitted_tps": window_attempts / span,
        "submitted": sum(obs.attempts.values()),
        "acknowledged": len(obs.acked),
        "committed": len(load_committed),
        "succeeded": sum(
            1 for tx in load_committed if tx not in obs.failed and tx not in obs.status_unknown
        ),
        "committed_in_window": in_window,
        "rejected": sum(obs.rejected.values()),
        "rejected_by_code": _by_code(obs.rejected),
        "failed_by_status": dict(failed),
        "status_unknown": sum(1 for tx in load_committed if tx in obs.status_unknown),
        "acknowledged_lost": obs.check.get("lost", 0),
        "acknowledged_pending_at_end": obs.check.get("pending", 0),
        "acknowledged_behind_gap": obs.check.get("behind_gap", 0),
        "acknowledged_unchecked": obs.check.get("unchecked", 0),
        "committed_after_drain": obs.check.get("committed_late", 0),
        "block_interval_mean_s": statistics.fmean(intervals) if intervals else None,
        "block_interval_p50_s": percentiles(intervals, (0.5,))[0],
        "block_interval_max_s": max(intervals, default=None),
        "blocks_in_window": len(block_times),
        "txs_per_block_mean": statistics.fmean(block_txs) if block_txs else None,
        **_resources(obs, obs.start, obs.sent_until),
        "measured_s": span,
        "load_s": obs.sent_until - obs.start,
        "drain_s": obs.ended - obs.sent_until,
        "presigned": obs.presigned,
        "exhausted": obs.exhausted,
        "event_stream_reconnects": obs.ws_reconnects,
        "commit_time_estimated": len(obs.commit_estimated & set(obs.acked)),
        "per_kind": {kind: _kind_section(view, kind, a, b) for kind in obs.kinds},
    }
    if obs.schedule is not None:
        report["phases"] = _phases(view, obs.schedule)
    report["timeseries"] = _timeseries(view, len(obs.kinds) > 1)
    return report


__all__ = ["Observations", "Sample", "percentiles", "summarise"]
