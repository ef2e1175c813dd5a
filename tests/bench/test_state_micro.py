"""``consortia bench state`` on a small tree: every figure is produced and sane."""

from __future__ import annotations

from consortia.bench import state_micro


def test_small_run_reports_every_figure() -> None:
    result = state_micro.run(keys=3_000, batch=1_000, hash_name="sm3-hashlib", samples=50)
    assert result["versions"] == 3 and result["keys"] == 3_000
    assert result["proof_present_mean"] > 0 and result["proof_depth_mean"] >= 2
    assert result["hot_update_us_cached"] > 0 and result["hot_update_us_uncached"] > 0
    assert result["disk_bytes"] > 0 and result["peak_rss_kib"] > 0
