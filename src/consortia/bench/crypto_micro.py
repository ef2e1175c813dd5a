"""Crypto throughput: sign/verify per key type and SM2 backend, batch verify, hashes, AEADs.

``run(seconds)`` measures each operation for about ``seconds`` and returns one dict per row;
``main()`` runs it three times and prints the median of each row as a rich table.
Run as ``python benchmarks/bench_crypto.py [seconds]``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

from consortia.crypto import (
    AES_GCM,
    DEFAULT_SM2_ID,
    SM4_GCM,
    KeyType,
    PrivateKey,
    PublicKey,
    sha256,
    sm3,
    verify_batch,
)
from consortia.crypto._sm2_backend import get_backend, sm2_za

__all__ = ["main", "run"]


def _rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds``."""
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(16):
            fn()
        count += 16
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def _row(operation: str, library: str, value: float, unit: str) -> dict[str, object]:
    return {"operation": operation, "library": library, "value": value, "unit": unit}


def run(seconds: float = 1.0) -> list[dict[str, object]]:
    """Measure every operation once; each row has operation, library, value and unit."""
    rows: list[dict[str, object]] = []
    msg = os.urandom(256)
    sm2 = PrivateKey.generate(KeyType.SM2)
    point = sm2.public_key().to_bytes()
    digest = sm3(sm2_za(DEFAULT_SM2_ID, point) + msg)
    for name in ("tongsuo", "gmssl"):
        backend = get_backend(name)
        priv = backend.private_key(sm2._d, point)
        pub = backend.public_key(point)
        sig = priv.sign_digest(digest)
        sign_rate = _rate(partial(priv.sign_digest, digest), seconds)
        rows.append(_row("sm2 sign (backend, digest)", name, sign_rate, "op/s"))
        rows.append(
            _row(
                "sm2 verify (backend, digest)",
                name,
                _rate(partial(pub.verify_digest, digest, sig), seconds),
                "op/s",
            )
        )
    keys = {kt: PrivateKey.generate(kt) for kt in KeyType}
    for kt, key in keys.items():
        lib = {"sm2": "default backend", "p256": "cryptography", "secp256k1": "coincurve"}[kt.value]
        public = PublicKey.from_bytes(kt, key.public_key().to_bytes())
        sig = key.sign(msg)
        rows.append(
            _row(
                f"{kt.value} sign (PrivateKey.sign)",
                lib,
                _rate(partial(key.sign, msg), seconds),
                "op/s",
            )
        )
        rows.append(
            _row(
                f"{kt.value} verify (PublicKey.verify)",
                lib,
                _rate(partial(public.verify, msg, sig), seconds),
                "op/s",
            )
        )
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    for kt, key in keys.items():
        batch = [(key.public_key(), msg, key.sign(msg)) for _ in range(256)]
        per_batch = _rate(partial(verify_batch, batch), seconds)
        rows.append(
            _row(
                f"{kt.value} verify_batch (256, {cores} cores)", "threads", per_batch * 256, "op/s"
            )
        )
    for name, fn in (("sm3", sm3), ("sha256", sha256)):
        rows.append(_row(f"{name} of 256 B", "cryptography" if name == "sm3" else "hashlib",
                         _rate(partial(fn, msg), seconds) * 256 / 1e6, "MB/s"))  # fmt: skip
    big = os.urandom(1 << 16)
    for aead, key_len in ((SM4_GCM, 16), (AES_GCM, 32)):
        k = os.urandom(key_len)
        rate = _rate(partial(aead.encrypt, k, big), seconds)
        rows.append(
            _row(f"{aead.name} encrypt 64 KiB", "cryptography", rate * len(big) / 1e6, "MB/s")
        )
    return rows


def median_of(runs: int, seconds: float) -> list[dict[str, object]]:
    """Run ``runs`` times and keep the median value of each row."""
    results = [run(seconds) for _ in range(runs)]
    out = []
    for i, row in enumerate(results[0]):
        values = [float(str(r[i]["value"])) for r in results]
        out.append({**row, "value": statistics.median(values)})
    return out


def main() -> None:
    """Print the median of three runs as a table."""
    from rich.console import Console
    from rich.table import Table

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    table = Table(title=f"consortia.crypto, median of 3 runs ({seconds:g} s each)")
    for col in ("operation", "library", "value", "unit"):
        table.add_column(col, justify="right" if col == "value" else "left")
    for row in median_of(3, seconds):
        table.add_row(
            str(row["operation"]),
            str(row["library"]),
            f"{float(str(row['value'])):,.0f}",
            str(row["unit"]),
        )
    Console().print(table)


if __name__ == "__main__":
    main()
