"""REST API against a real node: submissions per key type, reads, rejections, proofs, OpenAPI."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx
import pytest
from tests.support.node import InProcessNode, signed_tx

from consortia.crypto import KeyType, PrivateKey
from consortia.modules.assets.types import Create, Issue, SupplyRule, Transfer
from consortia.sdk import StateJson, verify_state_record

pytestmark = pytest.mark.slow
_symbols = itertools.count()


def post(live: InProcessNode, raw: bytes, wait: float | None = 10) -> httpx.Response:
    params = {} if wait is None else {"wait": wait}
    return httpx.post(f"{live.url}/v1/transactions", json={"tx": raw.hex()}, params=params)


def nonce_of(live: InProcessNode, key: PrivateKey) -> int:
    address = key.public_key().address().hex()
    return int(httpx.get(f"{live.url}/v1/accounts/0x{address}").json()["nonce"])


def settle(live: InProcessNode, key: PrivateKey, next_nonce: int) -> None:
    """Wait until ``key``'s transactions up to ``next_nonce`` have executed, so the
    next test on this module's node reads the nonce it will be admitted with."""
    deadline = time.monotonic() + 10
    while nonce_of(live, key) < next_nonce:
        assert time.monotonic() < deadline, f"nonce {next_nonce} not reached in 10 s"
        time.sleep(0.02)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}
    return dict(body["error"])


@pytest.mark.parametrize("key_type", [KeyType.SM2, KeyType.P256, KeyType.SECP256K1])
def test_new_account_of_each_key_type_commits(live: InProcessNode, key_type: KeyType) -> None:
    key = PrivateKey.generate(key_type)
    symbol = f"K{next(_symbols)}"
    create = Create(symbol, "test", 2, SupplyRule.UNLIMITED, 0)
    response = post(live, signed_tx(key, 0, "assets", "create", create))
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["status"] == "committed"
    assert record["receipt"]["status"] == "OK"
    assert record["tx"]["key_type"] == key_type.value
    assert record["tx"]["args_decoded"]["symbol"] == symbol
    assert record["tx"]["sender"] == "0x" + key.public_key().address().hex()
    again = httpx.get(f"{live.url}/v1/transactions/{record['tx_id']}").json()
    assert again == record
    account = httpx.get(f"{live.url}/v1/accounts/{record['tx']['sender']}").json()
    assert account["exists"] and account["nonce"] == 1
    assert account["keys"][0]["key_type"] == key_type.value
    assert record["tx_id"] in account["recent_transactions"]


def test_submit_without_wait_is_pending_then_committed(live: InProcessNode) -> None:
    alice = live.key("alice")
    symbol = f"P{next(_symbols)}"
    nonce = nonce_of(live, alice)
    raw = signed_tx(
        alice,
        nonce,
        "assets",
        "create",
        Create(symbol, "p", 0, SupplyRule.UNLIMITED, 0),
    )
    response = post(live, raw, wait=None)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending" and body["tx_id"].startswith("0x")
    committed = post(live, raw, wait=None)
    assert error_of(committed)["code"] == "TX_DUPLICATE" or committed.status_code == 400
    record = httpx.get(f"{live.url}/v1/transactions/{body['tx_id']}").json()
    assert record["status"] in ("pending", "committed")
    settle(live, alice, nonce + 1)


def test_blocks_assets_status(live: InProcessNode) -> None:
    latest = httpx.get(f"{live.url}/v1/blocks/latest").json()
    assert latest["height"] >= 0 and latest["id"].startswith("0x")
    by_height = httpx.get(f"{live.url}/v1/blocks/{latest['height']}").json()
    assert by_height == latest
    by_id = httpx.get(f"{live.url}/v1/blocks/by-id/{latest['id'][2:]}").json()
    assert by_id == latest
    assert set(latest["header"]["justify"]) == {
        "epoch",
        "round",
        "height",
        "block_id",
        "signers",
        "signatures",
    }
    raw = httpx.get(f"{live.url}/v1/blocks/0/raw").json()
    assert raw["block"].startswith("0x")
    assert httpx.get(f"{live.url}/v1/genesis/raw").json()["genesis"].startswith("0x")
    status = httpx.get(f"{live.url}/v1/status").json()
    assert status["chain_id"] == "consortia-devnet" and status["suite"] == "sm"
    assert status["dropped_gossip"] == 0 and status["dropped_messages"] == 0
    missing = httpx.get(f"{live.url}/v1/assets/NOPE")
    assert missing.status_code == 404 and error_of(missing)["code"] == "ASSET_NOT_FOUND"
    no_block = httpx.get(f"{live.url}/v1/blocks/999999999")
    assert no_block.status_code == 404 and error_of(no_block)["code"] == "LEDGER_BLOCK_NOT_FOUND"
    no_tx = httpx.get(f"{live.url}/v1/transactions/0x{'00' * 32}")
    assert no_tx.status_code == 404 and error_of(no_tx)["code"] == "LEDGER_TX_NOT_FOUND"


