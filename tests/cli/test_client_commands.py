"""Client commands through CliRunner and as a real subprocess against a live node."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.support.node import InProcessNode
from typer.testing import CliRunner

from consortia.cli.client_cmd import from_base_units, to_base_units
from consortia.cli.main import app

pytestmark = pytest.mark.slow
runner = CliRunner()


def run(live: InProcessNode, *args: str, code: int = 0) -> Any:
    """Run with --home at the live network and --json; returns the parsed document."""
    result = runner.invoke(app, [*args, "--home", str(live.root), "--json"])
    assert result.exit_code == code, (result.stdout, result.stderr)
    if code != 0:
        assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    return json.loads(result.stdout)


def test_keys(live: InProcessNode, tmp_path: Path) -> None:
    ring = ["--keyring", str(tmp_path / "ring")]
    made = run(live, "keys", "new", "k1", "--type", "secp256k1", *ring)
    assert made["key_type"] == "secp256k1" and made["address"].startswith("0x")
    assert run(live, "keys", "show", "k1", *ring) == made
    run(live, "keys", "import", "a2", str(live.root / "keys" / "alice.pem"), *ring)
    names = [k["name"] for k in run(live, "keys", "list", *ring)]
    assert names == ["a2", "k1"]
    assert run(live, "keys", "new", "k1", *ring, code=2)["error"]["code"] == "CLI_KEY_EXISTS"
    assert run(live, "keys", "show", "nope", *ring, code=2)["error"]["code"] == "CLI_NO_SUCH_KEY"
    default = run(live, "keys", "list")
    assert {k["name"] for k in default} == {"alice", "bob", "org1-admin"}  # init: org admin


def test_asset_flow_and_queries(live: InProcessNode) -> None:
    created = run(
        live,
        "asset",
        "create",
        "USD",
        "--name",
        "dollar",
        "--decimals",
        "2",
        "--supply-rule",
        "capped",
        "--max-supply",
        "1000000",
        "--from",
        "alice",
    )
    assert created["receipt"]["status"] == "OK"
    assert run(live, "asset", "show", "USD")["max_supply"] == 100_000_000
    run(live, "asset", "issue", "USD", "--to", "alice", "--amount", "100.25", "--from", "alice")
    bob_pem = str(live.root / "keys" / "bob.pem")
    sent = run(
        live, "asset", "transfer", "USD", "--to", bob_pem, "--amount", "12.50", "--from", "alice"
    )
    assert sent["tx"]["args_decoded"]["amount"] == 1250
    run(live, "asset", "burn", "USD", "--amount", "5", "--raw", "--from", "bob")
    balance = run(live, "asset", "balance", "bob", "USD")
    assert balance["balances"] == [
        {"symbol": "USD", "amount": "12.45", "base_units": 1245, "decimals": 2}
    ]
    too_precise = run(
        live,
        "asset",
        "transfer",
        "USD",
        "--to",
        "bob",
        "--amount",
        "0.001",
        "--from",
        "alice",
        code=2,
    )
    assert too_precise["error"]["code"] == "CLI_BAD_AMOUNT"
    failed = run(
        live,
        "asset",
        "transfer",
        "USD",
        "--to",
        "alice",
        "--amount",
        "999",
        "--from",
        "bob",
        code=1,
    )
    assert failed["receipt"]["status"] == "ASSET_INSUFFICIENT_BALANCE"
    rejected = run(
        live, "asset", "issue", "USD", "--to", "bob", "--amount", "1", "--from", "bob", code=1
    )
    assert rejected["receipt"]["status"] == "ASSET_NOT_ISSUER"
    assert run(live, "asset", "show", "NOPE", code=4)["error"]["code"] == "ASSET_NOT_FOUND"

    block = run(live, "query", "block", str(sent["height"]))
    assert sent["tx_id"] in block["transactions"]
    assert run(live, "query", "block")["height"] >= sent["height"]
    assert run(live, "query", "tx", sent["tx_id"])["status"] == "committed"
    account = run(live, "query", "account", "bob")
    assert account["exists"] is True
    assert run(live, "query", "status")["chain_id"] == "consortia-devnet"
    state = run(live, "query", "state", "0x" + b"assets/def/USD".hex())
    assert state["verified"] is True and state["value"] is not None
    assert run(live, "query", "state", "0x00ff")["verified"] is True  # absence proof
    assert (
        run(live, "query", "tx", "0x" + "00" * 32, code=4)["error"]["code"] == "LEDGER_TX_NOT_FOUND"
    )
    assert run(live, "query", "block", "abc", code=2)["error"]["code"] == "CLI_BAD_HEIGHT"
    assert run(live, "query", "state", "zz", code=2)["error"]["code"] == "CLI_BAD_HEX"


def test_generic_tx_send(live: InProcessNode) -> None:
    args = json.dumps(
        {
            "symbol": "GEN",
            "name": "generic",
            "decimals": 0,
            "supply_rule": "unlimited",
            "max_supply": 0,
        }
    )
    sent = run(
        live,
        "tx",
        "send",
        "--module",
        "assets",
        "--method",
        "create",
        "--args-json",
        args,
        "--from",
        "bob",
    )
    assert sent["receipt"]["status"] == "OK"
    bad = run(
        live,
        "tx",
        "send",
        "--module",
        "assets",
        "--method",
        "nope",
        "--args-json",
        "{}",
        "--from",
        "bob",
        code=2,
    )
    assert bad["error"]["code"] == "TX_UNKNOWN_METHOD"
    shape = run(
        live,
        "tx",
        "send",
        "--module",
        "assets",
        "--method",
        "create",
        "--args-json",
        '{"x": 1}',
        "--from",
        "bob",
        code=2,
    )
    assert shape["error"]["code"] == "CLI_BAD_ARGS"


def test_unreachable_node_exits_3(live: InProcessNode) -> None:
    result = runner.invoke(app, ["query", "status", "--node", "http://127.0.0.1:9"])
    assert result.exit_code == 3
    assert result.stderr.strip().endswith("[NODE_UNREACHABLE]")
    result = runner.invoke(app, ["query", "status", "--home", "/nonexistent"])
    assert result.exit_code == 2 and "error:" in result.stderr


def test_human_output(live: InProcessNode) -> None:
    result = runner.invoke(app, ["query", "status", "--home", str(live.root)])
    assert result.exit_code == 0 and "consortia-devnet" in result.stdout
    result = runner.invoke(app, ["query", "state", "0x00", "--home", str(live.root)])
    assert result.exit_code == 0 and "VERIFIED" in result.stdout


def test_amount_conversion_is_exact() -> None:
    assert to_base_units("12.50", 2) == 1250
    assert to_base_units("1", 18) == 10**18
    assert to_base_units("7", 2, raw=True) == 7
    assert from_base_units(1245, 2) == "12.45"
    assert from_base_units(5, 0) == "5"


def test_subprocess_asset_flow(live: InProcessNode, tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "consortia"
    base = ["--home", str(live.root), "--json"]

    def cli(*args: str, code: int = 0) -> Any:
        done = subprocess.run(
            [str(exe), *args, *base], check=False, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == code, done.stderr
        return json.loads(done.stdout)

    cli(
        "asset",
        "create",
        "SUB",
        "--name",
        "sub",
        "--decimals",
        "1",
        "--supply-rule",
        "unlimited",
        "--from",
        "alice",
    )
    cli("asset", "issue", "SUB", "--to", "alice", "--amount", "10.5", "--from", "alice")
    cli("asset", "transfer", "SUB", "--to", "bob", "--amount", "0.5", "--from", "alice")
    assert cli("asset", "balance", "bob", "SUB")["balances"][0]["base_units"] == 5
    assert cli("asset", "show", "NOPE", code=4)["error"]["code"] == "ASSET_NOT_FOUND"
