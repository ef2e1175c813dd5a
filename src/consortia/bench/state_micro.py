"""Benchmark of ``consortia.state.StateTree``: bulk fill, proofs, reads, disk and memory.

Fills a fresh tree in batches (one version per batch, one LMDB write
transaction committed per batch, as a node commits one block), then measures
proof sizes for present and absent keys, ``get`` latency, blocks that keep
rewriting 400 hot keys (as a load test's senders do) with and without the
node cache, disk size and peak resident memory. Run ``python benchmarks/bench_state.py --help``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import lmdb
from cryptography.hazmat.primitives import hashes

from consortia.state import StateProof, StateTree, verify_proof


def sha256(data: bytes) -> bytes:
    """SHA-256 through hashlib (OpenSSL)."""
    return hashlib.sha256(data).digest()


def sm3(data: bytes) -> bytes:
    """SM3 through ``cryptography`` (the chain's choice for the ``sm`` suite)."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def sm3_hashlib(data: bytes) -> bytes:
    """SM3 through hashlib's OpenSSL binding."""
    return hashlib.new("sm3", data).digest()


HASHES: dict[str, Callable[[bytes], bytes]] = {
    "sha256": sha256,
    "sm3": sm3,
    "sm3-hashlib": sm3_hashlib,
}


def _key(i: int) -> bytes:
    return b"account/%010d" % i


def _proc_status() -> dict[str, int]:
    """VmHWM / RssAnon / RssFile of this process in KiB (Linux only)."""
    fields: dict[str, int] = {}
    try:
        with open("/proc/self/status") as status:
            for line in status:
                name, _, rest = line.partition(":")
                if name in ("VmHWM", "RssAnon", "RssFile"):
                    fields[name] = int(rest.split()[0])
    except OSError:
        pass
    return fields


def _hot_blocks(
    env: lmdb.Environment,
    trees: dict[str, StateTree],
    keys: int,
    version: int,
    rng: random.Random,
    *,
    hot: int = 400,
    draws: int = 900,
    rounds: int = 5,
    run_of: int = 8,
) -> dict[str, float]:
    """µs per update of blocks that keep rewriting ``hot`` keys (a load test's senders).

    Each tree of ``trees`` (say, with and without the node cache) takes runs of
    ``run_of`` blocks in turn, ``rounds`` times; the first two blocks of a run
    warm it up and are left out. Medians per tree.
    """
    hot_keys = [_key(rng.randrange(keys)) for _ in range(hot)]
    times: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(rounds):
        for name, tree in trees.items():
            for block in range(run_of):
                updates = {hot_keys[rng.randrange(hot)]: rng.randbytes(32) for _ in range(draws)}
                version += 1
                began = time.perf_counter()
                with env.begin(write=True) as txn:
                    tree.apply(txn, version, updates)
                if block >= 2:
                    times[name].append((time.perf_counter() - began) / len(updates) * 1e6)
    return {f"hot_update_us_{name}": statistics.median(t) for name, t in times.items()}


def run(
    keys: int = 1_000_000,
    batch: int = 5_000,
    *,
    hash_name: str = "sha256",
    directory: str | None = None,
    samples: int = 1_000,
    seed: int = 7,
) -> dict[str, Any]:
    """Fill a fresh tree with ``keys`` keys, ``batch`` per version, and measure it.

    Returns a flat dict of figures (rates per second, sizes in bytes, times in µs).
    """
    hash_fn = HASHES[hash_name]
    rng = random.Random(seed)
    own_dir = directory is None
    path = tempfile.mkdtemp(prefix="bench_state_") if directory is None else directory
    env = lmdb.open(path, map_size=1 << 38, max_dbs=16)
    try:
        tree = StateTree(env, hash_fn)
        rates: list[float] = []
        fill_start = time.perf_counter()
        version = 0
        for start in range(0, keys, batch):
            updates = {_key(i): rng.randbytes(32) for i in range(start, min(keys, start + batch))}
            began = time.perf_counter()
            with env.begin(write=True) as txn:
                tree.apply(txn, version, updates)
            rates.append(len(updates) / (time.perf_counter() - began))
            version += 1
        fill_seconds = time.perf_counter() - fill_start
        warm = rates[len(rates) // 10 :] or rates
        last = rates[-max(1, len(rates) // 10) :]

        present = [_key(rng.randrange(keys)) for _ in range(samples)]
        absent = [b"missing/%010d" % rng.randrange(10**9) for _ in range(samples)]
        with env.begin() as txn:
            latest = tree.latest_version(txn)
            assert latest is not None
            root = tree.root(txn, latest)
            began = time.perf_counter()
            present_proofs = [tree.prove(txn, key, latest) for key in present]
            prove_us = (time.perf_counter() - began) / samples * 1e6
            absent_proofs = [tree.prove(txn, key, latest) for key in absent]
            values = [tree.get(txn, key) for key in present]
            began = time.perf_counter()
            for key in present:
                tree.get(txn, key)
            get_us = (time.perf_counter() - began) / samples * 1e6
            began = time.perf_counter()
            for key in present:
                tree.get(txn, key, 0)
            get_old_us = (time.perf_counter() - began) / samples * 1e6
        began = time.perf_counter()
        for key, value, proof in zip(present, values, present_proofs, strict=True):
            assert verify_proof(hash_fn, root, key, value, StateProof.from_bytes(proof.to_bytes()))
        verify_us = (time.perf_counter() - began) / samples * 1e6
        for key, proof in zip(absent, absent_proofs, strict=True):
            assert verify_proof(hash_fn, root, key, None, proof)
        hot = _hot_blocks(
            env,
            {"cached": tree, "uncached": StateTree(env, hash_fn, node_cache=0)},
            keys,
            latest,
            rng,
        )
        present_sizes = [len(p.to_bytes()) for p in present_proofs]
        absent_sizes = [len(p.to_bytes()) for p in absent_proofs]
        data_file = os.path.join(path, "data.mdb")
        status = _proc_status()
        return {
            "hash": hash_name,
            "keys": keys,
            "batch": batch,
            "versions": version,
            "fill_seconds": fill_seconds,
            "updates_per_s_median": statistics.median(warm),
            "updates_per_s_last10pct": statistics.median(last),
            "proof_present_mean": statistics.fmean(present_sizes),
            "proof_present_max": max(present_sizes),
            "proof_absent_mean": statistics.fmean(absent_sizes),
            "proof_absent_max": max(absent_sizes),
            "proof_depth_mean": statistics.fmean(p.depth for p in present_proofs),
            "prove_us": prove_us,
            "verify_us": verify_us,
            "get_latest_us": get_us,
            "get_version0_us": get_old_us,
            **hot,
            "disk_bytes": os.path.getsize(data_file),
            "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "rss_anon_kib": status.get("RssAnon", -1),
            "rss_file_kib": status.get("RssFile", -1),
        }
    finally:
        env.close()
        if own_dir:
            shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """Command line: run the benchmark and print a table."""
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=1_000_000, help="keys to insert")
    parser.add_argument("--batch", type=int, default=5_000, help="keys per version")
    parser.add_argument("--hash", choices=sorted(HASHES), default="sha256", help="hash function")
    parser.add_argument("--dir", default=None, help="LMDB directory (default: a temp dir)")
    args = parser.parse_args(argv)
    result = run(args.keys, args.batch, hash_name=args.hash, directory=args.dir)
    table = Table(title=f"StateTree: {args.keys:,} keys, {args.batch:,} per version, {args.hash}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in result.items():
        table.add_row(
            name,
            f"{value:,.1f}"
            if isinstance(value, float)
            else f"{value:,}"
            if isinstance(value, int)
            else str(value),
        )
    Console().print(table)


if __name__ == "__main__":
    main()
