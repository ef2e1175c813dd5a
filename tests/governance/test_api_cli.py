"""A proposal run to execution through the CLI and the REST API of a live in-process node.

The node's default charter: org1 with admin ``org1-admin``, the only governor
(weight 1), so one yes vote crosses 2/3 and 2/3.
"""

from __future__ import annotations

import json

import httpx
from tests.governance.helpers import run_cli as run
from tests.support.node import InProcessNode


def test_freeze_proposal_through_cli_and_api(live: InProcessNode) -> None:
    admin = live.key("org1-admin").public_key().address()
    alice = "0x" + live.key("alice").public_key().address().hex()

    orgs = run(live, "org", "list")
    assert [o["name"] for o in orgs["organisations"]] == ["org1"]
    assert orgs["committee"] == [{"address": "0x" + admin.hex(), "weight": 1}]
    assert run(live, "org", "show", "org1")["admins"] == ["0x" + admin.hex()]
    assert run(live, "role", "show", "org1-admin")["roles"] == ["governor", "org_admin"]
    assert run(live, "role", "show", "alice")["roles"] == []
    rules = run(live, "role", "list")["permissions"]
    assert {"module": "governance", "method": "vote", "roles": ["governor"]} in rules

    payload = json.dumps({"address": alice})
    made = run(live, "gov", "propose", "freeze_account", "--payload-json", payload,
               "--from", "org1-admin", "--blocks", "500")  # fmt: skip
    assert made["receipt"]["status"] == "OK"
    created = made["receipt"]["events"][-1]
    assert created["name"] == "proposal_created" and created["attributes"]["id"] == "1"

    # Refused at admission ([MEMPOOL-ADMIT.2]): exit 4, "rejected by the node".
    denied = run(live, "gov", "vote", "1", "yes", "--from", "alice", code=4)
    assert denied["error"]["code"] == "TX_PERMISSION_DENIED"
    assert run(live, "gov", "show", "1")["status"] == "open"

    voted = run(live, "gov", "vote", "1", "yes", "--from", "org1-admin")
    assert [e["name"] for e in voted["receipt"]["events"]] == ["vote_cast", "proposal_executed"]

    shown = run(live, "gov", "show", "1")
    assert shown["status"] == "executed"
    assert shown["payload_decoded"] == {"address": alice}
    assert [h["action"] for h in shown["history"]] == ["proposed", "voted", "executed"]
    assert shown["tally"]["yes"] == 1 and shown["tally"]["total"] == 1
    assert [p["id"] for p in run(live, "gov", "list")["proposals"]] == [1]
    assert run(live, "gov", "list", "--status", "open")["proposals"] == []
    assert run(live, "query", "account", "alice")["frozen"] is True

    api = httpx.get(f"{live.url}/v1/governance/proposals/1", timeout=5).json()
    assert api["status"] == "executed" and api["votes"][0]["weight"] == 1
    missing = httpx.get(f"{live.url}/v1/governance/proposals/99", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "GOV_PROPOSAL_NOT_FOUND"
    roles = httpx.get(f"{live.url}/v1/governance/roles/{admin.hex()}", timeout=5).json()
    assert roles["organisation"] == "org1" and roles["weight"] == 1
    assert httpx.get(f"{live.url}/v1/governance/organisations", timeout=5).status_code == 200
    assert run(live, "gov", "show", "99", code=4)["error"]["code"] == "GOV_PROPOSAL_NOT_FOUND"
