"""web3.py, used as any developer would, against a real node's JSON-RPC (issue #5).

Deploys an ERC-20 (Vyper), transfers, reads balances, waits for receipts,
filters logs by topic and block range and sees revert reasons; plus the
JSON-RPC error codes of malformed requests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import rlp
import vyper
from eth_account import Account
from eth_account.signers.local import LocalAccount
from tests.support.node import InProcessNode, node_in_thread
from trie.exceptions import BadTrieProof
from trie.hexary import HexaryTrie
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError
from websockets.asyncio.client import connect

from consortia.crypto import keccak256
from consortia.evm.context import evm_chain_id
from consortia.execution.policy import ChainPolicy

TOKEN = Path(__file__).parent / "contracts" / "token.vy"
SUPPLY = 1_000_000


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    # Client mechanics on an open chain; the audit gate has its own tests.
    open_policy = ChainPolicy(contract_deployment="open")
    with node_in_thread(tmp_path_factory.mktemp("net") / "net", policy=open_policy) as running:
        yield running


@pytest.fixture(scope="module")
def w3(node: InProcessNode) -> Web3:
    return Web3(Web3.HTTPProvider(f"{node.url}/rpc", request_kwargs={"timeout": 30}))


@pytest.fixture(scope="module")
def owner() -> LocalAccount:
    return Account.from_key(b"\x01" * 32)


def send(w3: Web3, account: LocalAccount, tx: dict[str, Any]) -> Any:
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.1)


@pytest.fixture(scope="module")
def token(w3: Web3, owner: LocalAccount) -> Any:
    compiled = vyper.compile_code(TOKEN.read_text(), output_formats=["abi", "bytecode"])
    factory = w3.eth.contract(abi=compiled["abi"], bytecode=compiled["bytecode"])
    tx = factory.constructor(SUPPLY).build_transaction(
        {"from": owner.address, "nonce": w3.eth.get_transaction_count(owner.address)}
    )
    receipt = send(w3, owner, tx)
    assert receipt.status == 1 and receipt.contractAddress
    return w3.eth.contract(address=receipt.contractAddress, abi=compiled["abi"])


def test_chain_identity(w3: Web3, node: InProcessNode) -> None:
    assert w3.eth.chain_id == evm_chain_id("consortia-devnet")
    assert w3.net.version == str(w3.eth.chain_id)
    assert w3.client_version.startswith("Consortia")
    latest = w3.eth.get_block("latest")
    assert latest.number == w3.eth.block_number or latest.number <= w3.eth.block_number
    assert w3.eth.gas_price == 0


def test_erc20_deploy_transfer_balances_and_events(
    w3: Web3, owner: LocalAccount, token: Any
) -> None:
    alice = Account.from_key(b"\x02" * 32)
    assert token.functions.balanceOf(owner.address).call() == SUPPLY
    assert token.functions.symbol().call() == "CNYT"
    tx = token.functions.transfer(alice.address, 1_250).build_transaction(
        {"from": owner.address, "nonce": w3.eth.get_transaction_count(owner.address)}
    )
    receipt = send(w3, owner, tx)
    assert receipt.status == 1
    (event,) = token.events.Transfer().process_receipt(receipt)
    assert (event.args.sender, event.args.receiver, event.args.value) == (
        owner.address,
        alice.address,
        1_250,
    )
    assert token.functions.balanceOf(alice.address).call() == 1_250
    assert token.functions.balanceOf(owner.address).call() == SUPPLY - 1_250
    # The transaction and its block, as Ethereum clients see them.
    fetched = w3.eth.get_transaction(receipt.transactionHash)
    assert fetched["from"] == owner.address and fetched["to"] == token.address
    block = w3.eth.get_block(receipt.blockNumber)
    assert receipt.transactionHash in block.transactions


def test_logs_filtered_by_topic_and_block_range(w3: Web3, owner: LocalAccount, token: Any) -> None:
    bob = Account.from_key(b"\x03" * 32)
    start = w3.eth.block_number
    receipt = send(
        w3,
        owner,
        token.functions.transfer(bob.address, 7).build_transaction(
            {"from": owner.address, "nonce": w3.eth.get_transaction_count(owner.address)}
        ),
    )
    transfer_topic = Web3.keccak(text="Transfer(address,address,uint256)")
    to_bob = "0x" + bytes(12).hex() + bob.address[2:].lower()
    logs = w3.eth.get_logs(
        {
            "fromBlock": start,
            "toBlock": receipt.blockNumber,
            "address": token.address,
            "topics": [transfer_topic, None, to_bob],
        }
    )
    assert len(logs) == 1 and logs[0].transactionHash == receipt.transactionHash
    assert (
        w3.eth.get_logs({"fromBlock": 0, "toBlock": start - 1, "topics": [None, None, to_bob]})
        == []
    )


def test_revert_reason_reaches_the_client(w3: Web3, owner: LocalAccount, token: Any) -> None:
    poor = Account.from_key(b"\x04" * 32)
    with pytest.raises(ContractLogicError, match="insufficient balance"):
        token.functions.transfer(owner.address, 1).call({"from": poor.address})
    with pytest.raises(ContractLogicError, match="insufficient balance"):
        token.functions.transfer(owner.address, 1).estimate_gas({"from": poor.address})


def test_bad_transactions_are_refused_with_codes(w3: Web3, owner: LocalAccount, token: Any) -> None:
    # ``token`` deployed with the owner's nonce 0, so nonce 0 is stale from here on.
    base = {"to": owner.address, "gas": 100_000, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
    nonce = w3.eth.get_transaction_count(owner.address)
    wrong_chain = owner.sign_transaction({**base, "nonce": nonce, "chainId": 1})
    with pytest.raises(Web3RPCError, match="chain id"):
        w3.eth.send_raw_transaction(wrong_chain.raw_transaction)
    stale = owner.sign_transaction({**base, "nonce": 0, "chainId": w3.eth.chain_id})
    with pytest.raises(Web3RPCError, match="nonce"):
        w3.eth.send_raw_transaction(stale.raw_transaction)
    with pytest.raises(Web3RPCError, match="not a valid signed Ethereum transaction"):
        w3.eth.send_raw_transaction(b"\x02\xc0")
    gap = owner.sign_transaction({**base, "nonce": nonce + 5_000, "chainId": w3.eth.chain_id})
    with pytest.raises(Web3RPCError, match="ahead"):
        w3.eth.send_raw_transaction(gap.raw_transaction)
    good = owner.sign_transaction({**base, "nonce": nonce, "chainId": w3.eth.chain_id})
    broken = bytearray(good.raw_transaction)
    broken[-33] ^= 0xFF  # corrupt r: no key recovers, or another account's does
    with pytest.raises(Web3RPCError):
        w3.eth.send_raw_transaction(bytes(broken))


def test_oversized_rpc_body_is_refused(node: InProcessNode) -> None:
    answer = httpx.post(
        f"{node.url}/rpc",
        content=b"[" + b" " * (6 * 1024 * 1024) + b"]",
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 413
    assert httpx.get(f"{node.url}/v1/status").status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", -32700),
        (b'{"jsonrpc": "2.0", "id": 1}', -32600),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "eth_chainId"}', -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_nope", "params": []}', -32601),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": ["0x12"]}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getCode", "params": []}', -32602),
        (b"[]", -32600),
    ],
)
def test_malformed_rpc_gets_the_standard_code(node: InProcessNode, body: bytes, code: int) -> None:
    answer = httpx.post(
        f"{node.url}/rpc", content=body, headers={"content-type": "application/json"}
    ).json()
    assert answer["error"]["code"] == code
    assert httpx.get(f"{node.url}/v1/status").status_code == 200  # the node is unharmed


def test_batch_requests(node: InProcessNode) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []},
        {"jsonrpc": "2.0", "method": "eth_chainId", "params": []},  # notification
    ]
    answers = httpx.post(f"{node.url}/rpc", json=batch).json()
    assert [a["id"] for a in answers] == [1, 2]


def test_batched_sends_are_admitted_together_and_answered_in_order(
    w3: Web3, node: InProcessNode, token: Any
) -> None:
    sender = Account.from_key(b"\x05" * 32)
    base = {
        "to": token.address,
        "gas": 100_000,
        "maxFeePerGas": 0,
        "maxPriorityFeePerGas": 0,
        "chainId": w3.eth.chain_id,
        "data": token.functions.balanceOf(sender.address)._encode_transaction_data(),
    }
    first = w3.eth.get_transaction_count(sender.address)
    raws = [
        bytes(sender.sign_transaction({**base, "nonce": first + i}).raw_transaction)
        for i in (0, 1, 2)
    ]
    stale = bytes(sender.sign_transaction({**base, "nonce": first + 7_000}).raw_transaction)

    def send(ident: int | None, raw: Any) -> dict[str, Any]:
        request = {"jsonrpc": "2.0", "method": "eth_sendRawTransaction", "params": [raw]}
        return request if ident is None else {**request, "id": ident}

    batch = [
        send(1, "0x" + raws[0].hex()),
        {"jsonrpc": "2.0", "id": 2, "method": "eth_chainId", "params": []},
        send(3, "0x" + raws[1].hex()),
        send(4, "not hex"),
        send(5, "0x02c0"),
        send(6, "0x" + stale.hex()),
        {"jsonrpc": "2.0", "id": 7, "method": "eth_sendRawTransaction", "params": []},
        {"jsonrpc": "2.0", "id": 8, "method": "eth_sendRawTransaction"},  # params left out
        send(None, "0x" + raws[2].hex()),  # a notification: admitted, not answered
    ]
    answers = httpx.post(f"{node.url}/rpc", json=batch, timeout=30).json()
    assert [a["id"] for a in answers] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert answers[0]["result"] == "0x" + keccak256(raws[0]).hex()
    assert answers[1]["result"] == hex(w3.eth.chain_id)
    assert answers[2]["result"] == "0x" + keccak256(raws[1]).hex()
    assert answers[3]["error"]["code"] == -32602
    assert answers[4]["error"]["data"]["code"] == "EVM_ETH_TX_INVALID"
    assert answers[5]["error"]["data"]["code"] == "TX_SENDER_LIMIT"  # nonce too far ahead
    missing = "invalid params: expected 1 params (transaction), got 0"
    assert answers[6]["error"]["message"] == missing
    assert answers[7]["error"]["message"] == missing
    for raw in raws:
        receipt = w3.eth.wait_for_transaction_receipt(keccak256(raw), timeout=30, poll_latency=0.1)
        assert receipt.status == 1


def test_get_proof_verifies_against_the_block_state_root(
    w3: Web3, owner: LocalAccount, token: Any
) -> None:
    block = w3.eth.get_block("latest")
    slot = 0  # name's storage slot: set in the constructor
    proof = w3.eth.get_proof(token.address, [slot], block.number)
    account_key = Web3.keccak(hexstr=token.address)
    nodes = [rlp.decode(bytes(n)) for n in proof.accountProof]
    encoded_account = HexaryTrie.get_from_proof(bytes(block.stateRoot), bytes(account_key), nodes)
    _nonce, _balance, storage_root, code_hash = rlp.decode(encoded_account)
    assert storage_root == bytes(proof.storageHash)
    assert code_hash == bytes(Web3.keccak(w3.eth.get_code(token.address, block.number)))
    storage_key = Web3.keccak(slot.to_bytes(32, "big"))
    (entry,) = proof.storageProof
    value = HexaryTrie.get_from_proof(
        storage_root, bytes(storage_key), [rlp.decode(bytes(n)) for n in entry.proof]
    )
    expected = int.from_bytes(bytes(entry.value), "big")
    assert expected and int.from_bytes(rlp.decode(value), "big") == expected
    stored = w3.eth.get_storage_at(token.address, slot, block.number)
    assert int.from_bytes(stored, "big") == expected
    # A proof for another key, or against another root, does not verify.
    with pytest.raises(BadTrieProof):
        HexaryTrie.get_from_proof(bytes(Web3.keccak(b"other root")), bytes(account_key), nodes)


def _request(ident: int, method: str, params: list[Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "method": method, "params": params}


def test_subscriptions_over_websocket(
    node: InProcessNode, w3: Web3, owner: LocalAccount, token: Any
) -> None:
    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        url = node.url.replace("http://", "ws://") + "/rpc"
        async with connect(url) as socket:
            await socket.send(json.dumps(_request(1, "eth_subscribe", ["newHeads"])))
            heads = json.loads(await socket.recv())["result"]
            logs_filter = {"address": token.address}
            await socket.send(json.dumps(_request(2, "eth_subscribe", ["logs", logs_filter])))
            logs = json.loads(await socket.recv())["result"]
            await socket.send(json.dumps(_request(3, "eth_chainId", [])))
            assert json.loads(await socket.recv())["result"] == hex(w3.eth.chain_id)
            carol = Account.from_key(b"\x05" * 32)
            tx = token.functions.transfer(carol.address, 3).build_transaction(
                {"from": owner.address, "nonce": w3.eth.get_transaction_count(owner.address)}
            )
            signed = owner.sign_transaction(tx)
            await asyncio.to_thread(w3.eth.send_raw_transaction, signed.raw_transaction)
            head: dict[str, Any] = {}
            got_logs: list[dict[str, Any]] = []
            async with asyncio.timeout(20):
                while not got_logs:
                    note = json.loads(await socket.recv())["params"]
                    if note["subscription"] == heads:
                        head = note["result"]
                    elif note["subscription"] == logs:
                        got_logs.append(note["result"])
            return head, got_logs

    head, logs = asyncio.run(scenario())
    assert int(head["number"], 16) >= 1 and len(head["hash"]) == 66
    assert logs[0]["address"].lower() == token.address.lower()


def test_contract_gate_record_endpoint(node: InProcessNode) -> None:
    unknown = "0x" + "ab" * 32
    record = httpx.get(f"{node.url}/v1/contracts/{unknown}").json()
    assert record["code_hash"] == unknown
    assert (record["audit"], record["approval"], record["waivers"]) == (None, None, [])
    bad = httpx.get(f"{node.url}/v1/contracts/0x1234")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "API_BAD_REQUEST"


def test_deployed_contracts_are_listed(node: InProcessNode, token: Any) -> None:
    listed = httpx.get(f"{node.url}/v1/contracts").json()["contracts"]
    mine = [c for c in listed if c["address"].lower() == token.address.lower()]
    assert len(mine) == 1
    code = httpx.post(
        f"{node.url}/rpc",
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_getCode", "params": [token.address]},
    ).json()["result"]
    assert mine[0]["code_hash"] == "0x" + keccak256(bytes.fromhex(code[2:])).hex()
    assert httpx.get(f"{node.url}/v1/contracts?limit=0").status_code == 400
