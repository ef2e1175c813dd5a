"""The audit report: the on-chain types an audit produces and the gate reads.

An :class:`AuditReport` binds findings to the exact source (SHA-256) and code
(Keccak-256 of creation and runtime bytecode) and names every tool version;
it is a :class:`~consortia.codec.Canonical` struct, so its bytes and hash are
well defined and it can be stored on chain (``evm.submit_audit``). This module
is what the on-chain code (``consortia.evm.module``, ``consortia.evm.gate``)
imports, so it imports only the codec: no compiler, no subprocess.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Final

from consortia.codec import U64, Canonical, Hash32, decode, encode

__all__ = [
    "DOMAIN_AUDIT_REPORT",
    "AuditReport",
    "Finding",
    "Severity",
    "SourceLocation",
    "ToolVersion",
]

DOMAIN_AUDIT_REPORT: Final = b"CONSORTIA/AUDIT-REPORT/v1\x00"
"""Domain tag of :meth:`AuditReport.report_id`."""


class Severity(enum.StrEnum):
    """How serious a finding is; policy blocks deployment on ``high``."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFORMATIONAL = "informational"

    @property
    def rank(self) -> int:
        """0 for high … 3 for informational (sort order of findings)."""
        return list(Severity).index(self)


class SourceLocation(Canonical, frozen=True):
    """Where in the source a finding is."""

    file: str
    """The source unit's name."""
    line: U64
    """First line, counted from 1."""
    end_line: U64
    """Last line (equal to ``line`` for one line)."""


class Finding(Canonical, frozen=True):
    """One problem an analyser reports."""

    tool: str
    """``consortia`` or ``slither``."""
    check: str
    """The tool's detector id, e.g. ``reentrancy`` or ``reentrancy-eth``."""
    severity: Severity
    description: str
    location: SourceLocation | None
    """Where in the source, when the analyser knows (None: unknown)."""


class ToolVersion(Canonical, frozen=True):
    """One tool that took part in the audit."""

    name: str
    """``solc``, ``vyper``, ``slither`` or ``consortia-checks``."""
    version: str


class AuditReport(Canonical, frozen=True):
    """The result of auditing one contract, bound to its source and code hashes."""

    contract: str
    """Contract name."""
    language: str
    """``solidity`` or ``vyper``."""
    source_hash: Hash32
    """SHA-256 of the exact source bytes."""
    bytecode_hash: Hash32
    """Keccak-256 of the creation code (without constructor arguments)."""
    runtime_code_hash: Hash32
    """Keccak-256 of the runtime code (what ``EXTCODEHASH`` returns once deployed)."""
    tools: tuple[ToolVersion, ...]
    """Every tool that ran, sorted by name."""
    findings: tuple[Finding, ...]
    """Sorted by severity (high first), tool, check, then location."""

    @property
    def has_high(self) -> bool:
        """True if any finding is high severity (the default policy refuses deployment)."""
        return any(f.severity is Severity.HIGH for f in self.findings)

    def counts(self) -> dict[Severity, int]:
        """Number of findings per severity (every severity present, maybe 0)."""
        return {s: sum(1 for f in self.findings if f.severity is s) for s in Severity}

    def to_bytes(self) -> bytes:
        """The canonical encoding (docs/spec/encoding.md)."""
        return encode(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> AuditReport:
        """Decode canonical bytes; raises :class:`~consortia.codec.CodecError` otherwise."""
        return decode(data, cls)

    def report_id(self, hash_fn: Callable[[bytes], bytes]) -> bytes:
        """The report's id under the chain suite's hash: ``hash(DOMAIN || bytes)``."""
        return hash_fn(DOMAIN_AUDIT_REPORT + encode(self))
