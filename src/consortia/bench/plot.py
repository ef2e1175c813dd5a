"""The PNG of a load run: throughput, commit latency and node memory, second by second.

Drawn from the report's ``timeseries`` with matplotlib's Agg canvas (no
display, no pyplot global state). Top: transactions per second offered (open
loop), submitted, committed (and per kind in a mixed run) and refused.
Middle: p50 and p99 commit latency of the transactions committed in each
second. Bottom: RSS of each node. The warm-up is shaded; phase boundaries and
the end of sending are marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MIB = 1024 * 1024


def _column(series: list[dict[str, Any]], name: str) -> list[float]:
    return [float("nan") if row.get(name) is None else float(row[name]) for row in series]


def write_plot(report: dict[str, Any], path: Path) -> None:
    """Write the PNG of ``report`` (as made by ``consortia.bench.load.run_load``) to ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series: list[dict[str, Any]] = report["timeseries"]
    t = [row["t"] + 0.5 for row in series]
    config = report.get("config", {})
    figure = Figure(figsize=(11, 9), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    rate, latency, memory = figure.subplots(3, 1, sharex=True)

    if any(row.get("offered") is not None for row in series):
        rate.plot(t, _column(series, "offered"), color="0.55", linestyle="--", label="offered")
    rate.plot(t, _column(series, "submitted"), color="tab:blue", alpha=0.6, label="submitted")
    rate.plot(t, _column(series, "committed"), color="tab:green", linewidth=2, label="committed")
    kinds = sorted({k for row in series for k in row.get("committed_by_kind", {})})
    if len(kinds) > 1:
        for kind in kinds:
            values = [float(row.get("committed_by_kind", {}).get(kind, 0)) for row in series]
            rate.plot(t, values, linewidth=1, linestyle=":", label=f"committed {kind}")
    if any(row["rejected"] for row in series):
        rate.plot(t, _column(series, "rejected"), color="tab:red", label="refused")
    rate.set_ylabel("transactions / s")
    rate.legend(loc="upper left", fontsize="small", ncols=3)

    latency.plot(t, _column(series, "latency_p50_s"), color="tab:purple", label="p50")
    latency.plot(t, _column(series, "latency_p99_s"), color="tab:orange", label="p99")
    latency.set_ylabel("commit latency (s)")
    latency.set_ylim(bottom=0)
    latency.legend(loc="upper left", fontsize="small")

    nodes = max((len(row["rss_bytes_per_node"] or []) for row in series), default=0)
    for i in range(nodes):
        values = [
            float("nan")
            if not row["rss_bytes_per_node"] or row["rss_bytes_per_node"][i] is None
            else row["rss_bytes_per_node"][i] / MIB
            for row in series
        ]
        memory.plot(t, values, label=f"node {i}")
    if nodes:
        memory.legend(loc="upper left", fontsize="small", ncols=4)
    memory.set_ylabel("RSS (MiB)")
    memory.set_ylim(bottom=0)
    memory.set_xlabel("seconds since the start of sending")

    warmup = float(config.get("warmup_s", 0.0))
    load_s = float(report.get("load_s", 0.0))
    edges = [phase["from_s"] for phase in report.get("phases", [])[1:]]
    for axes in (rate, latency, memory):
        axes.grid(True, alpha=0.3)
        if warmup:
            axes.axvspan(0, warmup, color="0.9", zorder=0)
        for edge in edges:
            axes.axvline(edge, color="0.4", linestyle=":", linewidth=1)
        axes.axvline(load_s, color="0.2", linestyle="--", linewidth=1)

    title = (
        f"{config.get('workload', '?')}, {config.get('suite', '?')} suite, "
        f"{config.get('key_type', '?')} keys, {config.get('validators', '?')} validator(s): "
        f"{report['committed_tps']:,.0f} committed tx/s"
    )
    if report.get("limit_ratio") is not None:
        title += f" ({report['limit_ratio']:.2f} of the machine limit)"
    figure.suptitle(title)
    figure.savefig(path, format="png")


__all__ = ["write_plot"]