def test_admission_rejections_keep_their_codes(live: InProcessNode) -> None:
    alice = live.key("alice")
    symbol = f"R{next(_symbols)}"
    nonce = nonce_of(live, alice)
    create = Create(symbol, "r", 0, SupplyRule.UNLIMITED, 0)
    good = signed_tx(alice, nonce, "assets", "create", create)
    assert post(live, good).json()["receipt"]["status"] == "OK"
    issue = Issue(symbol, alice.public_key().address(), 5)
    stranger = PrivateKey.generate(KeyType.P256)
    held = signed_tx(stranger, 3, "assets", "issue", issue)  # a nonce gap: stays pending
    assert post(live, held, wait=None).status_code == 202
    cases = {
        "TX_STALE_NONCE": signed_tx(alice, nonce, "assets", "issue", issue),
        "TX_DUPLICATE": held,
        "TX_WRONG_CHAIN": signed_tx(alice, nonce + 1, "assets", "issue", issue, chain_id="other"),
        "TX_EXPIRED": signed_tx(alice, nonce + 1, "assets", "issue", issue, expiry_height=0),
        "TX_BAD_SIGNATURE": _tamper_signature(
            signed_tx(alice, nonce + 1, "assets", "issue", issue)
        ),
        "CODEC_MALFORMED": b"\x01\x02",
    }
    seen = {}
    for code, raw in cases.items():
        response = post(live, raw, wait=None)
        seen[code] = (response.status_code, error_of(response)["code"])
    assert {k: v[1] for k, v in seen.items()} == {k: k for k in cases}, seen
    assert seen["TX_DUPLICATE"][0] == 409
    big = Transfer(symbol, b"\x01" * 20, 1)
    oversized = signed_tx(alice, nonce + 1, "assets", "transfer", big)
    huge = oversized + b"\x00" * (300 * 1024)
    response = post(live, huge, wait=None)
    assert response.status_code == 413 and error_of(response)["code"] == "API_BODY_TOO_LARGE"
    trailing = post(live, oversized + b"\x00", wait=None)
    assert error_of(trailing)["code"] in ("CODEC_MALFORMED", "CODEC_NON_CANONICAL")


def _tamper_signature(raw: bytes) -> bytes:
    from consortia.codec import decode, encode
    from consortia.ledger.types import Transaction

    tx = decode(raw, Transaction)
    other = PrivateKey.generate(KeyType.SM2).sign(b"something else")
    return encode(
        Transaction(body=tx.body, key_type=tx.key_type, public_key=tx.public_key, signature=other)
    )


def test_batch_mixes_results_in_order(live: InProcessNode) -> None:
    alice = live.key("alice")
    symbol = f"B{next(_symbols)}"
    nonce = nonce_of(live, alice)
    raws = [
        signed_tx(
            alice, nonce, "assets", "create", Create(symbol, "b", 0, SupplyRule.UNLIMITED, 0)
        ).hex(),
        "zz",
        "0x0102",
        signed_tx(
            alice, nonce + 1, "assets", "issue", Issue(symbol, alice.public_key().address(), 9)
        ).hex(),
    ]
    response = httpx.post(f"{live.url}/v1/transactions/batch", json={"txs": raws})
    assert response.status_code == 200
    results = response.json()["results"]
    assert "tx_id" in results[0] and "tx_id" in results[3]
    assert results[1]["error"]["code"] == "API_BAD_HEX"
    assert results[2]["error"]["code"] == "CODEC_MALFORMED"
    settle(live, alice, nonce + 2)
    too_many = httpx.post(f"{live.url}/v1/transactions/batch", json={"txs": ["00"] * 10_001})
    assert too_many.status_code == 400 and error_of(too_many)["code"] == "API_BAD_REQUEST"


