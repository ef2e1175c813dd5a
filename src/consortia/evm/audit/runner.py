"""Running an audit: compile, run every analyser, assemble one report per contract.

Consortia's checks (``solidity``, ``vyper``) run on every contract; Slither
(``slither``) on Solidity sources unless turned off. The report
(:class:`~consortia.evm.audit.report.AuditReport`) names every tool that ran.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from consortia.crypto import keccak256
from consortia.evm.audit.checks import CHECKS_VERSION, Source
from consortia.evm.audit.report import AuditReport, Finding, ToolVersion
from consortia.evm.audit.slither import run_slither, slither_findings, slither_version
from consortia.evm.audit.solidity import SolidityChecks
from consortia.evm.audit.vyper import VyperChecks
from consortia.evm.compiler import CompiledContract, Language, compile_file

__all__ = ["audit", "audit_contract", "audit_file"]


def audit_file(path: Path, *, slither: bool = True) -> list[AuditReport]:
    """Compile ``path`` (``.sol`` or ``.vy``) and audit each contract in it.

    Raises:
        SourceUnreadable, CompileFailed, CompilerUnavailable: from compiling.
        AuditFailed: Slither could not analyse the source.
    """
    return audit(compile_file(path), slither=slither)


def audit_contract(contract: CompiledContract, *, slither: bool = True) -> AuditReport:
    """Audit one compiled contract (see :func:`audit`)."""
    return audit([contract], slither=slither)[0]


def audit(contracts: Sequence[CompiledContract], *, slither: bool = True) -> list[AuditReport]:
    """Audit compiled contracts; one report each, in the same order.

    Contracts compiled from the same source share one Slither run. ``slither``
    False skips Slither (our checks only; the report then names no Slither).

    Raises:
        AuditFailed: Slither could not analyse a Solidity source.
        CompilerUnavailable: Slither needs the npm compiler and it is missing.
    """
    slither_runs: dict[tuple[str, bytes], list[dict[str, Any]]] = {}
    reports = []
    for contract in contracts:
        tools = [ToolVersion(name="consortia-checks", version=CHECKS_VERSION)]
        if contract.language is Language.SOLIDITY:
            tools.append(ToolVersion(name="solc", version=contract.compiler_version))
        else:
            tools.append(ToolVersion(name="vyper", version=contract.compiler_version))
        findings = list(_own_checks(contract))
        if slither and contract.language is Language.SOLIDITY:
            key = (contract.source_name, contract.source_hash)
            if key not in slither_runs:
                slither_runs[key] = run_slither(contract)
            findings += slither_findings(slither_runs[key], contract)
            tools.append(ToolVersion(name="slither", version=slither_version()))
        reports.append(
            AuditReport(
                contract=contract.name,
                language=contract.language.value,
                source_hash=contract.source_hash,
                bytecode_hash=keccak256(contract.bytecode),
                runtime_code_hash=keccak256(contract.runtime_bytecode),
                tools=tuple(sorted(tools, key=lambda t: t.name)),
                findings=tuple(sorted(set(findings), key=_finding_order)),
            )
        )
    return reports


def _finding_order(f: Finding) -> tuple[int, str, str, int, str]:
    line = f.location.line if f.location is not None else 0
    return (f.severity.rank, f.tool, f.check, line, f.description)


def _own_checks(contract: CompiledContract) -> Iterator[Finding]:
    source = Source(contract)
    checks: SolidityChecks | VyperChecks
    if contract.language is Language.SOLIDITY:
        checks = SolidityChecks(contract, source)
    else:
        checks = VyperChecks(contract, source)
    yield from checks.run()
