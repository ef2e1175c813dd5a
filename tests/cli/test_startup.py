"""The CLI starts at once: no py-evm, no web server loaded unless a command runs them.

Importing ``consortia.cli.main`` used to import py-evm (``eth``, about 1.1 s) through
``genesis`` → ``evm.module`` and the node assembly, so every command, ``--help``
included, waited about 2 s (issue #17). Each test runs a fresh interpreter and
checks which modules it loaded; wall-clock times are too noisy to assert
(docs/performance.md has the measurements).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.node import InProcessNode

from consortia.recursion import RECURSION_LIMIT

HEAVY = ("eth", "eth_utils", "fastapi", "uvicorn", "starlette", "web3")
"""py-evm and its helpers, the API server: what only the node, ``verify`` and contracts need."""

CREATOR = "consortia.node.init"
"""Creates networks (keys, certificates, charter, genesis): ``init`` needs it, a query does not."""

EXE = Path(sys.executable).parent / "consortia"

PROBE = f"""
import json, sys
from consortia.cli.main import app
code = 0
try:
    app(args=sys.argv[2:], prog_name="consortia")
except SystemExit as exit:
    code = exit.code
with open(sys.argv[1], "w") as out:
    json.dump({{"code": code, "recursion_limit": sys.getrecursionlimit(),
               "loaded": sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r}),
               "creator": {CREATOR!r} in sys.modules}}, out)
"""


def probe(tmp_path: Path, *args: str) -> dict[str, Any]:
    """Run the CLI with ``args`` in a fresh interpreter; its exit code and heavy modules."""
    report = tmp_path / "probe.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.exists(), done.stderr
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def test_importing_the_cli_loads_neither_py_evm_nor_the_api_server() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, consortia.cli.main; "
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(done.stdout) == []


def test_help_completes_without_loading_py_evm(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(EXE), "--help"], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    for group in ("query", "tx", "contract", "devnet", "verify"):
        assert group in done.stdout
    assert probe(tmp_path, "--help") == {
        "code": 0,
        "loaded": [],
        "creator": False,
        "recursion_limit": RECURSION_LIMIT,
    }


def test_query_commands_against_a_live_node_load_no_py_evm(
    live: InProcessNode, tmp_path: Path
) -> None:
    """They find the node in ``network.json`` without the network creator, and load no py-evm."""
    home = ["--home", str(live.root), "--json"]
    for command in (
        ["query", "status"],
        ["query", "block", "0"],
        ["query", "account", "alice"],
        ["asset", "balance", "alice"],
    ):
        assert probe(tmp_path, *command, *home) == {
            "code": 0,
            "loaded": [],
            "creator": False,
            "recursion_limit": RECURSION_LIMIT,
        }, command


def test_a_command_that_loads_py_evm_keeps_the_pinned_recursion_limit(tmp_path: Path) -> None:
    """``verify`` imports py-evm (so py_ecc) inside the command: the limit stays pinned."""
    result = probe(tmp_path, "verify", "--export", str(tmp_path / "missing.export"))
    assert result["code"] == 2
    assert "eth" in result["loaded"]
    assert result["recursion_limit"] == RECURSION_LIMIT
