"""The load-benchmark matrix of docs/performance.md: each configuration run N times, medians.

Runs ``consortia bench run`` (4 validators by default) for native transfers
(``sm``/SM2 and ``intl``/P-256), ERC-20 transfers (``intl``/secp256k1) and the
mixed workload, round-robin across configurations so that a noisy spell on a
shared machine spreads over all of them, writes every report into
``--out-dir`` and prints the median and range of each figure as a Markdown
table (also ``summary.json``). ``--summarise`` rebuilds the table from the
reports already there.

    python benchmarks/load_matrix.py --out-dir bench-results/matrix --runs 3 --duration 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

CONFIGS: dict[str, list[str]] = {
    "transfer-sm-sm2": ["--workload", "transfer", "--suite", "sm", "--key-type", "sm2"],
    "transfer-intl-p256": ["--workload", "transfer", "--suite", "intl", "--key-type", "p256"],
    "transfer-intl-secp256k1": [
        "--workload",
        "transfer",
        "--suite",
        "intl",
        "--key-type",
        "secp256k1",
    ],
    "erc20-intl-secp256k1": ["--workload", "erc20", "--suite", "intl", "--key-type", "secp256k1"],
    "mixed-sm-sm2": ["--workload", "mixed", "--suite", "sm", "--key-type", "sm2"],
}
MIB = 1024 * 1024


def _figures(report: dict[str, Any]) -> dict[str, float]:
    rss = [r for r in report["peak_rss_bytes_per_node"] if r is not None]
    return {
        "committed_tps": report["committed_tps"],
        "latency_p50_s": report["latency_p50_s"],
        "latency_p99_s": report["latency_p99_s"],
        "limit_tps": report["limit_tps"],
        "limit_ratio": report["limit_ratio"],
        "peak_rss_mib": max(rss) / MIB if rss else float("nan"),
        "block_interval_mean_s": report["block_interval_mean_s"] or float("nan"),
        "acknowledged_lost": report["acknowledged_lost"],
    }


def summarise(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Median and range of each figure per configuration, from the reports in ``out_dir``."""
    summary: dict[str, dict[str, Any]] = {}
    for name in CONFIGS:
        reports = [
            json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(out_dir.glob(f"{name}-run*.json"))
        ]
        if not reports:
            continue
        figures = [_figures(r) for r in reports]
        summary[name] = {
            "runs": len(reports),
            **{
                key: {
                    "median": statistics.median(f[key] for f in figures),
                    "min": min(f[key] for f in figures),
                    "max": max(f[key] for f in figures),
                }
                for key in figures[0]
            },
            "machine": reports[0]["machine"],
        }
    return summary


def markdown(summary: dict[str, dict[str, Any]]) -> str:
    """The results table of docs/performance.md."""
    lines = [
        "| workload | suite / keys | committed tx/s: median (range) | p50 / p99 latency (s) "
        "| limit tx/s | limit ratio | peak RSS per node (MiB) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s in summary.items():
        workload, suite, keys = name.split("-")

        def med(key: str, fmt: str, s: dict[str, Any] = s) -> str:
            return format(s[key]["median"], fmt)

        def rng(key: str, fmt: str, s: dict[str, Any] = s) -> str:
            return f"{format(s[key]['min'], fmt)} – {format(s[key]['max'], fmt)}"

        lines.append(
            f"| {workload} | {suite} / {keys} "
            f"| {med('committed_tps', ',.0f')} ({rng('committed_tps', ',.0f')}) "
            f"| {med('latency_p50_s', '.2f')} / {med('latency_p99_s', '.2f')} "
            f"({rng('latency_p99_s', '.2f')}) "
            f"| {med('limit_tps', ',.0f')} | {med('limit_ratio', '.2f')} "
            f"({rng('limit_ratio', '.2f')}) | {med('peak_rss_mib', '.0f')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the matrix (or only summarise it) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--only", action="append", choices=sorted(CONFIGS))
    parser.add_argument("--api-port", type=int, default=19545)
    parser.add_argument("--summarise", action="store_true", help="Only rebuild the table.")
    args = parser.parse_args(argv)
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    names = args.only or list(CONFIGS)
    exe = str(Path(sys.executable).parent / "consortia")
    if not args.summarise:
        for run in range(1, args.runs + 1):
            for name in names:
                out = out_dir / f"{name}-run{run}.json"
                command = [
                    exe,
                    "bench",
                    "run",
                    *CONFIGS[name],
                    "--validators",
                    str(args.validators),
                    "--duration",
                    str(args.duration),
                    "--api-port",
                    str(args.api_port),
                    "--out",
                    str(out),
                ]
                print(f"{name} run {run}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    summary = summarise(out_dir)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(markdown(summary))


if __name__ == "__main__":
    main()