def test_state_proof_verifies_offline_and_tamper_fails(live: InProcessNode) -> None:
    alice = live.key("alice")
    key = b"accounts/" + alice.public_key().address()
    response = httpx.get(f"{live.url}/v1/state/{key.hex()}")
    assert response.status_code == 200
    import msgspec

    record = msgspec.json.decode(response.content, type=StateJson)
    assert record.value is not None
    assert verify_state_record(record, "sm")
    absent = msgspec.json.decode(httpx.get(f"{live.url}/v1/state/0x00ff").content, type=StateJson)
    assert absent.value is None and verify_state_record(absent, "sm")
    assert not verify_state_record(msgspec.structs.replace(record, value="0x00"), "sm")
    proof = bytearray(bytes.fromhex(record.proof[2:]))
    proof[-1] ^= 1
    assert not verify_state_record(msgspec.structs.replace(record, proof="0x" + proof.hex()), "sm")
    assert not verify_state_record(
        msgspec.structs.replace(record, version=record.version + 1), "sm"
    )
    assert not verify_state_record(record, "intl")


def test_errors_have_codes(live: InProcessNode) -> None:
    cases = [
        ("GET", "/v1/nope", 404, "API_NOT_FOUND"),
        ("DELETE", "/v1/status", 405, "API_METHOD_NOT_ALLOWED"),
        ("GET", "/v1/blocks/abc", 400, "API_BAD_REQUEST"),
        ("GET", "/v1/blocks/-1", 400, "API_BAD_REQUEST"),
        ("GET", "/v1/transactions/xyz", 400, "API_BAD_HEX"),
        ("GET", "/v1/accounts/0x1234", 400, "API_BAD_REQUEST"),
        ("GET", "/v1/state/0x00?version=-3", 400, "API_BAD_REQUEST"),
        ("GET", "/v1/state/0x00?version=99999999", 404, "LEDGER_BLOCK_NOT_FOUND"),
    ]
    for method, path, status, code in cases:
        response = httpx.request(method, live.url + path)
        assert (response.status_code, error_of(response)["code"]) == (status, code), path
    bad = httpx.post(f"{live.url}/v1/transactions", json={"tx": 7})
    assert bad.status_code == 400
    assert "$.tx" in error_of(bad)["message"]
    wait = httpx.post(f"{live.url}/v1/transactions?wait=61", json={"tx": "00"})
    assert "wait" in error_of(wait)["message"]


def test_streamed_body_over_limit_is_refused(live: InProcessNode) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 8192

    response = httpx.post(f"{live.url}/v1/status", content=chunks())
    assert response.status_code in (405, 413)
    response = httpx.post(f"{live.url}/v1/transactions", content=chunks())
    assert response.status_code == 413 and error_of(response)["code"] == "API_BODY_TOO_LARGE"


def test_openapi_documents_every_route_and_error(live: InProcessNode) -> None:
    doc = httpx.get(f"{live.url}/openapi.json").json()
    assert doc["info"]["title"] == "Consortia node API"
    paths = doc["paths"]
    for path in (
        "/v1/transactions",
        "/v1/transactions/batch",
        "/v1/transactions/{tx_id}",
        "/v1/blocks/latest",
        "/v1/blocks/{height}",
        "/v1/blocks/by-id/{block_id}",
        "/v1/accounts/{address}",
        "/v1/assets/{symbol}",
        "/v1/state/{key}",
        "/v1/status",
    ):
        assert path in paths, path
        for operation in paths[path].values():
            assert operation.get("summary")
            assert "500" in operation["responses"] and "422" not in operation["responses"]
    assert "ErrorResponse" in doc["components"]["schemas"]
    assert "TX_BAD_SIGNATURE" in str(paths["/v1/transactions"])
