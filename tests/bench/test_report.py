"""The report made from a run's observations: window figures, kinds, phases, time series."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from consortia.bench.plot import write_plot
from consortia.bench.report import Observations, percentiles, summarise
from consortia.bench.schedule import parse_phases

START = 1_000.0


def _tx(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _observed() -> Observations:
    """Two senders (transfer, erc20), phases 100 tx/s for 2 s then 50 tx/s for 2 s.

    Transaction n (0..39) is sent at START + n/10 and commits 0.5 s later
    (0.25 s for erc20, the odd ones); 38 and 39 never commit.
    """
    obs = Observations(
        kinds={"transfer": "sm2", "erc20": "secp256k1"},
        kind_of_sender=["transfer", "erc20"],
        start=START,
        warmup_s=1.0,
        load_s=4.0,
        sent_until=START + 4.0,
        ended=START + 5.0,
        schedule=parse_phases("100:2,50:2"),
    )
    for n in range(40):
        obs.owner[_tx(n)] = n % 2
        sent = START + n / 10
        second = int(n / 10)
        obs.attempts[second, obs.kind_of_sender[n % 2]] += 1
        obs.acknowledge(_tx(n), sent, sent + 0.01, 0)
        if n < 38:
            obs.commit(_tx(n), sent + (0.25 if n % 2 else 0.5), "OK")
    obs.rejected[3, "transfer", "MEMPOOL_FULL"] += 3
    obs.attempts[3, "transfer"] += 3
    obs.blocks = [(START + t / 2, t, 5) for t in range(1, 10)]
    obs.samples = [(START + t / 2, [100 + t], [float(t)], 0.1 * t) for t in range(11)]
    obs.check = {"lost": 0, "pending": 2}
    return obs


def test_percentiles_are_nearest_rank() -> None:
    assert percentiles([], (0.5,)) == [None]
    assert percentiles([3.0, 1.0, 2.0], (0.0, 0.5, 1.0)) == [1.0, 2.0, 3.0]


def test_window_figures() -> None:
    report = summarise(
        _observed(), limit_tps=100.0, verify_rates={"sm2": 400.0}, verify_cpu_us=5000.0
    )
    # Window [1, 4): commits at n/10 + 0.5 (even) or + 0.25 (odd) inside it.
    expected = sum(1 for n in range(38) if 1.0 <= n / 10 + (0.25 if n % 2 else 0.5) < 4.0)
    assert report["committed_in_window"] == expected
    assert report["committed_tps"] == pytest.approx(expected / 3)
    assert report["limit_ratio"] == pytest.approx(expected / 3 / 100)
    assert report["latency_p50_s"] in (0.25, 0.5)
    assert report["latency_max_s"] == pytest.approx(0.5)
    assert report["acknowledged"] == 40 and report["committed"] == 38
    assert report["succeeded"] == 38
    assert report["rejected_by_code"] == {"MEMPOOL_FULL": 3}
    assert report["submitted"] == 43
    assert report["acknowledged_pending_at_end"] == 2 and report["acknowledged_lost"] == 0
    assert report["block_interval_mean_s"] == pytest.approx(0.5)
    assert report["peak_rss_bytes_per_node"] == [110]
    assert report["cpu_percent_per_node"][0] == pytest.approx(200.0)
    assert report["load_generator_cpu_percent"] == pytest.approx(20.0)
    # CPU per transaction over the samples inside [1, 4]: 1.0 -> 4.0 s of CPU.
    sampled = sum(1 for n in range(38) if 1.0 <= n / 10 + (0.25 if n % 2 else 0.5) < 4.0)
    assert report["node_cpu_us_per_tx"][0] == pytest.approx(1e6 * 6 / sampled)
    assert report["node_cpu_per_tx_in_checks"][0] == pytest.approx(1e6 * 6 / sampled / 5000)
    assert report["offered_tps"] == pytest.approx((100 + 50 * 2) / 3)


def test_per_kind_and_phases() -> None:
    report = summarise(_observed(), limit_tps=100.0, verify_rates={})
    transfer, erc20 = report["per_kind"]["transfer"], report["per_kind"]["erc20"]
    assert transfer["acknowledged"] == erc20["acknowledged"] == 20
    assert transfer["latency_p99_s"] == pytest.approx(0.5)
    assert erc20["latency_p99_s"] == pytest.approx(0.25)
    assert transfer["rejected_by_code"] == {"MEMPOOL_FULL": 3} and erc20["rejected_by_code"] == {}
    first, second = report["phases"]
    assert (first["from_s"], first["to_s"], second["to_s"]) == (0, 2, 4)
    assert first["offered_tps"] == [100, 100] and second["offered_tps"] == [50, 50]
    assert first["acknowledged"] == 20 and second["rejected_by_code"] == {"MEMPOOL_FULL": 3}


def test_timeseries_by_commit_time() -> None:
    report = summarise(_observed(), limit_tps=100.0, verify_rates={})
    series = report["timeseries"]
    assert [row["t"] for row in series] == [0, 1, 2, 3, 4]
    commits = Counter(int(n / 10 + (0.25 if n % 2 else 0.5)) for n in range(38))
    assert [row["committed"] for row in series] == [commits[t] for t in range(5)]
    assert [row["submitted"] for row in series] == [10, 10, 10, 13, 0]
    assert [row["rejected"] for row in series] == [0, 0, 0, 3, 0]
    assert [row["offered"] for row in series] == pytest.approx([100, 100, 50, 50, 0])
    assert series[4]["in_flight"] == 2
    assert sum(row["committed_by_kind"].get("erc20", 0) for row in series) == 19
    assert series[1]["rss_bytes_per_node"] == [102]


def test_plot_is_a_png(tmp_path: Path) -> None:
    report = summarise(_observed(), limit_tps=100.0, verify_rates={})
    report["config"] = {"workload": "mixed", "warmup_s": 1.0, "validators": 1}
    write_plot(report, tmp_path / "run.png")
    data = (tmp_path / "run.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
