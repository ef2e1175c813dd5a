"""Batch signature verification across all cores.

Every backend we default to releases the GIL in its C verification call (Tongsuo via cffi,
OpenSSL via ``cryptography``, libsecp256k1 via ``coincurve``; measured in docs/crypto.md),
so a pool of threads, one per core, verifies contiguous chunks of the batch in parallel.
Small batches are verified inline, where a thread hand-off would cost more than it saves.

A node runs the workers at a lower scheduling priority (:func:`lower_worker_priority`,
nice +10 per thread on Linux): it verifies admissions in bulk while its consensus and
execution threads sit on the commit path, so when the cores are busy the work that orders
and commits blocks goes first and verification takes the remaining cycles, instead of
every thread getting an equal share. Other callers (the benchmark's machine limit) keep
the normal priority.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from consortia.crypto.key_type import DEFAULT_SM2_ID
from consortia.crypto.keys import PublicKey

__all__ = ["failed_check", "lower_worker_priority", "run_checks", "verify_batch", "worker_count"]

T = TypeVar("T")

_INLINE_MAX = 8
_worker_niceness = 0
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def worker_count() -> int:
    """Verification threads of a batch: one per core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def lower_worker_priority(niceness: int = 10) -> None:
    """Run this process's verification workers at ``niceness`` (call before the first batch)."""
    global _worker_niceness
    _worker_niceness = niceness


def _set_priority() -> None:
    """Apply the workers' niceness to this thread (Linux sets it per thread; else a no-op)."""
    if _worker_niceness:
        with contextlib.suppress(AttributeError, OSError):  # else the cores are shared equally
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _worker_niceness)


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                worker_count(), thread_name_prefix="consortia-verify", initializer=_set_priority
            )
        return _pool


def _verify_chunk(items: Sequence[tuple[PublicKey, bytes, bytes]], user_id: bytes) -> list[bool]:
    return [key.verify(message, sig, user_id=user_id) for key, message, sig in items]


def _run_checks_chunk(checks: Sequence[Callable[[], bool]]) -> list[bool]:
    return [check() for check in checks]


def _in_parallel(chunk_fn: Callable[[Sequence[T]], list[bool]], items: Sequence[T]) -> list[bool]:
    """``chunk_fn`` over contiguous chunks of ``items``, one per core; results in order."""
    n = len(items)
    workers = worker_count()
    if n <= _INLINE_MAX or workers == 1:
        return chunk_fn(items)
    size = -(-n // workers)
    chunks = [items[i : i + size] for i in range(0, n, size)]
    pool = _get_pool()
    futures = [pool.submit(chunk_fn, chunk) for chunk in chunks]
    out: list[bool] = []
    for fut in futures:
        out.extend(fut.result())
    return out


def verify_batch(
    items: Sequence[tuple[PublicKey, bytes, bytes]], *, user_id: bytes = DEFAULT_SM2_ID
) -> list[bool]:
    """Verify ``(public_key, message, signature)`` triples; results in input order.

    Equivalent to ``[k.verify(m, s, user_id=user_id) for k, m, s in items]`` but uses every
    core. Never raises on a bad signature.
    """
    return _in_parallel(partial(_verify_chunk, user_id=user_id), items)


def failed_check() -> bool:
    """A signature check that fails: for what is malformed before any signature math."""
    return False


def run_checks(checks: Sequence[Callable[[], bool]]) -> list[bool]:
    """Run signature checks (each a call into C code that releases the GIL) on every core.

    Results in input order; a check must not raise on a bad signature.
    """
    return _in_parallel(_run_checks_chunk, checks)
