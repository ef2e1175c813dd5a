"""Genesis: the chain's first state and block, a pure function of the genesis file.

``genesis.bin`` (canonical bytes of :class:`Genesis`) is the authoritative
file every node of a network shares; its hash is part of the genesis block.
"""

from __future__ import annotations

from typing import Final

import lmdb

from consortia.codec import U64, Canonical, encode
from consortia.consensus.types import ValidatorSet
from consortia.crypto import get_suite
from consortia.execution.executor import Runtime
from consortia.execution.policy import POLICY_KEY, ChainPolicy
from consortia.execution.state_view import StateView
from consortia.ledger.merkle import merkle_root
from consortia.ledger.types import (
    ZERO_HASH,
    Block,
    BlockHeader,
    ChainId,
    QuorumCert,
    block_id,
)
from consortia.modules import accounts, assets
from consortia.modules.accounts.types import GenesisAccount
from consortia.state import StateTree

VALIDATORS_KEY: Final = b"chain/validators"
GENESIS_KEY: Final = b"chain/genesis"


class Genesis(Canonical, frozen=True):
    """Everything a network agrees on before block 1."""

    chain_id: ChainId
    suite: str
    """``sm`` or ``intl``."""
    timestamp_ms: U64
    policy: ChainPolicy
    validators: ValidatorSet
    accounts: tuple[GenesisAccount, ...] = ()


def default_runtime() -> Runtime:
    """The native modules every chain runs, and the accounts authority."""
    return Runtime(
        modules={m.name: m for m in (accounts.MODULE, assets.MODULE)},
        authority=accounts.AUTHORITY,
    )


def genesis_qc(genesis_block_id: bytes, epoch: int) -> QuorumCert:
    """The certificate of the genesis block: round 0, no signatures ([CONS-GENESIS.1])."""
    return QuorumCert(
        epoch=epoch, round=0, height=0, block_id=genesis_block_id, signers=(), signatures=()
    )


def build_genesis(
    genesis: Genesis, runtime: Runtime, tree: StateTree, txn: lmdb.Transaction
) -> tuple[Block, bytes]:
    """Write the genesis state as version 0 and return the genesis block and its id."""
    hash_fn = get_suite(genesis.suite).hash
    view = StateView(tree, txn, None)
    view.put_struct(POLICY_KEY, genesis.policy)
    view.put_struct(VALIDATORS_KEY, genesis.validators)
    view.set(GENESIS_KEY, hash_fn(encode(genesis)))
    for name in sorted(runtime.modules):
        runtime.modules[name].init_genesis(view, genesis)
    root = tree.apply(txn, 0, view.changes())
    empty = merkle_root(hash_fn, [])
    header = BlockHeader(
        chain_id=genesis.chain_id,
        epoch=genesis.validators.epoch,
        round=0,
        height=0,
        parent_id=ZERO_HASH,
        proposer=0,
        timestamp_ms=genesis.timestamp_ms,
        tx_root=empty,
        tx_count=0,
        state_height=0,
        state_root=root,
        receipts_root=empty,
        justify=genesis_qc(ZERO_HASH, genesis.validators.epoch),
    )
    return Block(header=header, transactions=(), signature=b""), block_id(hash_fn, header)
