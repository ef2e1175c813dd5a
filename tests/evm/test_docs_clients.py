"""The web3.py and ethers.js examples of docs/contracts.md ("Deploying") run as written
against a live node (only the node URL, the source path and the artifact are supplied)."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.evm.test_ethers import run_node
from tests.support.node import InProcessNode, node_in_thread

from consortia.evm.compiler import compile_file
from consortia.execution.policy import ChainPolicy

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "contracts.md"
TOKEN = Path(__file__).parent / "contracts" / "token.vy"
DOC_URL = "http://127.0.0.1:8545/rpc"


def snippet(heading: str, language: str) -> str:
    """The first ``language`` code block after ``heading`` in docs/contracts.md."""
    text = DOC.read_text()
    start = text.index(heading)
    found = re.search(rf"```{language}\n(.*?)```", text[start:], re.DOTALL)
    assert found is not None, f"no {language} block after {heading!r}"
    return found.group(1)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    open_policy = ChainPolicy(contract_deployment="open")
    with node_in_thread(tmp_path_factory.mktemp("net") / "net", policy=open_policy) as running:
        yield running


def test_web3_example(node: InProcessNode) -> None:
    code = snippet("### From web3.py", "python")
    assert DOC_URL in code and 'Path("token.vy")' in code
    code = code.replace(DOC_URL, f"{node.url}/rpc").replace('"token.vy"', repr(str(TOKEN)))
    printed = io.StringIO()
    namespace: dict[str, object] = {"__name__": "docs_example"}
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(DOC), "exec"), namespace)
    assert "insufficient balance" in printed.getvalue()
    assert len(namespace["logs"]) == 1  # type: ignore[arg-type]


def test_ethers_example(node: InProcessNode) -> None:
    code = snippet("### From ethers.js", "js")
    assert DOC_URL in code
    (token,) = compile_file(TOKEN)
    prelude = (
        f'const abi = {json.dumps(token.abi)};\nconst bytecode = "0x{token.bytecode.hex()}";\n'
    )
    script = prelude + code.replace(DOC_URL, f"{node.url}/rpc") + "provider.destroy();\n"
    # From stdin, node resolves "ethers" from the working directory's node_modules.
    printed = run_node(["--input-type=module"], stdin=script)
    assert printed.split("\n")[:3] == [
        "1250n",
        "[ 1250n ]",
        "CALL_EXCEPTION insufficient balance",
    ]
