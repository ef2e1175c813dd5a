"""``consortia bench failover``: time from killing the current leader to the next commit.

A local network runs with its default timing; each trial reads the leader
from a node's status, SIGKILLs it, and polls the survivors until a block
above the height at the kill is committed (the first commit certain to
come after the crash), then restarts the victim and waits for it to catch up.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from consortia.node.init import init_network
from consortia.node.processes import NodeProcesses, node_status


def _height(api: str) -> int:
    status = node_status(api, 1.0)
    height = None if status is None else status.get("height")
    return height if isinstance(height, int) else -1


def run_failover(
    *, validators: int = 4, suite: str = "sm", trials: int = 5, api_port: int = 18645
) -> dict[str, Any]:
    """Median, min and max seconds from leader kill to the next commit."""
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="consortia-failover-") as tmp:
        root = Path(tmp) / "net"
        init_network(
            root,
            validators=validators,
            orgs=validators,
            suite=suite,
            base_api_port=api_port,
            base_p2p_port=api_port + 1000,
        )
        with NodeProcesses(root) as network:
            entries = network.entries
            deadline = time.monotonic() + 30
            while _height(entries[0].api) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            for trial in range(trials):
                observer = entries[trial % len(entries)]
                status = node_status(observer.api) or {}
                leader = status.get("leader", 0)
                assert isinstance(leader, int)
                victim = entries[leader]
                survivors = [e for e in entries if e is not victim]
                before = max(_height(e.api) for e in survivors)
                network.kill(victim.name)
                start = time.perf_counter()
                while max(_height(e.api) for e in survivors) <= before + 1:
                    time.sleep(0.02)
                times.append(time.perf_counter() - start)
                network.start(victim.name)
                target = max(_height(e.api) for e in survivors)
                while _height(victim.api) < target:
                    time.sleep(0.1)
    return {
        "validators": validators,
        "suite": suite,
        "trials": trials,
        "seconds": times,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
    }
