"""The audit gate: no contract runs on chain without an audit the chain policy accepts.

An auditor (role ``auditor``) records a contract's :class:`AuditReport` with
``evm.submit_audit``; it is stored at ``evm/audits/<runtime code hash>``. When
a deployment's creation code has run, the runtime code it produced is hashed
and ``policy.contract_deployment`` decides ([EVM-GATE.1], docs/contracts.md):

* ``open`` — any code deploys;
* ``audited`` — a report for exactly that code must exist, and every
  high-severity finding in it must be waived by a governance decision
  (``waive_finding``);
* ``audited_and_approved`` — and an ``approve_contract`` proposal must have
  approved that code hash.

A refused deployment is rolled back whole (the contract never exists) and its
receipt names what is missing, including each unwaived high finding.
"""

from __future__ import annotations

from typing import Final

from consortia.evm.audit.report import AuditReport, Severity
from consortia.evm.errors import ApprovalRequired, AuditRefused, AuditRequired
from consortia.evm.events import AuditRecorded
from consortia.execution.module import TxContext
from consortia.execution.state_view import StateView
from consortia.modules.governance.types import ContractApproval, Waiver, contract_key, waiver_key

AUDIT_PREFIX: Final = b"evm/audits/"


def audit_key(code_hash: bytes) -> bytes:
    """State key of the audit report of the runtime code with ``code_hash``."""
    return AUDIT_PREFIX + code_hash


def unwaived_high(state: StateView, report: AuditReport) -> list[str]:
    """Descriptions of the report's high findings that governance has not waived."""
    return [
        f"{f.check}: {f.description}"
        for f in report.findings
        if f.severity is Severity.HIGH
        and state.get_struct(waiver_key(report.runtime_code_hash, f.check), Waiver) is None
    ]


def check_deployment(ctx: TxContext, code_hash: bytes) -> None:
    """Raise unless ``ctx.policy`` lets the runtime code with ``code_hash`` deploy."""
    rule = ctx.policy.contract_deployment
    if rule == "open":
        return
    shown = "0x" + code_hash.hex()
    report = ctx.state.get_struct(audit_key(code_hash), AuditReport)
    if report is None:
        raise AuditRequired(
            f"no audit report for code {shown}: an auditor records one with evm.submit_audit"
        )
    blocking = unwaived_high(ctx.state, report)
    if blocking:
        raise AuditRefused(
            f"code {shown} has {len(blocking)} high-severity finding(s) without a waiver: "
            + "; ".join(blocking)
        )
    approved = ctx.state.get_struct(contract_key(code_hash), ContractApproval) is not None
    if rule == "audited_and_approved" and not approved:
        raise ApprovalRequired(
            f"code {shown} is audited but not approved: pass an approve_contract proposal"
        )


def submit_audit(ctx: TxContext, report: AuditReport) -> None:
    """``evm.submit_audit``: record ``report`` for the code it is bound to."""
    ctx.state.put_struct(audit_key(report.runtime_code_hash), report)
    counts = report.counts()
    ctx.emit(
        AuditRecorded(
            code_hash=report.runtime_code_hash,
            contract=report.contract,
            high=counts[Severity.HIGH],
            medium=counts[Severity.MEDIUM],
            auditor=ctx.sender,
        )
    )
