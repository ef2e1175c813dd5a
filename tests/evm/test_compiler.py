"""Compiling Solidity (npm solc through node) and Vyper, with the real compilers."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consortia.cli.main import app
from consortia.evm.compiler import (
    EVM_VERSION,
    SOLC_WRAPPER,
    CompiledContract,
    CompileFailed,
    Language,
    SourceUnreadable,
    compile_file,
    compile_solidity,
    compile_vyper,
    solc_env,
)

CONTRACTS = Path(__file__).parent / "contracts"
runner = CliRunner()


@pytest.fixture(scope="module")
def token() -> CompiledContract:
    (contract,) = compile_solidity(CONTRACTS / "Token.sol")
    return contract


def _abi_names(contract: CompiledContract, kind: str) -> set[str]:
    return {entry["name"] for entry in contract.abi if entry["type"] == kind}


def test_erc20(token: CompiledContract) -> None:
    source = (CONTRACTS / "Token.sol").read_bytes()
    assert token.name == "Token"
    assert token.language is Language.SOLIDITY
    assert token.compiler_version.startswith("0.8.37+commit.")
    assert token.settings == {"optimizer": {"enabled": True, "runs": 200}, "evmVersion": "cancun"}
    assert token.source == source
    assert token.source_hash == hashlib.sha256(source).digest()
    assert {"transfer", "approve", "transferFrom", "balanceOf", "totalSupply"} <= _abi_names(
        token, "function"
    )
    assert _abi_names(token, "event") == {"Transfer", "Approval"}
    # The creation code returns the runtime code, which it therefore contains.
    assert token.runtime_bytecode and token.runtime_bytecode in token.bytecode
    assert token.ast is not None and token.ast["nodeType"] == "SourceUnit"
    artifact = token.artifact()
    assert artifact["deployedBytecode"] == "0x" + token.runtime_bytecode.hex()
    assert json.loads(json.dumps(artifact)) == artifact


def test_same_source_same_bytecode(token: CompiledContract) -> None:
    (again,) = compile_solidity(token.source.decode(), name="Token.sol")
    assert again == token


def test_events_contract_skips_interfaces() -> None:
    contracts = compile_file(CONTRACTS / "Registry.sol")
    assert [c.name for c in contracts] == ["Registry"]  # IRegistry has no code
    events = {e["name"]: e for e in contracts[0].abi if e["type"] == "event"}
    assert set(events) == {"Registered", "Cleared", "Note"}
    assert events["Note"]["anonymous"] is True
    assert [i["indexed"] for i in events["Registered"]["inputs"]] == [True, True, False]
    assert {"Empty"} == _abi_names(contracts[0], "error")


def test_vyper() -> None:
    (counter,) = compile_vyper(CONTRACTS / "Counter.vy")
    assert counter.name == "Counter"
    assert counter.language is Language.VYPER
    assert counter.compiler_version.startswith("0.4.3")
    assert counter.settings["evmVersion"] == EVM_VERSION
    assert {"bump", "reset", "owner", "count"} <= _abi_names(counter, "function")
    assert _abi_names(counter, "event") == {"Bumped"}
    assert counter.bytecode and counter.runtime_bytecode
    assert counter.ast is not None and counter.ast["ast_type"] == "Module"
    assert compile_file(CONTRACTS / "Counter.vy") == [counter]


def test_solidity_syntax_error() -> None:
    with pytest.raises(CompileFailed) as caught:
        compile_file(CONTRACTS / "Broken.sol")
    assert caught.value.code == "CONTRACT_COMPILE_FAILED"
    assert "Broken.sol" in caught.value.message
    assert any("ParserError" in m and "Broken.sol:5" in m for m in caught.value.messages)


def test_vyper_syntax_error() -> None:
    with pytest.raises(CompileFailed) as caught:
        compile_vyper("@external\ndef f(:\n    pass\n", name="Bad.vy")
    assert caught.value.code == "CONTRACT_COMPILE_FAILED"
    assert "SyntaxException" in caught.value.message


def test_unreadable_sources(tmp_path: Path) -> None:
    with pytest.raises(SourceUnreadable):
        compile_file(tmp_path / "missing.sol")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SourceUnreadable) as caught:
        compile_file(tmp_path / "notes.txt")
    assert caught.value.code == "CONTRACT_SOURCE_UNREADABLE"
    (tmp_path / "latin1.sol").write_bytes(b"contract \xe9 {}")
    with pytest.raises(SourceUnreadable):
        compile_file(tmp_path / "latin1.sol")


def test_solc_wrapper_speaks_native_solc() -> None:
    """Slither and crytic-compile parse this exact format."""
    done = subprocess.run(
        [str(SOLC_WRAPPER), "--version"], capture_output=True, text=True, env=solc_env(), check=True
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "solc, the solidity compiler commandline interface"
    assert lines[1].startswith("Version: 0.8.37+commit.")


def test_cli_compile(tmp_path: Path) -> None:
    out = tmp_path / "artifacts"
    result = runner.invoke(
        app, ["contract", "compile", str(CONTRACTS / "Registry.sol"), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    (artifact,) = json.loads(result.stdout)["contracts"]
    assert artifact["contractName"] == "Registry"
    assert json.loads((out / "Registry.json").read_text()) == artifact

    result = runner.invoke(app, ["contract", "compile", str(CONTRACTS / "Counter.vy")])
    assert result.exit_code == 0, result.stderr
    assert "Counter" in result.stdout and "vyper" in result.stdout


def test_cli_compile_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["contract", "compile", str(CONTRACTS / "Broken.sol")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: Broken.sol: ")
    assert "[CONTRACT_COMPILE_FAILED]" in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr

    result = runner.invoke(app, ["contract", "compile", str(tmp_path / "none.vy"), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "CONTRACT_SOURCE_UNREADABLE"
