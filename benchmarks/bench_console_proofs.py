"""How long the console's in-browser proof checks take, on a real 4-validator network.

Starts four validators of four organisations (`sm` suite: SM3 hashes, SM2
signatures), commits an asset transfer, then in headless Chromium opens each
proofs route — a block, a transaction, a balance — `--repeat` times in a
fresh page and times from navigation until the page's verdict (every hash and
signature recomputed in JavaScript: four SM2 vote signatures and the
proposer's for a block). Prints one JSON line per check and the medians.

    .venv/bin/python benchmarks/bench_console_proofs.py [--repeat 5]
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

from playwright.sync_api import sync_playwright
from tests.console.conftest import CHROMIUM, CHROMIUM_FLAGS, LAPTOP
from tests.node.test_bft import FAST
from tests.support.network import live_network

from consortia.crypto import KeyType, PrivateKey
from consortia.modules.assets.types import Create, Issue, SupplyRule, Transfer, balance_key
from consortia.sdk import Client, Signer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="consortia-proofs-") as tmp,
        live_network(Path(tmp), validators=4, timing=FAST) as net,
        Client(net.api(0)) as client,
    ):
        key = PrivateKey.generate(KeyType.SM2)
        issuer = Signer(key)
        receiver = PrivateKey.generate(KeyType.SM2).public_key().address()
        me = key.public_key().address()
        client.send(issuer, "assets", "create", Create("CNY", "yuan", 2, SupplyRule.UNLIMITED, 0))
        client.send(issuer, "assets", "issue", Issue("CNY", me, 10_000))
        sent = client.send(issuer, "assets", "transfer", Transfer("CNY", receiver, 2_500))
        assert sent.height is not None
        net.wait_height(0, sent.height + 2)
        routes = {
            "block": f"block/{sent.height}",
            "transaction": f"tx/{sent.tx_id}",
            "balance": f"state/{balance_key(receiver, 'CNY').hex()}",
        }
        timings: dict[str, list[float]] = {name: [] for name in routes}
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            for rep in range(args.repeat):
                for name, route in routes.items():
                    page = browser.new_page(viewport=LAPTOP)
                    page.goto(f"{net.api(1)}/console/")  # load the scripts first
                    page.wait_for_selector(".live-up", timeout=20_000)
                    started = time.perf_counter()
                    page.evaluate(f"window.location.hash = '#/proofs/{route}'")
                    page.wait_for_selector('#proof-result[data-phase="done"]', timeout=30_000)
                    elapsed = time.perf_counter() - started
                    verdict = page.get_attribute("#proof-result", "data-verdict")
                    assert verdict == "pass", (name, verdict)
                    timings[name].append(elapsed)
                    line = {"repeat": rep, "check": name, "ms": round(elapsed * 1000, 1)}
                    print(json.dumps(line), flush=True)
                    page.close()
            browser.close()
    ms = {name: sorted(round(s * 1000, 1) for s in t) for name, t in timings.items()}
    summary = {
        "validators": 4,
        "suite": "sm",
        "median_ms": {name: statistics.median(t) for name, t in ms.items()},
        "range_ms": {name: [t[0], t[-1]] for name, t in ms.items()},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
