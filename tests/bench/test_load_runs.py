"""Short real runs of ``consortia bench run`` as a subprocess, one validator each.

Checked: the JSON report's fields and that its figures agree with each other,
the PNG, the per-kind breakdown of a mixed run, an open-loop ramp sending at
increasing rates, and ``--nodes`` driving a network that is already running
(whose node process is found by its port, so its RSS is still sampled).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.support.network import live_network
from tests.support.ports import free_block

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bft")]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIELDS = (
    "committed_tps",
    "latency_p50_s",
    "latency_p95_s",
    "latency_p99_s",
    "latency_max_s",
    "limit_tps",
    "limit_ratio",
    "rejected_by_code",
    "succeeded",
    "acknowledged_lost",
    "peak_rss_bytes_per_node",
    "cpu_percent_per_node",
    "cpu_seconds_per_node",
    "block_interval_mean_s",
    "command",
    "machine",
    "timeseries",
    "per_kind",
)


def bench(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    """Run ``consortia bench run`` with ``args``; the report and the printed table."""
    exe = Path(sys.executable).parent / "consortia"
    out = tmp_path / "report.json"
    argv = [str(exe), "bench", "run", "--warmup", "1", "--senders", "10", *args]
    done = subprocess.run(
        [*argv, "--out", str(out)], check=False, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report, done.stdout


def check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 600 and height >= 400


def check_sane(report: dict[str, Any], nodes: int = 1) -> None:
    for name in FIELDS:
        assert name in report, name
    assert report["committed_tps"] > 20
    assert 0 < report["limit_ratio"] < 1.5
    assert report["limit_tps"] > 100
    assert 0 < report["latency_p50_s"] <= report["latency_p95_s"] <= report["latency_p99_s"]
    assert report["latency_p99_s"] <= report["latency_max_s"] < 30
    assert report["acknowledged"] > 0 and report["committed"] == report["acknowledged"]
    assert report["succeeded"] == report["committed"]
    assert report["acknowledged_lost"] == 0 and report["acknowledged_behind_gap"] == 0
    assert len(report["peak_rss_bytes_per_node"]) == nodes
    assert all(20 * 2**20 < rss < 4 * 2**30 for rss in report["peak_rss_bytes_per_node"])
    assert all(0 < cpu < 400 for cpu in report["cpu_percent_per_node"])
    assert report["block_interval_mean_s"] > 0
    machine = report["machine"]
    assert machine["cpu_count"] >= 1 and machine["memory_bytes"] > 2**28
    assert machine["cpu_model"] and machine["os"] and machine["python"].startswith("3.")
    series = report["timeseries"]
    assert sum(row["committed"] for row in series) == report["committed"]
    assert sum(row["submitted"] for row in series) == report["submitted"]


def test_transfer_closed_loop(tmp_path: Path) -> None:
    port = str(free_block(2))
    report, table = bench(tmp_path, "--duration", "4", "--api-port", port)
    check_sane(report)
    assert report["command"].endswith(f"--api-port {port} --out {tmp_path / 'report.json'}")
    assert report["config"]["workload"] == "transfer" and report["offered_tps"] is None
    assert list(report["per_kind"]) == ["transfer"]
    assert report["per_kind"]["transfer"]["key_type"] == "sm2"
    assert "committed_tps" in table and "limit_ratio" in table
    check_png(tmp_path / "report.png")


def test_mixed(tmp_path: Path) -> None:
    port = str(free_block(2))
    report, table = bench(
        tmp_path,
        "--workload", "mixed",
        "--mix", "transfer=2,issue=1,erc20=1",
        "--suite", "intl",
        "--key-type", "p256",
        "--duration", "5",
        "--api-port", port,
        "--plot", str(tmp_path / "mixed.png"),
    )  # fmt: skip
    check_sane(report)
    kinds = report["per_kind"]
    assert list(kinds) == ["transfer", "issue", "erc20"]
    assert kinds["erc20"]["key_type"] == "secp256k1" and kinds["issue"]["key_type"] == "p256"
    assert set(report["verify_rate_per_key_type"]) == {"p256", "secp256k1"}
    assert sum(k["acknowledged"] for k in kinds.values()) == report["acknowledged"]
    # Slots are dealt 2:1:1, so acknowledged counts follow the mix.
    ratio = kinds["transfer"]["acknowledged"] / kinds["erc20"]["acknowledged"]
    assert 1.8 < ratio < 2.2
    for figures in kinds.values():
        assert figures["committed"] == figures["acknowledged"] > 0
        assert figures["latency_p99_s"] is not None and figures["failed_by_status"] == {}
    assert all("committed_by_kind" in row for row in report["timeseries"])
    assert "per kind" in table
    check_png(tmp_path / "mixed.png")
    assert not (tmp_path / "report.png").exists()


def test_ramp_against_a_running_network(tmp_path: Path) -> None:
    with live_network(tmp_path / "net", validators=1) as net:
        report, _ = bench(tmp_path, "--nodes", net.api(0), "--ramp", "40:600", "--duration", "6")
    check_sane(report)
    assert report["config"]["nodes"] == [net.api(0)]
    assert report["config"]["ramp"] == [40.0, 600.0]
    series = report["timeseries"][:6]
    offered = [row["offered"] for row in series]
    assert offered == sorted(offered) and offered[0] == pytest.approx(40 + 560 / 12)
    submitted = [row["submitted"] for row in series]
    assert sum(submitted[3:]) > 2 * sum(submitted[:3])
    for row in series:
        assert row["submitted"] == pytest.approx(row["offered"], rel=0.3, abs=30)
    assert report["offered_tps"] == pytest.approx(report["submitted_tps"], rel=0.15)
