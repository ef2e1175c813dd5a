"""Key changes through the SDK and the CLI of a live in-process node ([ACCT-OWNKEYS.1],
[GOV-RECOVER.1]).

The node's default charter: org1 with admin ``org1-admin``, the only governor
(weight 1), so one yes vote executes a proposal.
"""

from __future__ import annotations

import json

from tests.governance.helpers import run_cli as run
from tests.support.node import InProcessNode

from consortia.crypto import KeyType, PrivateKey
from consortia.sdk import Client, Signer


def test_rotation_by_sdk_then_recovery_by_cli(live: InProcessNode) -> None:
    alice = live.key("alice")
    alice_hex = "0x" + alice.public_key().address().hex()
    rotated = PrivateKey.from_secret(KeyType.P256, (7_001).to_bytes(32, "big"))
    recovered = PrivateKey.from_secret(KeyType.SM2, (7_002).to_bytes(32, "big"))

    with Client(live.url) as client:
        record = client.set_keys(
            Signer(alice), [(rotated.key_type.value, rotated.public_key().to_bytes())]
        )
        assert record.receipt is not None and record.receipt.status == "OK"
        keys = client.account(alice.public_key().address()).keys
        assert [(k.key_type, k.public_key) for k in keys] == [
            ("p256", "0x" + rotated.public_key().to_bytes().hex())
        ]

    # The rotated key is lost: the committee replaces it ([GOV-RECOVER.1]).
    new_key = {"key_type": "sm2", "public_key": "0x" + recovered.public_key().to_bytes().hex()}
    payload = json.dumps({"address": alice_hex, "keys": [new_key], "reason": "token lost"})
    made = run(live, "gov", "propose", "recover_account", "--payload-json", payload,
               "--from", "org1-admin", "--blocks", "500")  # fmt: skip
    assert made["receipt"]["status"] == "OK"
    pid = made["receipt"]["events"][-1]["attributes"]["id"]
    voted = run(live, "gov", "vote", pid, "yes", "--from", "org1-admin")
    names = [e["name"] for e in voted["receipt"]["events"]]
    assert names == ["vote_cast", "account_recovered", "proposal_executed"]
    shown = run(live, "gov", "show", pid)
    assert shown["status"] == "executed"
    assert shown["payload_decoded"]["reason"] == "token lost"
    account = run(live, "query", "account", alice_hex)
    assert account["keys"] == [{**new_key, "weight": 1}] and account["threshold"] == 1
