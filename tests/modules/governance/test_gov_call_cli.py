"""``consortia gov call`` proposes a module call on a live node ([EXT-GOV-CALL.1]).

The live node runs the built-in modules, none of which declares a
governance-only method: the chain checks the proposal and refuses it with
``GOV_NOT_GOVERNANCE_METHOD``, which shows the CLI built a well-formed
``call_module`` payload (its arguments from JSON or hex) and the node
validated it against the modules in force.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.governance.helpers import run_cli as run
from tests.support.node import InProcessNode, node_in_thread

from consortia.codec import encode
from consortia.modules.assets.types import Transfer


@pytest.fixture
def live(tmp_path: Path) -> Iterator[InProcessNode]:
    with node_in_thread(tmp_path / "net") as node:
        yield node


def test_gov_call_reaches_the_chains_check(live: InProcessNode) -> None:
    alice = live.key("alice").public_key().address()
    args = json.dumps({"to": "0x" + alice.hex(), "symbol": "CNY", "amount": 1})
    made = run(live, "gov", "call", "assets", "transfer", "--args-json", args,
               "--from", "org1-admin", code=1)  # fmt: skip
    receipt = made["receipt"]
    assert receipt["status"] == "GOV_NOT_GOVERNANCE_METHOD"
    assert receipt["message"] == (
        "call_module.method: assets.transfer is not declared governance-callable "
        "(the module's governance methods: none)"
    )
    raw = encode(Transfer(to=alice, symbol="CNY", amount=1)).hex()
    again = run(live, "gov", "call", "assets", "transfer", "--args-hex", raw,
                "--from", "org1-admin", code=1)  # fmt: skip
    assert again["receipt"]["message"] == receipt["message"]
    both = run(live, "gov", "call", "assets", "transfer", "--args-hex", raw, "--args-json", args,
               "--from", "org1-admin", code=2)  # fmt: skip
    assert both["error"]["code"] == "CLI_BAD_ARGS"
    unknown = run(live, "gov", "call", "limits", "set_limit", "--args-json", "{}",
                  "--from", "org1-admin", code=2)  # fmt: skip
    assert unknown["error"]["code"] == "TX_UNKNOWN_METHOD"
    assert unknown["error"]["message"] == (
        "limits.set_limit: no module 'limits' on this chain "
        "(its modules: accounts, assets, evm, governance)"
    )
