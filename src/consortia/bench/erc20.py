"""The ``erc20`` load workload: ERC-20 transfers as Ethereum-signed transactions via JSON-RPC.

Setup deploys the benchmark token (Vyper, compiled at start) from the issuer
and funds every sender; the load is each sender transferring one unit at a
time to a sink, sent as JSON-RPC batches of ``eth_sendRawTransaction`` — what a
wallet-driven application sends. Transactions are signed with eth-account in
worker processes before the measurement starts. The chain must let the token
deploy (``contract_deployment = "open"``, as the benchmark's own devnet does).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Final

import rlp
import vyper  # type: ignore[import-untyped]
from eth_account import Account as EthAccount
from eth_utils.address import to_checksum_address

from consortia.bench.workload import Account
from consortia.crypto import keccak256
from consortia.evm.context import evm_chain_id

SUPPLY: Final = 10**30
FUNDING: Final = 10**20
GAS: Final = 150_000
DEPLOY_GAS: Final = 3_000_000
TOKEN: Final = """
balanceOf: public(HashMap[address, uint256])

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

@deploy
def __init__(supply: uint256):
    self.balanceOf[msg.sender] = supply

@external
def transfer(receiver: address, amount: uint256) -> bool:
    assert self.balanceOf[msg.sender] >= amount, "insufficient balance"
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=msg.sender, receiver=receiver, value=amount)
    return True
"""


def token_creation_code() -> bytes:
    """Creation code of the benchmark token with its supply as constructor argument."""
    code = vyper.compile_code(TOKEN, output_formats=["bytecode"])["bytecode"]
    return bytes.fromhex(code.removeprefix("0x")) + SUPPLY.to_bytes(32, "big")


def _secret(account: Account) -> bytes:
    return (account.seed + 1).to_bytes(32, "big")


def address_of(account: Account) -> bytes:
    """The Ethereum address of a secp256k1 benchmark account."""
    return account.key().public_key().address()


def contract_address(deployer: Account, nonce: int = 0) -> bytes:
    """CREATE address of ``deployer``'s contract at ``nonce``."""
    return keccak256(rlp.encode([address_of(deployer), nonce]))[12:]


def _sign(account: Account, chain: int, nonce: int, to: bytes, data: bytes, gas: int) -> bytes:
    tx: dict[str, Any] = {
        "type": 2,
        "chainId": chain,
        "nonce": nonce,
        "gas": gas,
        "maxFeePerGas": 0,
        "maxPriorityFeePerGas": 0,
        "value": 0,
        "data": data,
    }
    if to:
        tx["to"] = to_checksum_address(to)
    return bytes(EthAccount.from_key(_secret(account)).sign_transaction(tx).raw_transaction)


def transfer_data(to: bytes, amount: int) -> bytes:
    """ABI call data of ``transfer(to, amount)``."""
    selector = keccak256(b"transfer(address,uint256)")[:4]
    return selector + bytes(12) + to + amount.to_bytes(32, "big")


def setup_transactions(issuer: Account, senders: Sequence[Account], chain_id: str) -> list[bytes]:
    """Raw transactions: deploy the token, then fund every sender."""
    chain = evm_chain_id(chain_id)
    token = contract_address(issuer)
    raws = [_sign(issuer, chain, 0, b"", token_creation_code(), DEPLOY_GAS)]
    for i, sender in enumerate(senders):
        data = transfer_data(address_of(sender), FUNDING)
        raws.append(_sign(issuer, chain, i + 1, token, data, GAS))
    return raws


def _sign_run(sender: Account, chain: int, token: bytes, sink: bytes, count: int) -> list[bytes]:
    data = transfer_data(sink, 1)
    return [_sign(sender, chain, nonce, token, data, GAS) for nonce in range(count)]


def workload_transactions(
    issuer: Account, senders: Sequence[Account], per_sender: int, chain_id: str, workers: int
) -> list[list[bytes]]:
    """``per_sender`` signed transfers for each sender, nonce-ordered, signed in parallel."""
    chain = evm_chain_id(chain_id)
    token = contract_address(issuer)
    sink = keccak256(b"consortia bench sink")[12:]
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(_sign_run, s, chain, token, sink, per_sender) for s in senders]
        return [f.result() for f in futures]
