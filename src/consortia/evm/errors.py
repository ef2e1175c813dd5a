"""Errors of EVM execution (stable codes in receipts and API answers)."""

from __future__ import annotations

from consortia.execution.errors import ModuleError


class EvmReverted(ModuleError):
    """The contract reverted; the message carries its reason (``Error(string)``) or data."""

    code = "EVM_REVERTED"


class EvmFailed(ModuleError):
    """The EVM stopped with an exceptional halt (out of gas, invalid opcode, bad jump, …)
    or refused the message (e.g. gas below the intrinsic cost)."""

    code = "EVM_FAILED"


class EthTxInvalid(ModuleError):
    """A raw Ethereum transaction that cannot be accepted (decoding, chain id, value,
    signature); JSON-RPC answers it with -32000 and this message."""

    code = "EVM_ETH_TX_INVALID"


class AuditRequired(ModuleError):
    """The chain's deployment policy needs an audit report for this code, and none exists."""

    code = "EVM_AUDIT_REQUIRED"


class AuditRefused(ModuleError):
    """The code's audit report has high-severity findings that governance has not waived."""

    code = "EVM_AUDIT_REFUSED"


class ApprovalRequired(ModuleError):
    """The deployment policy needs a governance approval of this code hash."""

    code = "EVM_APPROVAL_REQUIRED"
