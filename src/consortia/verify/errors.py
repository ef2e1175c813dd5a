"""Why a chain or an export does not verify ([VERIFY-CHAIN.1], [VERIFY-EXPORT.2]).

Every problem the verifier finds is one of these, with a stable code; the
export reader raises nothing else, whatever bytes it is given. ``height`` is
the first height the problem concerns, or None for the file as a whole.

Tree::

    VerifyError                     VERIFY_ERROR
     ├── ExportError                VERIFY_EXPORT_ERROR           the export file
     │    ├── ExportMalformed       VERIFY_EXPORT_MALFORMED       not well-formed records
     │    ├── ExportVersionUnsupported VERIFY_EXPORT_VERSION      e.g. v1 (no trailer)
     │    ├── ExportIncomplete      VERIFY_EXPORT_INCOMPLETE      truncated, empty, miscounted
     │    └── ExportTrailerMismatch VERIFY_EXPORT_TRAILER_MISMATCH another last block id
     ├── NodeReplyMalformed         VERIFY_NODE_REPLY_MALFORMED   a bad answer to --rpc
     ├── ChainInvalid               VERIFY_CHAIN_INVALID          a block breaks a rule
     ├── ChainIncomplete            VERIFY_CHAIN_INCOMPLETE       fewer blocks than asked
     └── GenesisMismatch            VERIFY_GENESIS_MISMATCH       not the --genesis pinned
"""

from __future__ import annotations

from consortia.errors import NodeError


class VerifyError(NodeError):
    """The chain or the export does not verify; ``height`` is where, if one height is at fault."""

    code = "VERIFY_ERROR"

    def __init__(self, message: str, height: int | None = None) -> None:
        super().__init__(message)
        self.height = height


class ExportError(VerifyError):
    """The export file cannot prove a chain."""

    code = "VERIFY_EXPORT_ERROR"


class ExportMalformed(ExportError):
    """Bytes that are not a sequence of well-formed, bounded export records."""

    code = "VERIFY_EXPORT_MALFORMED"


class ExportVersionUnsupported(ExportError):
    """An export format this verifier does not accept (e.g. v1, which has no trailer)."""

    code = "VERIFY_EXPORT_VERSION"


class ExportIncomplete(ExportError):
    """The export ends before its trailer, holds no block, or its counts disagree."""

    code = "VERIFY_EXPORT_INCOMPLETE"


class ExportTrailerMismatch(ExportError):
    """The trailer's last block id is not the id of the export's last block."""

    code = "VERIFY_EXPORT_TRAILER_MISMATCH"


class NodeReplyMalformed(VerifyError):
    """A node's API answer is missing a field, too large or not canonical bytes."""

    code = "VERIFY_NODE_REPLY_MALFORMED"


class ChainInvalid(VerifyError):
    """A block breaks a rule of [VERIFY-CHAIN.1]."""

    code = "VERIFY_CHAIN_INVALID"


class ChainIncomplete(VerifyError):
    """The chain has fewer blocks than the verification asked for (or none at all)."""

    code = "VERIFY_CHAIN_INCOMPLETE"


class GenesisMismatch(VerifyError):
    """The chain's genesis block is not the one pinned with ``--genesis``."""

    code = "VERIFY_GENESIS_MISMATCH"


class ApplicationUnavailable(VerifyError):
    """The genesis names an application this software lacks (or that clashes):
    its blocks cannot be re-executed. The message carries the genesis error's code."""

    code = "VERIFY_APP_UNAVAILABLE"


__all__ = [
    "ApplicationUnavailable",
    "ChainIncomplete",
    "ChainInvalid",
    "ExportError",
    "ExportIncomplete",
    "ExportMalformed",
    "ExportTrailerMismatch",
    "ExportVersionUnsupported",
    "GenesisMismatch",
    "NodeReplyMalformed",
    "VerifyError",
]
