"""The machine limit: signature verifications per second on every core.

Each validator verifies each transaction's signature once, so with n
validators sharing this machine the chain cannot commit more than
``verify_rate / n`` transactions per second; ``consortia bench run`` reports
throughput as a fraction of that limit (measured in the same run).
"""

from __future__ import annotations

import time

from consortia.crypto import KeyType, PrivateKey, verify_batch


def verify_rate(
    key_type: KeyType, seconds: float = 3.0, batch: int = 512, samples: int = 3
) -> float:
    """Verifications per second with the fastest correct library, all cores.

    The best of ``samples`` windows of ``seconds / samples`` each: a capacity is
    what the machine can do when nothing else interrupts it, and on a shared
    machine one long window would fold whatever else ran into the figure.
    """
    keys = [PrivateKey.from_secret(key_type, (i + 1).to_bytes(32, "big")) for i in range(16)]
    items = []
    for i in range(batch):
        key = keys[i % len(keys)]
        message = i.to_bytes(8, "big") * 16
        items.append((key.public_key(), message, key.sign(message)))
    window = seconds / samples
    best = 0.0
    for _ in range(samples):
        done = 0
        start = time.perf_counter()
        while time.perf_counter() - start < window:
            results = verify_batch(items)
            assert all(results)
            done += len(items)
        best = max(best, done / (time.perf_counter() - start))
    return best
