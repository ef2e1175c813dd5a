"""Slither (Solidity only) as a subprocess, and its results as findings.

Run as ``slither DIR --solc-standard-json --solc solc_wrapper --json -`` on a
temporary directory holding the one source file (imports are not copied:
flatten multi-file sources first). Its impact levels map to our severities,
``Optimization`` to informational. Slither's Vyper 0.4 support is broken
(DESIGN.md §3a), so Vyper gets our checks only.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from consortia.evm.audit.report import Finding, Severity, SourceLocation
from consortia.evm.compiler import SOLC_WRAPPER, CompiledContract, ContractToolError, solc_env

__all__ = ["AuditFailed", "run_slither", "slither_findings", "slither_version"]

SLITHER_TIMEOUT: Final = 300.0
"""Seconds one Slither run may take."""
TOOL_SLITHER: Final = "slither"


class AuditFailed(ContractToolError):
    """An analyser could not run or produced no usable result (e.g. Slither crashed)."""

    code = "CONTRACT_AUDIT_FAILED"


_SLITHER_SEVERITY: Final = {
    "High": Severity.HIGH,
    "Medium": Severity.MEDIUM,
    "Low": Severity.LOW,
    "Informational": Severity.INFORMATIONAL,
    "Optimization": Severity.INFORMATIONAL,
}


def slither_version() -> str:
    """The installed Slither's version (named in every report it took part in)."""
    return importlib.metadata.version("slither-analyzer")


def _slither_executable() -> str:
    beside = Path(sys.executable).with_name("slither")
    return str(beside) if beside.is_file() else "slither"


def run_slither(contract: CompiledContract) -> list[dict[str, Any]]:
    """Slither's detector results for the contract's source file."""
    env = solc_env()
    with tempfile.TemporaryDirectory(prefix="consortia-slither-") as tmp:
        work = Path(tmp) / "src"
        work.mkdir()
        (work / contract.source_name).write_bytes(contract.source)
        cmd = [
            _slither_executable(),
            str(work),
            "--solc-standard-json",
            "--solc",
            str(SOLC_WRAPPER),
            "--json",
            "-",
        ]
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                cwd=tmp,
                env=env,
                timeout=SLITHER_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AuditFailed(f"slither did not run: {exc}") from None
    try:
        output: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise AuditFailed(f"slither failed (exit {done.returncode}): {tail}") from None
    if not output.get("success", False):
        raise AuditFailed(f"slither failed: {output.get('error') or done.stderr.strip()[-300:]}")
    detectors: list[dict[str, Any]] = output.get("results", {}).get("detectors", [])
    return detectors


def _element_contract(element: dict[str, Any]) -> str | None:
    """Name of the contract a Slither result element belongs to, if any."""
    if element.get("type") == "contract":
        return str(element.get("name"))
    parent = element.get("type_specific_fields", {}).get("parent", {})
    while parent:
        if parent.get("type") == "contract":
            return str(parent.get("name"))
        parent = parent.get("type_specific_fields", {}).get("parent", {})
    return None


def slither_findings(
    results: Iterable[dict[str, Any]], contract: CompiledContract
) -> list[Finding]:
    """Slither results that concern ``contract`` (or no contract, e.g. the pragma)."""
    findings = []
    for result in results:
        elements: list[dict[str, Any]] = result.get("elements", [])
        owners = {name for e in elements if (name := _element_contract(e)) is not None}
        if owners and contract.name not in owners:
            continue
        location = None
        if elements:
            lines = elements[0].get("source_mapping", {}).get("lines", [])
            if lines:
                location = SourceLocation(
                    file=contract.source_name, line=min(lines), end_line=max(lines)
                )
        findings.append(
            Finding(
                tool=TOOL_SLITHER,
                check=str(result.get("check", "?")),
                severity=_SLITHER_SEVERITY.get(str(result.get("impact")), Severity.INFORMATIONAL),
                description=" ".join(str(result.get("description", "")).split()),
                location=location,
            )
        )
    return findings
