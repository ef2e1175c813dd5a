"""EVM contracts deployed and called from native transactions ([EVM-CTX.1], docs/contracts.md).

Contracts are compiled with the real Vyper compiler; every transaction goes
through the chain's executor, so gas, receipts, events and the state root
are the ones a node produces.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vyper
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from tests.execution.chain import CHAIN_ID, GAS, GENESIS_TIME_MS, Chain, genesis_for, key, make_tx

from consortia.crypto import KeyType, keccak256
from consortia.evm.context import evm_chain_id
from consortia.evm.module import contract_address, revert_reason
from consortia.evm.types import Call, Deploy
from consortia.evm.world import WORLD_ROOT_KEY
from consortia.execution.executor import TxOutcome
from consortia.execution.policy import ChainPolicy

COUNTER = """
counter: public(uint256)

event Bumped:
    who: indexed(address)
    value: uint256

@external
def bump(by: uint256) -> uint256:
    assert by < 100, "too big"
    self.counter += by
    log Bumped(who=msg.sender, value=self.counter)
    return self.counter

@external
@view
def context() -> (uint256, uint256, uint256):
    return block.number, block.timestamp, chain.id

@external
def spin():
    for i: uint256 in range(1000000):
        self.counter += 1
"""

OPEN = ChainPolicy(contract_deployment="open")
"""EVM mechanics are tested on an open chain; test_gate.py tests the audit gate."""
SM2_USER = key(KeyType.SM2, 1)
P256_USER = key(KeyType.P256, 2)


def creation_code(source: str) -> bytes:
    out = vyper.compile_code(source, output_formats=["bytecode"])
    return bytes.fromhex(out["bytecode"].removeprefix("0x"))


def calldata(signature: str, types: list[str], values: list[Any]) -> bytes:
    return keccak256(signature.encode())[:4] + abi_encode(types, values)


def attrs(outcome: TxOutcome, name: str) -> dict[str, str]:
    return next(dict(e.attributes) for e in outcome.receipt.events if e.name == name)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    chain = Chain.open(tmp_path, genesis_for([SM2_USER, P256_USER], policy=OPEN))
    yield chain
    chain.close()


def deploy(chain: Chain, nonce: int = 0) -> bytes:
    tx = make_tx(SM2_USER, nonce, "evm", "deploy", Deploy(code=creation_code(COUNTER)))
    outcome = chain.run(tx)
    assert outcome.receipt.status == "OK", outcome.receipt.message
    address = bytes.fromhex(attrs(outcome, "contract_created")["address"])
    assert address == contract_address(SM2_USER.public_key().address(), 0)
    return address


def test_deploy_and_call_from_sm2_and_p256_accounts(chain: Chain) -> None:
    root_before = chain.read(lambda v: v.get(WORLD_ROOT_KEY))
    assert root_before is None  # no contract yet: the empty world
    address = deploy(chain)
    world_root = chain.read(lambda v: v.get(WORLD_ROOT_KEY))
    assert world_root is not None and len(world_root) == 32
    bump = Call(to=address, data=calldata("bump(uint256)", ["uint256"], [5]))
    first = chain.run(make_tx(SM2_USER, 1, "evm", "call", bump))
    assert first.receipt.status == "OK", first.receipt.message
    assert abi_decode(["uint256"], bytes.fromhex(attrs(first, "returned")["output"])) == (5,)
    log = attrs(first, "log")
    topics = log["topics"].split(" ")
    assert log["address"] == address.hex()
    assert topics[0] == keccak256(b"Bumped(address,uint256)").hex()
    assert topics[1] == bytes(12).hex() + SM2_USER.public_key().address().hex()
    assert abi_decode(["uint256"], bytes.fromhex(log["data"])) == (5,)
    second = chain.run(make_tx(P256_USER, 0, "evm", "call", bump))
    assert abi_decode(["uint256"], bytes.fromhex(attrs(second, "returned")["output"])) == (10,)
    assert chain.read(lambda v: v.get(WORLD_ROOT_KEY)) != world_root
    # Gas is metered: the receipt's gas includes the EVM's (an SSTORE alone is 2,900+).
    assert first.receipt.gas_used > 20_000


def test_revert_reason_and_state_untouched(chain: Chain) -> None:
    address = deploy(chain)
    root = chain.read(lambda v: v.get(WORLD_ROOT_KEY))
    too_big = Call(to=address, data=calldata("bump(uint256)", ["uint256"], [500]))
    outcome = chain.run(make_tx(SM2_USER, 1, "evm", "call", too_big))
    assert outcome.receipt.status == "EVM_REVERTED"
    assert outcome.receipt.message == "execution reverted: too big"
    assert outcome.receipt.events == ()
    # Only the EVM nonce moved (a failed Ethereum transaction consumes its nonce too).
    assert chain.read(lambda v: v.get(WORLD_ROOT_KEY)) != root
    read = Call(to=address, data=calldata("counter()", [], []))
    after = chain.run(make_tx(SM2_USER, 2, "evm", "call", read))
    assert abi_decode(["uint256"], bytes.fromhex(attrs(after, "returned")["output"])) == (0,)


def test_out_of_gas_and_unknown_selector(chain: Chain) -> None:
    address = deploy(chain)
    spin = Call(to=address, data=calldata("spin()", [], []))
    outcome = chain.run(make_tx(SM2_USER, 1, "evm", "call", spin, gas_limit=200_000))
    assert outcome.receipt.status == "EVM_FAILED" and "OutOfGas" in outcome.receipt.message
    assert outcome.receipt.gas_used == 200_000  # an exceptional halt burns all gas
    nothing = Call(to=address, data=b"\xde\xad\xbe\xef")
    outcome = chain.run(make_tx(SM2_USER, 2, "evm", "call", nothing))
    assert outcome.receipt.status == "EVM_REVERTED"
    low = make_tx(SM2_USER, 3, "evm", "call", nothing, gas_limit=3_000)
    assert chain.run(low).receipt.status in {"EVM_FAILED", "TX_OUT_OF_GAS"}


def test_block_context_is_fixed_by_consensus(chain: Chain) -> None:
    address = deploy(chain)
    context = Call(to=address, data=calldata("context()", [], []))
    outcome = chain.run(make_tx(SM2_USER, 1, "evm", "call", context))
    number, timestamp, chain_id = abi_decode(
        ["uint256", "uint256", "uint256"], bytes.fromhex(attrs(outcome, "returned")["output"])
    )
    assert number == chain.height
    assert timestamp == (GENESIS_TIME_MS + chain.height * 1_000) // 1000
    assert chain_id == evm_chain_id(CHAIN_ID) and 0 < chain_id < 2**31


def test_two_nodes_compute_the_same_roots(tmp_path: Path) -> None:
    roots = []
    for name in ("a", "b"):
        chain = Chain.open(tmp_path / name, genesis_for([SM2_USER, P256_USER], policy=OPEN))
        try:
            address = deploy(chain)
            bump = Call(to=address, data=calldata("bump(uint256)", ["uint256"], [7]))
            chain.execute(
                [
                    make_tx(SM2_USER, 1, "evm", "call", bump),
                    make_tx(P256_USER, 0, "evm", "call", bump),
                ]
            )
            roots.append((chain.roots[-1], chain.read(lambda v: v.get(WORLD_ROOT_KEY))))
        finally:
            chain.close()
    assert roots[0] == roots[1]


def test_revert_reason_decoding() -> None:
    data = keccak256(b"Error(string)")[:4] + abi_encode(["string"], ["no funds"])
    assert revert_reason(data) == "no funds"
    assert revert_reason(b"\x01\x02") == "0x0102"
    assert GAS > 1_000_000 - 1
