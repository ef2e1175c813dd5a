"""A fixed EVM workload whose roots must not depend on how the world state is kept.

ERC-20 deploy and transfers (new balance slots, updates, a balance emptied
so its slot is deleted), a revert, a transaction py-evm refuses from a
sender that never used the EVM, a native transaction between two EVM ones of
the same sender (the world's nonce lags), SELFDESTRUCT to a fresh
beneficiary and to the zero address (the coinbase), a contract that
SELFDESTRUCTs while created, a CALL to the zero address, an empty EVM
account deleted when called (EIP-161), an empty block and a block of
reverts only. Addresses of contracts
follow from the deployer's nonces, so every block is fixed in advance.

:func:`run` executes it on a :class:`~tests.execution.chain.Chain`;
``tests/evm/test_world_roots.py`` compares the roots of several ways of
running it, and the script form (``python tests/evm/world_scenario.py``)
prints them, to compare one commit with another.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.execution.chain import Chain, address, genesis_for, key, make_tx

from consortia.bench.erc20 import token_creation_code, transfer_data
from consortia.crypto import KeyType, PrivateKey, keccak256
from consortia.evm.module import contract_address
from consortia.evm.types import Call, Deploy
from consortia.evm.world import WORLD_ROOT_KEY
from consortia.execution.policy import ChainPolicy
from consortia.genesis import Genesis
from consortia.ledger.types import Transaction

HOLDER = key(KeyType.SM2, 1)
"""Deploys everything and holds the token supply."""
SECOND = key(KeyType.P256, 2)
"""Receives tokens and passes some on in the same block."""
NEWBIE = key(KeyType.SM2, 3)
"""Its first transaction is an EVM one that py-evm refuses (too little gas)."""
THIRD = key(KeyType.SM2, 4)
"""Overspends (a revert), later sends its whole balance away (a deleted slot)."""
EMPTY = key(KeyType.SM2, 5)
"""Refused like NEWBIE (an empty EVM account stays), then called: EIP-161 deletes it."""
BENEFICIARY = keccak256(b"beneficiary")[12:]
"""A fresh address that receives a SELFDESTRUCT's (zero) balance."""


def genesis() -> Genesis:
    """The scenario's chain: an open deployment policy, the four accounts."""
    policy = ChainPolicy(contract_deployment="open", max_block_txs=10_000)
    return genesis_for([HOLDER, SECOND, NEWBIE, THIRD, EMPTY], policy=policy)


def _creation(runtime: bytes) -> bytes:
    """Creation code that returns ``runtime`` (CODECOPY of the bytes after it)."""
    n = len(runtime)
    return bytes([0x60, n, 0x60, 12, 0x60, 0, 0x39, 0x60, n, 0x60, 0, 0xF3]) + runtime


BURNER = _creation(b"\x73" + BENEFICIARY + b"\xff")
"""SELFDESTRUCT to :data:`BENEFICIARY`."""
ZERO_BURNER = _creation(b"\x5f\xff")
"""SELFDESTRUCT to the zero address (the block's coinbase)."""
PINGER = _creation(bytes.fromhex("600060006000600060006000" + "5af15000"))
"""CALL the zero address with no value and no data, then stop."""
SHORT_LIVED = b"\x5f\xff"
"""Creation code that SELFDESTRUCTs: the account is created and deleted in one transaction."""


def _transfer(token: bytes, to: bytes, amount: int) -> Call:
    return Call(to=token, data=transfer_data(to, amount))


def _recipient(i: int) -> bytes:
    return keccak256(b"recipient" + i.to_bytes(4, "big"))[12:]


class _Nonces:
    def __init__(self) -> None:
        self._next: dict[bytes, int] = {}

    def __call__(self, k: PrivateKey) -> int:
        a = address(k)
        n = self._next.get(a, 0)
        self._next[a] = n + 1
        return n


