"""Root of every Consortia exception, with stable machine-readable codes.

Each layer defines its own subclasses in its ``errors.py``; every class has a
one-line docstring and a stable ``code`` string. The API maps ``code`` to an
HTTP status and a JSON body; the CLI maps it to an exit code.

Tree (layer roots)::

    NodeError
     ├── CodecError            (codec/errors.py)   malformed or non-canonical bytes
     ├── CryptoError           (crypto/errors.py)  bad key, signature or ciphertext
     ├── StateError            (state/errors.py)   authenticated state and proofs
     ├── LedgerError           (ledger/errors.py)  blocks, store, indexes
     ├── ConsensusError        (consensus/errors.py) safety rules, certificates
     ├── MempoolError          (mempool/errors.py)  admission rejections
     ├── ExecutionError        (execution/errors.py) transaction failures
     ├── ConfigError           (config.py)          node and network configuration
     └── VerifyError           (verify/errors.py)   a chain or export that does not verify
"""

from __future__ import annotations

from typing import ClassVar


class NodeError(Exception):
    """Base of all Consortia errors; ``code`` is stable across releases."""

    code: ClassVar[str] = "NODE_ERROR"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form used by the API and the CLI's ``--json`` output."""
        return {"code": self.code, "message": self.message}
