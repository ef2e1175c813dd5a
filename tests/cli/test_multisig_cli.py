"""``consortia multisig`` end to end against a live node: set a 2-of-3, refuse one
signature, collect two signatures offline in a file, submit, and rotate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.support.node import InProcessNode
from typer.testing import CliRunner

from consortia.cli.main import app

pytestmark = pytest.mark.slow
runner = CliRunner()


def run(live: InProcessNode, ring: Path, *args: str, code: int = 0) -> Any:
    """``consortia ARGS --home <live> --keyring <ring> --json``; its JSON document."""
    result = runner.invoke(app, [*args, "--home", str(live.root), "--keyring", str(ring), "--json"])
    assert result.exit_code == code, (result.stdout, result.stderr)
    if code != 0:
        assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    return json.loads(result.stdout)


def offline(*args: str, code: int = 0) -> Any:
    """A command that takes neither --home nor a node (``show``)."""
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_multisig_commands(live: InProcessNode, tmp_path: Path) -> None:
    ring = tmp_path / "ring"
    for name, key_type in (("m1", "sm2"), ("m2", "p256"), ("m3", "secp256k1"), ("n1", "sm2")):
        run(live, ring, "keys", "new", name, "--type", key_type)
    alice = str(live.root / "keys" / "alice.pem")
    wallet = run(live, ring, "keys", "show", "m1")["address"]
    payee = run(live, ring, "keys", "show", "n1")["address"]
    create = {
        "symbol": "MCL",
        "name": "m",
        "decimals": 0,
        "supply_rule": "unlimited",
        "max_supply": 0,
        "burnable": True,
    }
    run(
        live,
        ring,
        "tx",
        "send",
        "--module",
        "assets",
        "--method",
        "create",
        "--args-json",
        json.dumps(create),
        "--from",
        alice,
    )
    issue = {"symbol": "MCL", "to": wallet, "amount": 50}
    run(
        live,
        ring,
        "tx",
        "send",
        "--module",
        "assets",
        "--method",
        "issue",
        "--args-json",
        json.dumps(issue),
        "--from",
        alice,
    )

    done = run(
        live,
        ring,
        "multisig",
        "set",
        "m1",
        "--key",
        "m1:1",
        "--key",
        "m2:1",
        "--key",
        "m3",
        "--threshold",
        "2",
        "--sign",
        "m1",
    )
    assert done["receipt"]["status"] == "OK"
    account = run(live, ring, "query", "account", "m1")
    assert account["threshold"] == 2 and [k["weight"] for k in account["keys"]] == [1, 1, 1]

    transfer = json.dumps({"symbol": "MCL", "to": payee, "amount": 7})
    refused = run(
        live,
        ring,
        "multisig",
        "send",
        "m1",
        "--module",
        "assets",
        "--method",
        "transfer",
        "--args-json",
        transfer,
        "--sign",
        "m2",
        code=4,
    )
    assert refused["error"]["code"] == "TX_BELOW_THRESHOLD"

    pending = tmp_path / "transfer.json"
    prepared = run(
        live,
        ring,
        "multisig",
        "prepare",
        "m1",
        "--module",
        "assets",
        "--method",
        "transfer",
        "--args-json",
        transfer,
        "--out",
        str(pending),
    )
    assert prepared["signers"] == [] and prepared["sender"] == wallet
    run(live, ring, "multisig", "sign", str(pending), "--key", "m2")
    again = run(live, ring, "multisig", "sign", str(pending), "--key", "m2", code=2)
    assert again["error"]["code"] == "CLI_ALREADY_SIGNED"
    run(live, ring, "multisig", "sign", str(pending), "--key", "m3")
    shown = offline("multisig", "show", str(pending))
    assert len(shown["signers"]) == 2 and shown["call"] == "assets.transfer"
    submitted = run(live, ring, "multisig", "submit", str(pending))
    assert submitted["receipt"]["status"] == "OK" and submitted["tx"]["key_type"] == "multisig"
    balances = run(live, ring, "query", "account", payee)["balances"]
    assert balances == [{"symbol": "MCL", "amount": 7}]

    rotated = run(
        live,
        ring,
        "multisig",
        "set",
        "m1",
        "--key",
        "n1:2",
        "--threshold",
        "2",
        "--sign",
        "m1",
        "--sign",
        "m3",
    )
    assert rotated["receipt"]["status"] == "OK"
    old = run(
        live,
        ring,
        "multisig",
        "send",
        "m1",
        "--module",
        "assets",
        "--method",
        "transfer",
        "--args-json",
        transfer,
        "--sign",
        "m1",
        "--sign",
        "m2",
        code=4,
    )
    assert old["error"]["code"] == "TX_SIGNER_NOT_IN_SET"
    sent = run(
        live,
        ring,
        "multisig",
        "send",
        "m1",
        "--module",
        "assets",
        "--method",
        "transfer",
        "--args-json",
        transfer,
        "--sign",
        "n1",
    )
    assert sent["receipt"]["status"] == "OK"

    bad = run(
        live,
        ring,
        "multisig",
        "set",
        "m1",
        "--key",
        "n1:0",
        "--threshold",
        "1",
        "--sign",
        "n1",
        code=1,
    )
    assert bad["receipt"]["status"] == "ACCOUNTS_WEIGHT_ZERO"