def blocks() -> tuple[list[list[Transaction]], list[Transaction]]:
    """The scenario's blocks, and the block that is executed then aborted before block 4."""
    nonce = _Nonces()
    holder = address(HOLDER)
    token = contract_address(holder, 0)
    burner = contract_address(holder, 1)
    zero_burner = contract_address(holder, 2)
    pinger = contract_address(holder, 3)

    def tx(k: PrivateKey, method: str, args: object, **kw: int) -> Transaction:
        return make_tx(k, nonce(k), "evm", method, args, **kw)

    b1 = [
        tx(HOLDER, "deploy", Deploy(code=token_creation_code())),
        tx(HOLDER, "deploy", Deploy(code=BURNER)),
        tx(HOLDER, "deploy", Deploy(code=ZERO_BURNER)),
        tx(HOLDER, "deploy", Deploy(code=PINGER)),
    ]
    b2 = [tx(HOLDER, "call", _transfer(token, address(SECOND), 50))]
    b2 += [tx(HOLDER, "call", _transfer(token, address(THIRD), 7))]
    b2 += [tx(HOLDER, "call", _transfer(token, _recipient(i), i + 1)) for i in range(20)]
    b2 += [tx(SECOND, "call", _transfer(token, _recipient(3), 5))]
    b2 += [tx(THIRD, "call", _transfer(token, _recipient(4), 8))]  # reverts: has 7
    b2 += [tx(NEWBIE, "call", _transfer(token, _recipient(5), 1), gas_limit=5_000)]
    b2 += [tx(EMPTY, "call", _transfer(token, _recipient(5), 1), gas_limit=5_000)]
    b3 = [make_tx(HOLDER, nonce(HOLDER), "evm", "no_such_method", b"")]
    b3 += [tx(HOLDER, "call", _transfer(token, _recipient(0), 1))]
    b3 += [tx(HOLDER, "call", Call(to=burner, data=b""))]
    b3 += [tx(HOLDER, "call", Call(to=zero_burner, data=b""))]
    b3 += [tx(HOLDER, "call", Call(to=pinger, data=b""))]
    b3 += [tx(HOLDER, "deploy", Deploy(code=SHORT_LIVED))]
    b3 += [tx(HOLDER, "call", _transfer(token, _recipient(i % 37), 2)) for i in range(50)]
    b3 += [tx(NEWBIE, "call", _transfer(token, _recipient(6), 0))]
    # The aborted block uses the nonces block 4 uses, for other recipients.
    saved = dict(nonce._next)
    aborted = [tx(HOLDER, "call", _transfer(token, _recipient(1000 + i), 3)) for i in range(30)]
    aborted += [tx(THIRD, "call", _transfer(token, _recipient(1), 7))]
    nonce._next = saved
    b4 = [tx(HOLDER, "call", _transfer(token, _recipient(500 + i), 4)) for i in range(30)]
    b4 += [tx(THIRD, "call", _transfer(token, holder, 7))]  # empties THIRD's slot
    b4 += [tx(HOLDER, "call", Call(to=address(EMPTY), data=b""))]  # deletes EMPTY's account
    b5: list[Transaction] = []
    b6 = [tx(THIRD, "call", _transfer(token, holder, 1)) for _ in range(3)]  # reverts only
    b7 = [tx(HOLDER, "call", _transfer(token, _recipient((i * 7) % 400), 1)) for i in range(150)]
    b7 += [tx(SECOND, "call", _transfer(token, _recipient(i), 1)) for i in range(10)]
    return [b1, b2, b3, b4, b5, b6, b7], aborted


def run(
    chain: Chain, abort_block: Callable[[Chain, list[Transaction]], None] | None = None
) -> list[tuple[bytes, bytes, tuple[str, ...]]]:
    """Execute the scenario; per block: (state root, EVM world root, receipt statuses).

    ``abort_block`` is given the aborted block before block 4 (None: skip it).
    """
    scenario, aborted = blocks()
    out = []
    for height, txs in enumerate(scenario, start=1):
        if height == 4 and abort_block is not None:
            abort_block(chain, aborted)
        outcomes = chain.execute(txs)
        world = chain.read(lambda v: v.get(WORLD_ROOT_KEY)) or b""
        statuses = tuple(o.receipt.status for o in outcomes)
        out.append((chain.roots[-1], world, statuses))
    return out


def main() -> None:
    """Print the scenario's roots on a fresh chain (to diff two commits)."""
    with tempfile.TemporaryDirectory() as tmp:
        chain = Chain.open(Path(tmp), genesis())
        try:
            for height, (root, world, statuses) in enumerate(run(chain), start=1):
                print(height, root.hex(), world.hex(), " ".join(sorted(set(statuses))))
        finally:
            chain.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
