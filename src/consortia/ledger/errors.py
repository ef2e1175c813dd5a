"""Ledger errors: missing blocks and transactions, bad sequences, damaged storage.

Tree::

    LedgerError                 LEDGER_ERROR            any ledger failure
     ├── BlockNotFound          LEDGER_BLOCK_NOT_FOUND  no block at that height or id (404)
     ├── TransactionNotFound    LEDGER_TX_NOT_FOUND     no committed transaction with that id (404)
     ├── StoreCorrupted         LEDGER_STORE_CORRUPTED  stored bytes do not decode (500)
     ├── InvalidBlockSequence   LEDGER_INVALID_SEQUENCE block does not extend the stored chain
     └── DuplicateTransaction   LEDGER_DUPLICATE_TX     transaction id already committed
"""

from __future__ import annotations

from consortia.errors import NodeError


class LedgerError(NodeError):
    """A ledger operation failed."""

    code = "LEDGER_ERROR"


class BlockNotFound(LedgerError):
    """No block is stored at the requested height or with the requested id."""

    code = "LEDGER_BLOCK_NOT_FOUND"
    http_status = 404


class EpochNotFound(LedgerError):
    """The requested epoch has not begun."""

    code = "LEDGER_EPOCH_NOT_FOUND"
    http_status = 404


class TransactionNotFound(LedgerError):
    """No committed transaction has the requested id."""

    code = "LEDGER_TX_NOT_FOUND"
    http_status = 404


class StoreCorrupted(LedgerError):
    """Bytes read from the block store are not the canonical encoding they should be."""

    code = "LEDGER_STORE_CORRUPTED"
    http_status = 500


class InvalidBlockSequence(LedgerError):
    """A block's height or parent id does not extend the stored chain."""

    code = "LEDGER_INVALID_SEQUENCE"


class DuplicateTransaction(LedgerError):
    """A block contains a transaction id that is already committed (or twice)."""

    code = "LEDGER_DUPLICATE_TX"
