"""Transaction pool: admission checks (signature once), nonce ordering, limits, eviction."""

from consortia.mempool.errors import MempoolError
from consortia.mempool.pool import (
    Dropped,
    DropReason,
    Mempool,
    MempoolConfig,
    SenderLookup,
    verify_signatures,
)

__all__ = [
    "DropReason",
    "Dropped",
    "Mempool",
    "MempoolConfig",
    "MempoolError",
    "SenderLookup",
    "verify_signatures",
]
