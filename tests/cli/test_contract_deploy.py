"""``consortia contract submit-audit`` and ``deploy`` against a live in-process node whose
policy is ``audited`` (issue #5): deployment without a report is refused, only an auditor
records one (the role granted by a governance proposal), a clean contract then deploys, a
flagged one is refused with its finding shown until governance waives it; under
``audited_and_approved`` an approve_contract decision is needed too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_abi.abi import decode as abi_decode
from tests.support.node import InProcessNode, node_in_thread
from typer.testing import CliRunner

from consortia.cli.contract_cmd import encode_constructor_args
from consortia.cli.main import app
from consortia.crypto import keccak256
from consortia.evm.module import contract_address
from consortia.execution.policy import ChainPolicy
from consortia.modules.governance.types import waiver_key

CONTRACTS = Path(__file__).parents[1] / "evm" / "contracts"
REENTRANCY = str(CONTRACTS / "checks" / "reentrancy.sol")
TOKEN_SOL = str(CONTRACTS / "Token.sol")

runner = CliRunner()


def cli(live: InProcessNode, *args: str, code: int = 0) -> Any:
    """Run a command with ``--json``; check its exit code; its JSON document."""
    result = runner.invoke(app, [*args, "--home", str(live.root), "--json"])
    assert result.exit_code == code, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def human(live: InProcessNode, *args: str, code: int = 0) -> Any:
    """Run a command without ``--json``; check its exit code."""
    result = runner.invoke(app, [*args, "--home", str(live.root)])
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def governance_passes(live: InProcessNode, kind: str, payload: dict[str, Any]) -> None:
    """Propose and vote as org1-admin, the only governor: one yes vote executes it."""
    made = cli(live, "gov", "propose", kind, "--payload-json", json.dumps(payload),
               "--from", "org1-admin", "--blocks", "500")  # fmt: skip
    proposal = made["receipt"]["events"][-1]["attributes"]["id"]
    voted = cli(live, "gov", "vote", proposal, "yes", "--from", "org1-admin")
    assert [e["name"] for e in voted["receipt"]["events"]] == ["vote_cast", "proposal_executed"]


def rpc(live: InProcessNode, method: str, params: list[Any]) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return httpx.post(f"{live.url}/rpc", json=body, timeout=10).json()["result"]


def test_audit_then_deploy_under_the_audited_policy(tmp_path: Path) -> None:
    policy = ChainPolicy(contract_deployment="audited")
    with node_in_thread(tmp_path / "net", policy=policy) as live:
        bob = live.key("bob").public_key().address()
        # No report for the code: refused by the gate with its code; nothing deployed.
        refused = cli(live, "contract", "deploy", REENTRANCY, "--contract", "Safe",
                      "--from", "bob", code=1)  # fmt: skip
        assert refused["receipt"]["status"] == "EVM_AUDIT_REQUIRED"
        assert refused["address"] is None
        shown = human(live, "contract", "deploy", REENTRANCY, "--contract", "Safe",
                      "--from", "bob", code=1)  # fmt: skip
        assert "[EVM_AUDIT_REQUIRED]" in shown.stderr and "submit-audit" in shown.stderr

        # Only an auditor records a report: refused at admission (exit 4).
        denied = cli(live, "contract", "submit-audit", REENTRANCY, "--contract", "Safe",
                     "--from", "alice", "--no-slither", code=4)  # fmt: skip
        assert denied["error"]["code"] == "TX_PERMISSION_DENIED"
        alice = "0x" + live.key("alice").public_key().address().hex()
        governance_passes(live, "grant_role", {"address": alice, "role": "auditor"})

        # Audited (Slither and our checks), recorded, and then the clean contract deploys.
        recorded = cli(live, "contract", "submit-audit", REENTRANCY, "--contract", "Safe",
                       "--from", "alice")  # fmt: skip
        assert recorded["receipt"]["status"] == "OK"
        assert recorded["audit"]["has_high"] is False
        assert recorded["audit"]["tools"].keys() >= {"slither", "consortia-checks"}
        (event,) = [e for e in recorded["receipt"]["events"] if e["name"] == "audit_recorded"]
        assert "0x" + event["attributes"]["code_hash"] == recorded["audit"]["runtime_code_hash"]
        deployed = cli(live, "contract", "deploy", REENTRANCY, "--contract", "Safe",
                       "--from", "bob")  # fmt: skip
        assert deployed["receipt"]["status"] == "OK"
        assert deployed["code_hash"] == recorded["audit"]["runtime_code_hash"]
        nonce = int(deployed["tx"]["nonce"])
        assert deployed["address"].lower() == "0x" + contract_address(bob, nonce).hex()
        code = rpc(live, "eth_getCode", [deployed["address"], "latest"])
        assert "0x" + keccak256(bytes.fromhex(code[2:])).hex() == deployed["code_hash"]

        # A reentrancy bug: recorded, refused with the finding shown, deployed after a waiver.
        flagged = cli(live, "contract", "submit-audit", REENTRANCY, "--contract", "Flagged",
                      "--from", "alice", "--no-slither")  # fmt: skip
        assert flagged["audit"]["has_high"] is True
        code_hash = flagged["audit"]["runtime_code_hash"]
        shown = human(live, "contract", "deploy", REENTRANCY, "--contract", "Flagged",
                      "--from", "bob", code=1)  # fmt: skip
        assert "[EVM_AUDIT_REFUSED]" in shown.stderr and "reentrancy:" in shown.stderr
        assert "waive_finding" in shown.stderr and code_hash in shown.stderr
        waiver = {"code_hash": code_hash, "check": "reentrancy", "reason": "pull payments only"}
        governance_passes(live, "waive_finding", waiver)
        key = "0x" + waiver_key(bytes.fromhex(code_hash[2:]), "reentrancy").hex()
        assert cli(live, "query", "state", key)["verified"] is True
        shown = human(live, "contract", "deploy", REENTRANCY, "--contract", "Flagged",
                      "--from", "bob")  # fmt: skip
        assert "deployed Flagged at 0x" in shown.stdout

        # Constructor arguments, ABI-encoded from JSON.
        cli(live, "contract", "submit-audit", TOKEN_SOL, "--from", "alice", "--no-slither")
        token = cli(live, "contract", "deploy", TOKEN_SOL, "--from", "bob",
                    "--args-json", '["Consortia Yuan", "CNYT", "1000000"]')  # fmt: skip
        supply = rpc(live, "eth_call", [{"to": token["address"], "data": "0x18160ddd"}, "latest"])
        assert int(supply, 16) == 1_000_000
        name = rpc(live, "eth_call", [{"to": token["address"], "data": "0x06fdde03"}, "latest"])
        assert abi_decode(["string"], bytes.fromhex(name[2:])) == ("Consortia Yuan",)

        # audited_and_approved: the audited code also needs an approve_contract decision.
        stricter = {"parameter": "contract_deployment", "text": "audited_and_approved"}
        governance_passes(live, "set_policy", stricter)
        again = cli(live, "contract", "deploy", TOKEN_SOL, "--from", "bob",
                    "--args-json", '["Second", "TWO", 5]', code=1)  # fmt: skip
        assert again["receipt"]["status"] == "EVM_APPROVAL_REQUIRED"
        governance_passes(live, "approve_contract", {"code_hash": token["code_hash"]})
        approved = cli(live, "contract", "deploy", TOKEN_SOL, "--from", "bob",
                       "--args-json", '["Second", "TWO", 5]')  # fmt: skip
        assert approved["receipt"]["status"] == "OK" and approved["address"] != token["address"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--args-json", "[1]"], "takes 3 argument(s)"),
        (["--args-json", '{"supply": 1}'], "JSON array"),
        (["--args-json", '["a", "b", "lots"]'], "invalid literal"),
        (["--contract", "Nope"], "no contract 'Nope'"),
    ],
)
def test_deploy_checks_its_input_before_sending(args: list[str], message: str) -> None:
    result = runner.invoke(
        app,
        ["contract", "deploy", TOKEN_SOL, "--from", "bob", "--node", "http://127.0.0.1:9", *args],
    )
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert message in result.stderr


def test_a_file_with_several_contracts_needs_contract() -> None:
    result = runner.invoke(
        app, ["contract", "submit-audit", REENTRANCY, "--from", "alice", "--node", "http://x"]
    )
    assert result.exit_code == 2 and "Flagged, Safe" in result.stderr


def test_constructor_arguments_encoding() -> None:
    abi = [
        {
            "type": "constructor",
            "inputs": [
                {"name": "owners", "type": "address[]"},
                {"name": "salt", "type": "bytes32"},
                {
                    "name": "limits",
                    "type": "tuple",
                    "components": [
                        {"name": "daily", "type": "uint64"},
                        {"name": "flag", "type": "bool"},
                    ],
                },
            ],
        }
    ]
    owner = "0x" + "11" * 20
    encoded = encode_constructor_args(
        abi, [[owner], "0x" + "ab" * 32, {"daily": "0x10", "flag": True}]
    )
    decoded = abi_decode(["address[]", "bytes32", "(uint64,bool)"], encoded)
    assert decoded == ((owner,), bytes.fromhex("ab" * 32), (16, True))
    assert encode_constructor_args([], []) == b""
    with pytest.raises(ValueError, match="expected an integer"):
        encode_constructor_args(abi, [[owner], "0x" + "ab" * 32, [1.5, True]])
