"""Epoch-change latency on a real 4-validator network (run from the repository root).

For each repetition: start four validators, then remove one validator and
then another by governance proposal, timing from the commit of the vote that
executes each proposal until every remaining node runs the new set. Reuses the
real-process helpers of the reconfiguration test. Prints one JSON line per
change and the median.

    .venv/bin/python benchmarks/bench_epoch_change.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.node.test_reconfiguration import FAST, gov_pass, wait_epoch
from tests.support.network import live_network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    seconds = []
    for rep in range(args.repeat):
        with (
            tempfile.TemporaryDirectory(prefix="consortia-epochs-") as tmp,
            live_network(Path(tmp), validators=4, timing=FAST) as net,
        ):
            net.wait_height(0, 3)
            for epoch, name, alive in ((1, "org4-v3", [0, 1, 2]), (2, "org3-v2", [0, 1])):
                before = net.height(0)
                gov_pass(net, "remove_validator", json.dumps({"name": name}))
                started = time.monotonic()
                wait_epoch(net, alive, epoch=epoch, size=4 - epoch)
                elapsed = time.monotonic() - started
                seconds.append(elapsed)
                blocks = net.height(0) - before
                print(
                    json.dumps(
                        {
                            "repeat": rep,
                            "epoch": epoch,
                            "s": round(elapsed, 3),
                            "blocks_since_proposal": blocks,
                        }
                    ),
                    flush=True,
                )
    print(
        json.dumps(
            {
                "median_s": round(statistics.median(seconds), 3),
                "min_s": round(min(seconds), 3),
                "max_s": round(max(seconds), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
