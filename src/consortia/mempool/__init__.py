"""Transaction pool: admission checks (signature once), nonce ordering, limits, eviction."""

from consortia.mempool.errors import MempoolError
from consortia.mempool.pool import Mempool, MempoolConfig, verify_signatures

__all__ = ["Mempool", "MempoolConfig", "MempoolError", "verify_signatures"]
