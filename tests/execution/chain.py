"""A chain in one LMDB environment for execution tests: genesis, then blocks.

Blocks are executed the way :func:`consortia.execution.transition.apply_block`
does it (one write transaction: a :class:`StateView` over the previous
version, :func:`execute_block`, ``tree.apply`` as the next version), without
the block store, so tests can feed any transaction list, including ones a
mempool would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import lmdb

from consortia.codec import encode
from consortia.crypto import KeyType, PrivateKey, get_suite
from consortia.execution.executor import Runtime, TxOutcome, execute_block
from consortia.execution.module import BlockContext
from consortia.execution.policy import POLICY_KEY, ChainPolicy
from consortia.execution.state_view import StateView
from consortia.genesis import Genesis, build_genesis, default_runtime
from consortia.ledger.types import (
    Transaction,
    TxBody,
    ValidatorInfo,
    ValidatorSet,
    tx_id,
    tx_signing_bytes,
)
from consortia.modules.accounts.handlers import load_account
from consortia.modules.accounts.types import Account, AccountKey, GenesisAccount
from consortia.modules.assets.handlers import balance_of
from consortia.modules.assets.types import Asset, definition_key
from consortia.state import StateTree

CHAIN_ID = "exec-test"
EXPIRY = 1_000_000
GAS = 1_000_000
GENESIS_TIME_MS = 1_700_000_000_000
T = TypeVar("T")


def key(key_type: KeyType, seed: int) -> PrivateKey:
    """A deterministic key (seed 0 is valid: the secret is seed + 1)."""
    return PrivateKey.from_secret(key_type, (seed + 1).to_bytes(32, "big"))


def address(k: PrivateKey) -> bytes:
    return k.public_key().address()


def make_tx(
    signer: PrivateKey,
    nonce: int,
    module: str,
    method: str,
    args: object,
    *,
    sender: bytes | None = None,
    raw_args: bytes | None = None,
    gas_limit: int = GAS,
    expiry: int = EXPIRY,
    chain_id: str = CHAIN_ID,
) -> Transaction:
    """A transaction signed by ``signer`` (for ``sender``, by default the signer's address)."""
    body = TxBody(
        chain_id=chain_id,
        sender=address(signer) if sender is None else sender,
        nonce=nonce,
        module=module,
        method=method,
        args=encode(args) if raw_args is None else raw_args,
        gas_limit=gas_limit,
        expiry_height=expiry,
    )
    return Transaction(
        body=body,
        key_type=signer.key_type.value,
        public_key=signer.public_key().to_bytes(),
        signature=signer.sign(tx_signing_bytes(body)),
    )


def genesis_for(
    accounts: Sequence[PrivateKey] = (), policy: ChainPolicy | None = None, suite: str = "sm"
) -> Genesis:
    """A one-validator genesis with ``accounts`` pre-created (their own key registered)."""
    validator = key(KeyType.SM2 if suite == "sm" else KeyType.P256, 10_000)
    info = ValidatorInfo(
        name="v0",
        organisation="org0",
        address=address(validator),
        key_type=validator.key_type.value,
        public_key=validator.public_key().to_bytes(),
        weight=1,
    )
    return Genesis(
        chain_id=CHAIN_ID,
        suite=suite,
        timestamp_ms=GENESIS_TIME_MS,
        policy=policy or ChainPolicy(),
        validators=ValidatorSet(epoch=0, validators=(info,)),
        accounts=tuple(
            GenesisAccount(
                address=address(k),
                keys=(AccountKey(key_type=k.key_type.value, public_key=k.public_key().to_bytes()),),
            )
            for k in accounts
        ),
    )


def open_env(path: Path) -> lmdb.Environment:
    return lmdb.open(str(path), map_size=1 << 28, max_dbs=16, sync=False)


@dataclass
class Chain:
    """Genesis state at version 0, then one version per executed block."""

    env: lmdb.Environment
    tree: StateTree
    runtime: Runtime
    hash_fn: Callable[[bytes], bytes]
    height: int = 0
    roots: list[bytes] = field(default_factory=list)
    """``roots[v]`` is the state root at version ``v``."""

    @classmethod
    def open(
        cls, path: Path, genesis: Genesis | None = None, runtime: Runtime | None = None
    ) -> Chain:
        genesis = genesis or genesis_for()
        env = open_env(path)
        hash_fn = get_suite(genesis.suite).hash
        tree = StateTree(env, hash_fn)
        runtime = runtime or default_runtime()
        with env.begin(write=True) as txn:
            build_genesis(genesis, runtime, tree, txn)
            root = tree.root(txn, 0)
        return cls(env=env, tree=tree, runtime=runtime, hash_fn=hash_fn, roots=[root])

    def close(self) -> None:
        self.env.close()

    def execute(
        self, txs: Sequence[Transaction], *, proposer: int = 0, abort: bool = False
    ) -> list[TxOutcome]:
        """Execute one block of ``txs`` as the next height; returns the outcomes.

        ``abort``: execute and write the block, then abort its LMDB transaction
        (what a crash or failure mid-block leaves): the chain stays where it was.
        """
        height = self.height + 1
        with self.env.begin(write=True) as txn:
            view = StateView(self.tree, txn, self.height)
            policy = view.get_struct(POLICY_KEY, ChainPolicy)
            assert policy is not None
            context = BlockContext(
                chain_id=CHAIN_ID,
                height=height,
                timestamp_ms=GENESIS_TIME_MS + height * 1_000,
                proposer=proposer,
            )
            items = [(tx, tx_id(self.hash_fn, tx.body), len(encode(tx))) for tx in txs]
            outcomes = execute_block(self.runtime, view, policy, context, items)
            root = self.tree.apply(txn, height, view.changes())
            if abort:
                txn.abort()
                return outcomes
        self.height = height
        self.roots.append(root)
        return outcomes

    def run(self, tx: Transaction) -> TxOutcome:
        """Execute a block of one transaction."""
        return self.execute([tx])[0]

    def poke(self, key_: bytes, value: bytes | None) -> None:
        """Write state directly as the next version (what no transaction can do yet)."""
        with self.env.begin(write=True) as txn:
            root = self.tree.apply(txn, self.height + 1, {key_: value})
        self.height += 1
        self.roots.append(root)

    def read(self, fn: Callable[[StateView], T]) -> T:
        with self.env.begin() as txn:
            return fn(StateView(self.tree, txn, self.height))

    def account(self, addr: bytes) -> Account | None:
        return self.read(lambda v: load_account(v, addr))

    def nonce(self, addr: bytes) -> int:
        acct = self.account(addr)
        return 0 if acct is None else acct.nonce

    def balance(self, addr: bytes, symbol: str) -> int:
        return self.read(lambda v: balance_of(v, addr, symbol))

    def asset(self, symbol: str) -> Asset | None:
        return self.read(lambda v: v.get_struct(definition_key(symbol), Asset))

    def dump(self, prefix: bytes = b"") -> dict[bytes, bytes]:
        """Every key and value at the current version."""
        with self.env.begin() as txn:
            return dict(self.tree.iterate(txn, self.height, prefix))
