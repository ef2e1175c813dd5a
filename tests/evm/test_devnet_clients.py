"""web3.py and ethers.js against a 4-validator devnet of real processes (issue #5): a
contract deployed through one validator's JSON-RPC is seen, with its receipts and logs,
through another's; the ethers.js client runs its whole script against a third."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from tests.evm.test_ethers import run_ethers_client
from tests.evm.test_web3 import TOKEN, send
from tests.support.network import live_network
from web3 import Web3

from consortia.evm.compiler import compile_file
from consortia.execution.policy import ChainPolicy

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bft")]

FAST = {"base_timeout_ms": 1000, "idle_block_interval_ms": 300}


def test_erc20_on_four_validators(tmp_path: Path) -> None:
    (token,) = compile_file(TOKEN)
    policy = ChainPolicy(contract_deployment="open")
    with live_network(tmp_path, validators=4, timing=FAST, policy=policy) as net:
        net.wait_height(0, 2)
        w3 = [Web3(Web3.HTTPProvider(f"{net.api(i)}/rpc")) for i in range(4)]
        owner, alice = Account.from_key(b"\x11" * 32), Account.from_key(b"\x12" * 32)
        factory = w3[0].eth.contract(abi=token.abi, bytecode=token.bytecode)
        tx = factory.constructor(1_000).build_transaction(
            {"from": owner.address, "nonce": w3[0].eth.get_transaction_count(owner.address)}
        )
        deployed = send(w3[0], owner, tx)
        assert deployed.status == 1
        # A client of another validator sees the deploy once that node executed it
        # (nodes execute a committed block each at their own pace).
        net.wait_height(1, deployed.blockNumber, timeout_s=30)
        contract = w3[1].eth.contract(address=deployed.contractAddress, abi=token.abi)
        tx = contract.functions.transfer(alice.address, 250).build_transaction(
            {"from": owner.address, "nonce": w3[1].eth.get_transaction_count(owner.address)}
        )
        receipt = send(w3[1], owner, tx)  # sent to another validator
        for i in range(4):
            net.wait_height(i, receipt.blockNumber, timeout_s=30)
        on_third = w3[3].eth.contract(address=deployed.contractAddress, abi=token.abi)
        assert on_third.functions.balanceOf(alice.address).call() == 250
        fetched = w3[3].eth.get_transaction_receipt(receipt.transactionHash)
        assert fetched.status == 1 and fetched.blockHash == receipt.blockHash
        (event,) = on_third.events.Transfer().process_receipt(fetched)
        assert event.args.value == 250
        roots = {bytes(w.eth.get_block(receipt.blockNumber).stateRoot) for w in w3}
        assert len(roots) == 1  # every validator computed the same EVM world
        # ethers.js, unchanged, through another validator.
        summary = run_ethers_client(f"{net.api(2)}/rpc", tmp_path)
        assert summary["deploy"]["status"] == 1 and summary["transfer"]["status"] == 1
        assert summary["revert"]["reason"] == "insufficient balance"
        assert summary["balances"]["alice"] == "1255"
