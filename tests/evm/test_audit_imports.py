"""The on-chain EVM code imports only the audit report types (issue #17, item 2).

``consortia.evm.module`` and ``consortia.evm.gate`` run in every node; they
need ``AuditReport``/``Severity`` to read a stored report, not the Slither
driver, the bytecode scan or the checks, which shell out and load compilers.
Checked in a fresh interpreter, so other tests' imports do not hide a leak.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

ANALYSIS: tuple[str, ...] = (
    "consortia.evm.audit.runner",
    "consortia.evm.audit.slither",
    "consortia.evm.audit.reachability",
    "consortia.evm.audit.checks",
    "consortia.evm.audit.solidity",
    "consortia.evm.audit.vyper",
    "consortia.evm.compiler",
)


def _loaded_after(module: str) -> dict[str, bool]:
    """Which of ``ANALYSIS`` (and the report module) a fresh ``import module`` loads."""
    names = [*ANALYSIS, "consortia.evm.audit.report"]
    code = (
        f"import importlib, json, sys; importlib.import_module({module!r}); "
        f"print(json.dumps({{n: n in sys.modules for n in {names!r}}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded: dict[str, bool] = json.loads(done.stdout)
    return loaded


@pytest.mark.parametrize("module", ["consortia.evm.module", "consortia.evm.gate"])
def test_on_chain_code_loads_the_report_types_and_no_analysis(module: str) -> None:
    loaded = _loaded_after(module)
    assert loaded.pop("consortia.evm.audit.report"), "the on-chain code reads reports"
    assert [name for name, present in loaded.items() if present] == []


def test_the_runner_does_load_the_analysis() -> None:
    """The probe sees analysis modules when they are imported (so the test above can fail)."""
    loaded = _loaded_after("consortia.evm.audit.runner")
    assert all(loaded.values()), loaded
