"""CPU of every local node process, per thread, while a load test runs.

Run beside ``consortia bench run`` (same machine). It waits until the node
processes (``consortia.server.runner``) together use more than ``--busy`` cores,
lets ``--settle`` seconds pass, then reads each thread's CPU time from
``/proc`` at the start and end of a ``--window``-second window. Threads are
named by ``py-spy dump`` (their Python names: ``MainThread``, ``execution``,
``consortia-verify_0`` ...), since CPython 3.11 does not name OS threads.

Unlike a sampling profile, this counts only time on a CPU: a thread waiting for
the GIL, for fsync or for a core does not count. Prints one line per node and
the mean per node by thread kind (names without their ``_N`` suffix), in
percent of one core; ``--out`` also writes them as JSON.

    consortia bench run --validators 4 --duration 40 --out run.json &
    python benchmarks/thread_cpu.py --window 15 --out threads.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def node_pids() -> list[int]:
    """PIDs of the node processes on this machine."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"consortia.server.runner" in cmdline:
                pids.append(int(entry))
    return sorted(pids)


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of ``pid``."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / _TICK
    return out


def thread_names(pid: int) -> dict[int, str]:
    """Python thread names by OS thread id, from ``py-spy dump``."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        raise SystemExit("py-spy not found (make setup installs it)")
    dump = subprocess.run(
        [spy, "dump", "--pid", str(pid)], check=False, capture_output=True, text=True
    )
    return {int(m[1]): m[2] for m in re.finditer(r'Thread (\d+) \(\w+\): "([^"]*)"', dump.stdout)}


def wait_busy(busy: float, nodes: int) -> list[int]:
    """Wait until ``nodes`` node processes together use more than ``busy`` cores."""
    while True:
        pids = node_pids()
        if len(pids) >= nodes:
            try:
                before = sum(sum(thread_cpu(p).values()) for p in pids)
                time.sleep(2)
                after = sum(sum(thread_cpu(p).values()) for p in pids)
            except OSError:
                continue
            if (after - before) / 2 > busy:
                return pids
        else:
            time.sleep(1)


def main() -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=4, help="node processes to wait for")
    parser.add_argument("--busy", type=float, default=1.2, help="cores the nodes must use")
    parser.add_argument("--settle", type=float, default=4.0, help="seconds after busy")
    parser.add_argument("--window", type=float, default=15.0, help="seconds measured")
    parser.add_argument("--out", type=Path, help="JSON file")
    args = parser.parse_args()
    pids = wait_busy(args.busy, args.nodes)
    time.sleep(args.settle)
    names = {pid: thread_names(pid) for pid in pids}
    start = {pid: thread_cpu(pid) for pid in pids}
    began = time.monotonic()
    time.sleep(args.window)
    end = {pid: thread_cpu(pid) for pid in pids}
    span = time.monotonic() - began
    for pid in pids:  # threads started during the window
        for tid, name in thread_names(pid).items():
            names[pid].setdefault(tid, name)
    per_node: dict[str, dict[str, float]] = {}
    kinds: dict[str, float] = {}
    for pid in pids:
        shares = {}
        for tid, cpu in end[pid].items():
            share = 100 * (cpu - start[pid].get(tid, 0.0)) / span
            name = names[pid].get(tid, f"tid {tid}")
            shares[name] = round(share, 1)
            kind = re.sub(r"_\d+$", "", name)
            kinds[kind] = kinds.get(kind, 0.0) + share / len(pids)
        per_node[str(pid)] = {k: v for k, v in shares.items() if v >= 0.1}
        print(pid, per_node[str(pid)])
    mean = {k: round(v, 1) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]) if v >= 0.1}
    print("mean per node (% of a core):", mean, "total", round(sum(kinds.values()), 1))
    if args.out is not None:
        args.out.write_text(json.dumps({"window_s": span, "per_node": per_node, "mean": mean}))


if __name__ == "__main__":
    main()
