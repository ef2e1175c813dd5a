"""Errors the SDK raises.

Tree::

    ClientError                  base of everything the SDK raises
     ├── ApiError                the node answered with an error (code, message, http_status)
     ├── NodeUnreachable         no answer from the node (connection refused, timeout, ...)
     ├── TransactionTimeout      submitted, not committed within ``wait``
     └── TransactionFailed       committed with a non-OK receipt status
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from consortia.api.schemas import TransactionJson


class ClientError(Exception):
    """Base of the SDK's errors."""


class ApiError(ClientError):
    """The node refused the request; ``code`` is the node's stable error code."""

    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message
        self.http_status = http_status


class NodeUnreachable(ClientError):
    """The node at ``url`` did not answer."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"node at {url} is unreachable: {reason}")
        self.url = url
        self.reason = reason


class TransactionTimeout(ClientError):
    """The transaction was admitted but not committed within the wait."""

    def __init__(self, tx_id: str, wait: float) -> None:
        super().__init__(f"transaction {tx_id} not committed within {wait:g} s")
        self.tx_id = tx_id
        self.wait = wait


class TransactionFailed(ClientError):
    """The transaction committed, but its receipt status is not OK."""

    def __init__(self, record: TransactionJson) -> None:
        receipt = record.receipt
        status = receipt.status if receipt else "UNKNOWN"
        message = receipt.message if receipt else ""
        super().__init__(f"transaction {record.tx_id} failed: {message} [{status}]")
        self.record = record
        self.code = status
        self.message = message
