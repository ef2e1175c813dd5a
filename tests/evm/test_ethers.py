"""ethers.js (npm, v6), used as any developer would, against a real node's JSON-RPC (issue #5).

The client is tests/evm/ethers_client.mjs run by ``node``: it deploys the
ERC-20 of tests/evm/contracts/token.vy, transfers, reads balances, waits for
receipts, filters logs by topic and block range, sees a revert reason and
fetches an ``eth_getProof`` result; this side checks its JSON summary and
verifies the proof against the block's state root.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rlp
from eth_utils.address import to_checksum_address
from tests.support.node import InProcessNode, node_in_thread
from trie.hexary import HexaryTrie

from consortia.crypto import keccak256
from consortia.evm.compiler import compile_file
from consortia.evm.context import evm_chain_id
from consortia.evm.module import contract_address
from consortia.execution.policy import ChainPolicy

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "ethers_client.mjs"
TOKEN = Path(__file__).parent / "contracts" / "token.vy"
SUPPLY = 1_000_000


def test_setup_installed_node_and_ethers() -> None:
    """The project's setup installs both; a missing install fails here, never skips."""
    assert shutil.which("node") is not None, "node missing: run make setup"
    assert (ROOT / "node_modules" / "ethers").is_dir(), "npm ethers missing: run make setup"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    # Client mechanics on an open chain; the audit gate has its own tests.
    open_policy = ChainPolicy(contract_deployment="open")
    with node_in_thread(tmp_path_factory.mktemp("net") / "net", policy=open_policy) as running:
        yield running


def run_node(args: list[str], stdin: str | None = None) -> str:
    """Run ``node`` from the repository root (so it finds node_modules); its stdout."""
    run = subprocess.run(
        ["node", *args],
        input=stdin,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def run_ethers_client(rpc_url: str, workdir: Path) -> dict[str, Any]:
    """Run the ethers.js client script against ``rpc_url``; its JSON summary."""
    (token,) = compile_file(TOKEN)
    artifact = workdir / "Token.json"
    artifact.write_text(json.dumps({"abi": token.abi, "bytecode": "0x" + token.bytecode.hex()}))
    document: dict[str, Any] = json.loads(run_node([str(SCRIPT), rpc_url, str(artifact)]))
    return document


@pytest.fixture(scope="module")
def summary(node: InProcessNode, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_ethers_client(f"{node.url}/rpc", tmp_path_factory.mktemp("artifact"))


def test_chain_identity_and_fees(summary: dict[str, Any]) -> None:
    assert summary["chainId"] == str(evm_chain_id("consortia-devnet"))
    assert summary["gasPrice"] == "0"


def test_erc20_deploy_transfer_balances_and_events(summary: dict[str, Any]) -> None:
    owner, alice = summary["owner"], summary["alice"]
    deploy = summary["deploy"]
    assert deploy["status"] == 1 and deploy["contractAddress"] == summary["address"]
    # The first transaction of the owner: CREATE address of (owner, nonce 0).
    expected = contract_address(bytes.fromhex(owner[2:]), 0)
    assert summary["address"] == to_checksum_address(expected)
    assert summary["code"] is True
    transfer = summary["transfer"]
    assert transfer["status"] == 1 and transfer["block"] >= deploy["block"]
    assert (transfer["from"], transfer["to"]) == (owner, summary["address"])
    assert transfer["inBlock"] is True
    assert transfer["type"] == 0  # gas price 0 and base fee 0: ethers sends legacy (EIP-155)
    assert transfer["events"] == [
        {"name": "Transfer", "sender": owner, "receiver": alice, "value": "1250"}
    ]
    typed = summary["typed"]
    assert typed == {"type": 2, "status": 1, "maxFeePerGas": "0"}  # EIP-1559 when asked for
    assert summary["balances"] == {"owner": str(SUPPLY - 1_255), "alice": "1255"}


def test_logs_filtered_by_topic_and_block_range(summary: dict[str, Any]) -> None:
    logs = summary["logs"]
    # queryFilter spans both transfers to alice; getLogs ends at the first one's block.
    values = [entry["value"] for entry in logs["queryFilter"]]
    assert values == ["1250", "5"]
    assert logs["queryFilter"][0]["hash"] == summary["transfer"]["hash"]
    assert logs["getLogs"] == [summary["transfer"]["hash"]]
    assert logs["beforeDeploy"] == 0


def test_revert_reason_reaches_the_client(summary: dict[str, Any]) -> None:
    revert = summary["revert"]
    assert revert["code"] == "CALL_EXCEPTION"
    assert revert["reason"] == "insufficient balance"
    assert revert["estimateGasReason"] == "insufficient balance"


def test_get_proof_verifies_against_the_block_state_root(summary: dict[str, Any]) -> None:
    proof = summary["proof"]["result"]
    state_root = bytes.fromhex(summary["proof"]["stateRoot"][2:])
    address = bytes.fromhex(summary["address"][2:])
    nodes = [rlp.decode(bytes.fromhex(n[2:])) for n in proof["accountProof"]]
    account = HexaryTrie.get_from_proof(state_root, keccak256(address), nodes)
    _nonce, _balance, storage_root, _code_hash = rlp.decode(account)
    assert "0x" + storage_root.hex() == proof["storageHash"]
    (entry,) = proof["storageProof"]
    value = HexaryTrie.get_from_proof(
        storage_root,
        keccak256(bytes(32)),
        [rlp.decode(bytes.fromhex(n[2:])) for n in entry["proof"]],
    )
    assert int(entry["value"], 16) and int.from_bytes(rlp.decode(value), "big") == int(
        entry["value"], 16
    )
