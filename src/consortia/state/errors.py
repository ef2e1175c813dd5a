"""Errors raised by the authenticated state (``consortia.state``).

Tree::

    NodeError                      (consortia/errors.py)
     └── StateError           STATE_ERROR              bad input, encoding or storage
          ├── VersionNotFound STATE_VERSION_NOT_FOUND  never written, or pruned
          ├── InvalidVersion  STATE_INVALID_VERSION    apply/prune out of sequence
          └── InvalidProof    STATE_INVALID_PROOF      malformed or failing proof
"""

from __future__ import annotations

from typing import ClassVar

from consortia.errors import NodeError

__all__ = ["InvalidProof", "InvalidVersion", "StateError", "VersionNotFound"]


class StateError(NodeError):
    """The authenticated state rejected an input or found its storage inconsistent."""

    code: ClassVar[str] = "STATE_ERROR"


class VersionNotFound(StateError):
    """The requested version was never committed or has been pruned."""

    code: ClassVar[str] = "STATE_VERSION_NOT_FOUND"
    http_status: ClassVar[int] = 404


class InvalidVersion(StateError):
    """A write named a version that is not the next one (or a prune bound past the latest)."""

    code: ClassVar[str] = "STATE_INVALID_VERSION"


class InvalidProof(StateError):
    """A state proof is malformed or does not show what it claims."""

    code: ClassVar[str] = "STATE_INVALID_PROOF"
