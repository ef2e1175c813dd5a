"""The machine limit: signature verifications per second on every core.

Each validator verifies each transaction's signature once, so with n
validators sharing this machine the chain cannot commit more than
``verify_rate / n`` transactions per second; ``consortia bench run`` reports
throughput as a fraction of that limit (measured in the same run).
"""

from __future__ import annotations

import time

from consortia.crypto import KeyType, PrivateKey, verify_batch


def verify_rate(key_type: KeyType, seconds: float = 2.0, batch: int = 512) -> float:
    """Verifications per second with the fastest correct library, all cores."""
    keys = [PrivateKey.from_secret(key_type, (i + 1).to_bytes(32, "big")) for i in range(16)]
    items = []
    for i in range(batch):
        key = keys[i % len(keys)]
        message = i.to_bytes(8, "big") * 16
        items.append((key.public_key(), message, key.sign(message)))
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        results = verify_batch(items)
        assert all(results)
        done += len(items)
    return done / (time.perf_counter() - start)
