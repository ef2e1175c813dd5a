"""The audit gate's analysis: Consortia's six checks, Slither, the canonical report, the CLI.

Each file in ``contracts/checks/`` holds a ``Flagged`` contract its check must
flag and a ``Safe`` twin that no check of ours may flag.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from consortia.cli.main import app
from consortia.codec import CodecError
from consortia.crypto import keccak256, sha256
from consortia.evm.audit.checks import CHECKS_VERSION
from consortia.evm.audit.reachability import reachable_opcodes
from consortia.evm.audit.report import DOMAIN_AUDIT_REPORT, AuditReport, Finding, Severity
from consortia.evm.audit.runner import audit, audit_file
from consortia.evm.compiler import compile_file

CONTRACTS = Path(__file__).parent / "contracts"
CHECKS = CONTRACTS / "checks"
runner = CliRunner()


def own(report: AuditReport) -> list[Finding]:
    return [f for f in report.findings if f.tool == "consortia"]


@pytest.mark.parametrize(
    ("fixture", "check", "severity", "line"),
    [
        ("selfdestruct.sol", "selfdestruct", Severity.HIGH, 10),
        ("delegatecall.sol", "controlled-delegatecall", Severity.HIGH, 9),
        ("txorigin.sol", "tx-origin-auth", Severity.HIGH, 9),
        ("unchecked.sol", "unchecked-call", Severity.MEDIUM, 10),
        ("reentrancy.sol", "reentrancy", Severity.HIGH, 14),
        ("loop.sol", "unbounded-loop", Severity.MEDIUM, 14),
    ],
)
def test_own_check_flags_the_bug_not_its_twin(
    fixture: str, check: str, severity: Severity, line: int
) -> None:
    flagged, safe = audit_file(CHECKS / fixture, slither=False)
    assert (flagged.contract, safe.contract) == ("Flagged", "Safe")
    (finding,) = own(flagged)
    assert (finding.check, finding.severity) == (check, severity)
    assert finding.location is not None
    assert (finding.location.file, finding.location.line) == (fixture, line)
    assert flagged.has_high is (severity is Severity.HIGH)
    assert own(safe) == []
    assert not safe.has_high


def test_vyper_checks() -> None:
    (vault,) = audit_file(CHECKS / "Vault.vy")
    assert {t.name for t in vault.tools} == {"consortia-checks", "vyper"}  # no Slither for Vyper
    assert [(f.check, f.location.line if f.location else 0) for f in vault.findings] == [
        ("controlled-delegatecall", 23),
        ("reentrancy", 17),
        ("tx-origin-auth", 16),
        ("unchecked-call", 17),
    ]
    (counter,) = audit_file(CONTRACTS / "Counter.vy")
    assert counter.findings == () and not counter.has_high


def test_bytecode_scan_skips_push_data_and_dead_code() -> None:
    push_ff = bytes([0x61, 0xFF, 0xFF, 0x00])  # PUSH2 0xffff; STOP
    assert [op for _, op in reachable_opcodes(push_ff)] == [0x61, 0x00]
    dead = bytes([0x00, 0xFF, 0x5B, 0xFF])  # STOP; data 0xff; JUMPDEST; SELFDESTRUCT
    assert list(reachable_opcodes(dead)) == [(0, 0x00), (2, 0x5B), (3, 0xFF)]
    metadata = bytes([0x00, 0xA1, 0x5B, 0xFF, 0x00, 0x03])  # STOP; CBOR map of 3 bytes; length
    assert list(reachable_opcodes(metadata)) == [(0, 0x00)]


@pytest.mark.slow
def test_slither_and_report_round_trip() -> None:
    contracts = compile_file(CHECKS / "reentrancy.sol")
    flagged, safe = audit(contracts)
    slither = {f.check: f for f in flagged.findings if f.tool == "slither"}
    assert slither["reentrancy-eth"].severity is Severity.HIGH
    assert slither["reentrancy-eth"].location is not None
    assert not any(f.check.startswith("reentrancy") for f in safe.findings)
    assert {t.name: t.version for t in flagged.tools} == {
        "consortia-checks": CHECKS_VERSION,
        "slither": "0.11.6",
        "solc": contracts[0].compiler_version,
    }
    assert flagged.source_hash == contracts[0].source_hash
    assert flagged.bytecode_hash == keccak256(contracts[0].bytecode)
    assert flagged.runtime_code_hash == keccak256(contracts[0].runtime_bytecode)
    severities = [f.severity.rank for f in flagged.findings]
    assert severities == sorted(severities)

    data = flagged.to_bytes()
    assert AuditReport.from_bytes(data) == flagged
    assert AuditReport.from_bytes(data).to_bytes() == data
    assert flagged.report_id(sha256) == sha256(DOMAIN_AUDIT_REPORT + data)
    with pytest.raises(CodecError):
        AuditReport.from_bytes(data + b"\x00")
    bad = msgspec.structs.replace(flagged, source_hash=b"\x00" * 31)
    with pytest.raises(CodecError):
        AuditReport.from_bytes(bad.to_bytes())


@pytest.mark.slow
def test_cli_audit_exit_codes(tmp_path: Path) -> None:
    result = runner.invoke(app, ["contract", "audit", str(CHECKS / "reentrancy.sol"), "--json"])
    assert result.exit_code == 1, result.stderr
    flagged, safe = json.loads(result.stdout)["reports"]
    assert flagged["has_high"] and not safe["has_high"]
    assert {"consortia", "slither"} == {f["tool"] for f in flagged["findings"]}
    report = AuditReport.from_bytes(bytes.fromhex(flagged["report"][2:]))
    assert report.runtime_code_hash.hex() == flagged["runtime_code_hash"][2:]

    result = runner.invoke(
        app, ["contract", "audit", str(CHECKS / "reentrancy.sol"), "--no-slither"]
    )
    assert result.exit_code == 1
    assert "reentrancy" in result.stdout and "high" in result.stdout

    result = runner.invoke(app, ["contract", "audit", str(CONTRACTS / "Registry.sol")])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "0 high" in result.stdout

    result = runner.invoke(app, ["contract", "audit", str(CONTRACTS / "Broken.sol")])
    assert result.exit_code == 2
    assert "[CONTRACT_COMPILE_FAILED]" in result.stderr.splitlines()[0]

    result = runner.invoke(app, ["contract", "audit", str(tmp_path / "nothing.sol")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "[CONTRACT_SOURCE_UNREADABLE]" in result.stderr
