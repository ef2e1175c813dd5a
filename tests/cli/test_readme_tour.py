"""The README's five-minute tour, command for command, through the installed ``consortia``
executable against a real node process (the network directory is ``./.devnet``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.network import live_network

from consortia.crypto import PrivateKey
from consortia.modules.assets.types import balance_key

pytestmark = pytest.mark.slow

EXE = Path(sys.executable).parent / "consortia"


def test_readme_tour_as_written(tmp_path: Path) -> None:
    with live_network(tmp_path) as net:
        cwd = tmp_path / "tour"
        cwd.mkdir()
        (cwd / ".devnet").symlink_to(net.root)
        net.wait_height(0, 1)

        def run(*args: str) -> str:
            done = subprocess.run(
                [str(EXE), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
            )
            assert done.returncode == 0, (args, done.stdout, done.stderr)
            return done.stdout

        assert net.names[0] in run("devnet", "status")
        keys = run("keys", "list")
        assert "alice" in keys
        assert "bob" in keys
        run(
            "asset", "create", "CNY", "--name", "Digital yuan", "--decimals", "2",
            "--supply-rule", "capped", "--max-supply", "1000000000", "--from", "alice",
        )  # fmt: skip
        run("asset", "issue", "CNY", "--to", "alice", "--amount", "10000.00", "--from", "alice")
        run("asset", "transfer", "CNY", "--to", "bob", "--amount", "12.50", "--from", "alice")
        assert "12.50" in run("asset", "balance", "bob")
        assert "CNY" in run("asset", "show", "CNY")
        run("query", "block", "latest")
        account = json.loads(run("query", "account", "bob", "--json"))
        assert {"symbol": "CNY", "amount": 1250} in account["balances"]
        bob = PrivateKey.from_pem((net.root / "keys" / "bob.pem").read_bytes())
        key = balance_key(bob.public_key().address(), "CNY").hex()
        assert "VERIFIED" in run("query", "state", key)
        run("crypto", "keygen", "--type", "sm2", "--out", "my.pem")
        assert (cwd / "my.pem").is_file()
        asset = json.loads(run("asset", "show", "CNY", "--json"))
        assert asset["max_supply"] == 1_000_000_000 * 100  # whole units on the command line
        assert asset["supply"] == 10_000 * 100
