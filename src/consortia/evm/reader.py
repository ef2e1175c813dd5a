"""Reading the EVM world at a committed height, and running calls that change nothing.

For the JSON-RPC ``eth_getBalance|Code|StorageAt`` and ``eth_call`` /
``eth_estimateGas`` (calls run in the worker processes of
``consortia.node.read_pool``, never on the node's event loop): the world
root kept in chain state at a version opens a read-only py-evm state over
the trie nodes in the side database (old roots stay readable: nodes are
content-addressed and never overwritten).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import eth.exceptions
import lmdb
import rlp
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3
from eth.db.atomic import AtomicDB
from eth.rlp.accounts import Account as EthAccount
from eth.vm.spoof import SpoofTransaction
from eth_typing import Address
from eth_utils.exceptions import ValidationError
from trie.hexary import HexaryTrie

from consortia.crypto import keccak256
from consortia.evm.context import VM, gas_used, open_world
from consortia.evm.world import WORLD_ROOT_KEY, SideDB
from consortia.execution.module import BlockContext
from consortia.execution.policy import ChainPolicy
from consortia.state import StateTree


@dataclass(frozen=True, slots=True)
class AccountProof:
    """An account and some of its storage, with Merkle-Patricia proofs (EIP-1186)."""

    nonce: int
    balance: int
    code_hash: bytes
    storage_root: bytes
    account_proof: tuple[bytes, ...]
    """RLP of each trie node from the world root to the account."""
    storage: tuple[tuple[int, int, tuple[bytes, ...]], ...]
    """(slot, value, proof nodes from the storage root) per requested slot."""


@dataclass(frozen=True, slots=True)
class CallResult:
    """What a call would do: its output, gas used, and the error if it failed."""

    output: bytes
    gas_used: int
    error: str | None
    """None on success; ``revert`` for a revert (``output`` holds its data), else the halt."""
    out_of_gas: bool = False
    """The call halted because its gas ran out (so a higher gas limit might finish it)."""


def _proof_nodes(trie: HexaryTrie, key: bytes) -> tuple[bytes, ...]:
    """RLP of the trie nodes on the path to ``key`` (the EIP-1186 proof format)."""
    nodes = trie.get_proof(key)  # type: ignore[no-untyped-call]
    return tuple(rlp.encode(node) for node in nodes)


class EvmReader:
    """Read-only access to the EVM world at committed state versions."""

    def __init__(self, env: lmdb.Environment, tree: StateTree) -> None:
        self._env = env
        self._tree = tree

    def _world(
        self, txn: lmdb.Transaction, version: int, block: BlockContext, policy: ChainPolicy
    ) -> Any:
        db = AtomicDB(SideDB(txn, self._tree.side_db))
        return open_world(db, self._root(txn, version), block, policy)

    def _root(self, txn: lmdb.Transaction, version: int) -> bytes:
        return self._tree.get(txn, WORLD_ROOT_KEY, version) or BLANK_ROOT_HASH

    def account(
        self, address: bytes, version: int, block: BlockContext, policy: ChainPolicy
    ) -> tuple[int, int, bytes]:
        """(balance, EVM nonce, code) of ``address`` at ``version``."""
        with self._env.begin() as txn:
            world = self._world(txn, version, block, policy)
            return world.get_balance(address), world.get_nonce(address), world.get_code(address)

    def storage(
        self, address: bytes, slot: int, version: int, block: BlockContext, policy: ChainPolicy
    ) -> int:
        """Storage ``slot`` of ``address`` at ``version``."""
        with self._env.begin() as txn:
            return int(self._world(txn, version, block, policy).get_storage(address, slot))

    def proof(self, address: bytes, slots: list[int], version: int) -> AccountProof:
        """EIP-1186 proofs of ``address`` and ``slots`` against the world root at ``version``."""
        with self._env.begin() as txn:
            db = SideDB(txn, self._tree.side_db)
            world = HexaryTrie(db, self._root(txn, version))
            key = keccak256(address)
            encoded = world.get(key)
            account = (
                rlp.decode(encoded, sedes=EthAccount)
                if encoded
                else EthAccount(0, 0, BLANK_ROOT_HASH, EMPTY_SHA3)
            )
            storage_trie = HexaryTrie(db, account.storage_root)
            storage = []
            for slot in slots:
                slot_key = keccak256(slot.to_bytes(32, "big"))
                raw = storage_trie.get(slot_key)
                value = rlp.decode(raw, sedes=rlp.sedes.big_endian_int) if raw else 0
                nodes = _proof_nodes(storage_trie, slot_key)
                storage.append((slot, value, nodes))
            return AccountProof(
                nonce=account.nonce,
                balance=account.balance,
                code_hash=account.code_hash,
                storage_root=account.storage_root,
                account_proof=_proof_nodes(world, key),
                storage=tuple(storage),
            )

    def world_root(self, version: int) -> bytes:
        """The EVM trie root at ``version``."""
        with self._env.begin() as txn:
            return self._root(txn, version)

    def call(
        self,
        *,
        sender: bytes,
        to: bytes,
        data: bytes,
        gas: int,
        version: int,
        block: BlockContext,
        policy: ChainPolicy,
    ) -> CallResult:
        """Run a message against the world at ``version`` and throw the changes away."""
        with self._env.begin() as txn:
            world = self._world(txn, version, block, policy)
            unsigned = VM.get_transaction_builder().create_unsigned_transaction(
                nonce=world.get_nonce(sender),
                gas_price=0,
                gas=gas,
                to=Address(to),
                value=0,
                data=data,
            )
            try:
                computation = world.apply_transaction(SpoofTransaction(unsigned, from_=sender))
            except ValidationError as exc:
                return CallResult(b"", 0, f"invalid call: {exc}")
            used = gas_used(gas, computation)
            if computation.is_error:
                error = computation.error
                if isinstance(error, eth.exceptions.Revert):
                    return CallResult(bytes(computation.output), used, "revert")
                return CallResult(
                    b"",
                    used,
                    f"{type(error).__name__}: {error}",
                    out_of_gas=isinstance(error, eth.exceptions.OutOfGas),
                )
            return CallResult(bytes(computation.output), used, None)
