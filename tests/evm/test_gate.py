"""The audit gate on chain ([EVM-GATE.1], issue #5): a contract with a reentrancy bug is
refused at deployment with the finding shown; after a governance waiver it deploys, and
the waiver is queryable. Contracts are compiled and audited with the real tools."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from tests.execution.chain import address, key, make_tx
from tests.governance.helpers import Gov, open_chain

from consortia.crypto import KeyType, PrivateKey, keccak256
from consortia.evm.audit.report import AuditReport, Severity
from consortia.evm.audit.runner import audit_contract
from consortia.evm.compiler import CompiledContract, compile_file
from consortia.evm.gate import audit_key
from consortia.evm.types import Deploy
from consortia.execution.policy import ChainPolicy
from consortia.modules.governance.types import (
    ApproveContract,
    GrantRole,
    ProposalKind,
    Role,
    Status,
    WaiveFinding,
    Waiver,
    waiver_key,
)

CHECKS = Path(__file__).parent / "contracts" / "checks"
AUDITOR = key(KeyType.SM2, 600)
DEVELOPER = key(KeyType.SM2, 601)


def _contract(name: str) -> tuple[CompiledContract, AuditReport]:
    (contract,) = [c for c in compile_file(CHECKS / "reentrancy.sol") if c.name == name]
    return contract, audit_contract(contract, slither=False)


@pytest.fixture(scope="module")
def flagged() -> tuple[CompiledContract, AuditReport]:
    return _contract("Flagged")


@pytest.fixture(scope="module")
def safe() -> tuple[CompiledContract, AuditReport]:
    return _contract("Safe")


def _gov(tmp_path: Path, rule: str) -> Iterator[Gov]:
    chain = open_chain(tmp_path, ChainPolicy(contract_deployment=rule), [AUDITOR, DEVELOPER])
    gov = Gov(chain)
    try:
        done = gov.pass_(
            ProposalKind.GRANT_ROLE, GrantRole(address=address(AUDITOR), role=Role.AUDITOR)
        )
        assert done.status is Status.EXECUTED
        yield gov
    finally:
        chain.close()


@pytest.fixture
def audited(tmp_path: Path) -> Iterator[Gov]:
    yield from _gov(tmp_path, "audited")


@pytest.fixture
def approved(tmp_path: Path) -> Iterator[Gov]:
    yield from _gov(tmp_path, "audited_and_approved")


def _deploy(gov: Gov, contract: CompiledContract, nonce: int) -> tuple[str, str]:
    tx = make_tx(DEVELOPER, nonce, "evm", "deploy", Deploy(code=contract.bytecode))
    receipt = gov.chain.run(tx).receipt
    return receipt.status, receipt.message


def _submit(gov: Gov, report: AuditReport, nonce: int, signer: PrivateKey = AUDITOR) -> str:
    return gov.chain.run(make_tx(signer, nonce, "evm", "submit_audit", report)).receipt.status


def test_reentrancy_is_refused_with_its_finding_then_deploys_after_a_waiver(
    audited: Gov, flagged: tuple[CompiledContract, AuditReport]
) -> None:
    contract, report = flagged
    high = [f for f in report.findings if f.severity is Severity.HIGH]
    assert [f.check for f in high] == ["reentrancy"]
    code_hash = report.runtime_code_hash
    assert code_hash == keccak256(contract.runtime_bytecode)
    # No report yet.
    status, message = _deploy(audited, contract, 0)
    assert status == "EVM_AUDIT_REQUIRED" and code_hash.hex() in message
    # Only an auditor may record a report.
    assert _submit(audited, report, 1, signer=DEVELOPER) == "TX_PERMISSION_DENIED"
    assert _submit(audited, report, 0) == "OK"
    stored = audited.chain.read(lambda v: v.get_struct(audit_key(code_hash), AuditReport))
    assert stored == report
    # The finding blocks the deployment and is shown to the developer.
    status, message = _deploy(audited, contract, 2)
    assert status == "EVM_AUDIT_REFUSED"
    assert "reentrancy" in message and high[0].description in message
    # Governance waives it: recorded, queryable, and the deployment goes through.
    waiver = WaiveFinding(code_hash=code_hash, check="reentrancy", reason="pull payments only")
    assert audited.pass_(ProposalKind.WAIVE_FINDING, waiver).status is Status.EXECUTED
    record = audited.chain.read(lambda v: v.get_struct(waiver_key(code_hash, "reentrancy"), Waiver))
    assert record is not None and record.reason == "pull payments only" and record.proposal_id
    status, message = _deploy(audited, contract, 3)
    assert status == "OK", message


def test_a_clean_contract_deploys_once_audited(
    audited: Gov, safe: tuple[CompiledContract, AuditReport]
) -> None:
    contract, report = safe
    assert not report.has_high
    assert _submit(audited, report, 0) == "OK"
    assert _deploy(audited, contract, 0)[0] == "OK"


def test_audited_and_approved_needs_the_governance_approval(
    approved: Gov, safe: tuple[CompiledContract, AuditReport]
) -> None:
    contract, report = safe
    assert _submit(approved, report, 0) == "OK"
    status, message = _deploy(approved, contract, 0)
    assert status == "EVM_APPROVAL_REQUIRED" and "approve_contract" in message
    approval = ApproveContract(code_hash=report.runtime_code_hash, note="reviewed by org1")
    assert approved.pass_(ProposalKind.APPROVE_CONTRACT, approval).status is Status.EXECUTED
    assert _deploy(approved, contract, 1)[0] == "OK"


def test_a_report_for_other_code_does_not_count(
    audited: Gov, safe: tuple[CompiledContract, AuditReport]
) -> None:
    contract, report = safe
    other = msgspec.structs.replace(report, runtime_code_hash=keccak256(b"other code"))
    assert _submit(audited, other, 0) == "OK"
    assert _deploy(audited, contract, 0)[0] == "EVM_AUDIT_REQUIRED"
