"""Mempool admission errors (beyond the transaction codes in execution/errors.py)."""

from __future__ import annotations

from consortia.execution.errors import ExecutionError


class MempoolError(ExecutionError):
    """The pool refuses a transaction."""

    code = "MEMPOOL_ERROR"


class Duplicate(MempoolError):
    """The same transaction is already pending or committed."""

    code = "TX_DUPLICATE"
    http_status = 409


class NoncePending(MempoolError):
    """Another transaction with this sender and nonce is already pending."""

    code = "TX_NONCE_PENDING"
    http_status = 409


class ExpiryTooFar(MempoolError):
    """The expiry height is further ahead than chain policy allows."""

    code = "TX_EXPIRY_TOO_FAR"


class MempoolFull(MempoolError):
    """The pool is at its transaction or byte limit; retry later."""

    code = "MEMPOOL_FULL"
    http_status = 503


class SenderLimit(MempoolError):
    """The sender has too many pending transactions."""

    code = "TX_SENDER_LIMIT"
    http_status = 429


class RateLimited(MempoolError):
    """The sender exceeds its admission rate."""

    code = "TX_RATE_LIMITED"
    http_status = 429
