"""The block transition: apply a committed block, install a genesis, record the roots.

Implements docs/spec/execution.md §2 ([EXEC-CTX.1], [EXEC-TRANSITION.1]):
one committed block, in one LMDB write transaction, becomes the next state
version, its receipts and its execution roots; a genesis becomes version 0
and block 0. The node's execution service and the
verifier both run these functions, so a chain the verifier re-executes is
executed by exactly the code that produced it.

Only ``execution``, ``state``, ``ledger``, ``consensus`` block types and
``codec`` are imported here (docs/architecture.md, "Layers"): the genesis
file's own rules (its module sections, its validation) come in as functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import lmdb

from consortia.codec import U64, Canonical, Hash32, decode, encode
from consortia.consensus.blocktree import CommittedBlock
from consortia.execution.block_end import (
    BlockEndReceipt,
    block_end_leaf,
    put_block_end_receipts,
)
from consortia.execution.epochs import enter_epoch
from consortia.execution.executor import Runtime, execute_block_outcome
from consortia.execution.module import BlockContext
from consortia.execution.policy import POLICY_KEY, ChainPolicy
from consortia.execution.state_view import StateView
from consortia.ledger.merkle import merkle_root
from consortia.ledger.store import BlockStore
from consortia.ledger.types import (
    Block,
    EpochStart,
    Hasher,
    Receipt,
    ValidatorSet,
    epoch_root_qc,
    ethereum_hash,
    receipt_leaf,
    tx_id,
)
from consortia.state import StateTree


class ExecutionRoots(Canonical, frozen=True):
    """Roots of one executed height, and the first block that certifies them."""

    state_root: Hash32
    """Root of the state version written by this height."""
    receipts_root: Hash32
    """MTH of the ``receipt_leaf`` of every receipt of this height, followed by the
    ``block_end_leaf`` of each block-end receipt ([EXEC-BLOCK-END.1])."""


class CertifiedBy(Canonical, frozen=True):
    """Height of the first block whose header commits to a state version."""

    height: U64


PRUNE_EVERY: Final = 100
"""With a retention policy, old state versions are pruned every this many blocks."""


def _roots_key(height: int) -> bytes:
    return b"exec/roots/" + height.to_bytes(8, "big")


def _certified_key(version: int) -> bytes:
    return b"exec/certified/" + version.to_bytes(8, "big")


def read_roots(store: BlockStore, txn: lmdb.Transaction, height: int) -> ExecutionRoots | None:
    """Execution roots of ``height`` if executed."""
    raw = store.get_meta(txn, _roots_key(height))
    return None if raw is None else decode(raw, ExecutionRoots)


def read_certifying_height(store: BlockStore, txn: lmdb.Transaction, version: int) -> int | None:
    """Height of the first block whose header carries the state root of ``version``."""
    raw = store.get_meta(txn, _certified_key(version))
    return None if raw is None else decode(raw, CertifiedBy).height


def record_roots(
    store: BlockStore, txn: lmdb.Transaction, height: int, roots: ExecutionRoots, state_height: int
) -> None:
    """Store the execution roots of ``height`` (whose header names ``state_height``)."""
    store.put_meta(txn, _roots_key(height), encode(roots))
    if store.get_meta(txn, _certified_key(state_height)) is None:
        store.put_meta(txn, _certified_key(state_height), encode(CertifiedBy(height)))


GenesisWrites = Callable[[lmdb.Transaction], Mapping[bytes, bytes | None]]
"""The writes of the genesis state (version 0), read through a read transaction.

``consortia.genesis.genesis_state`` bound to its genesis, runtime and tree;
it validates the genesis file first and raises ``InvalidGenesis``."""

GenesisAssembler = Callable[[bytes], tuple[Block, bytes]]
"""The genesis block over a state root, and its id (``genesis.assemble_genesis_block``)."""


def install_genesis(
    env: lmdb.Environment,
    store: BlockStore,
    tree: StateTree,
    *,
    validators: ValidatorSet,
    writes: GenesisWrites,
    assemble: GenesisAssembler,
) -> tuple[Block, bytes]:
    """Write the genesis state, block, certificate and execution roots into a fresh store.

    The state goes in batches of write transactions (a million-account genesis
    would otherwise hold all its pages in one), the block and its records in
    a last one: until this returns, the store holds no block, and if it does
    not return, ``env`` must be discarded (see ``StateTree.load``).

    Parameters:
        validators: the genesis validator set (epoch 0's committee).
        writes: computes the genesis state's writes (and validates the genesis).
        assemble: builds the genesis block over the genesis state root.

    Returns:
        The genesis block and its id.

    Raises:
        Whatever ``writes`` raises (``InvalidGenesis`` for a genesis file);
        nothing is written then.
    """
    with env.begin() as txn:
        changes = dict(writes(txn))
    root = tree.load(env, 0, changes)
    del changes  # a large genesis's writes: let them go before the last transaction
    block, bid = assemble(root)
    with env.begin(write=True) as txn:
        store.append_block(txn, block, bid, [])
        store.put_certificate(txn, epoch_root_qc(validators.epoch, 0, bid))
        store.put_epoch(txn, genesis_epoch(validators, bid))
        roots = ExecutionRoots(state_root=root, receipts_root=block.header.receipts_root)
        record_roots(store, txn, 0, roots, 0)
    return block, bid


def genesis_epoch(validators: ValidatorSet, genesis_id: bytes) -> EpochStart:
    """Epoch 0: the genesis validators, rooted at the genesis block."""
    return EpochStart(
        epoch=validators.epoch,
        validators=validators,
        root_height=0,
        root_id=genesis_id,
    )


def next_epoch_start(committed: CommittedBlock) -> EpochStart:
    """The epoch an epoch-ending block opens, with the proof that it is committed."""
    header = committed.block.header
    assert header.next_validators is not None and committed.commit_proof is not None, (
        "an epoch-ending block is executed only with its commit proof"
    )
    return EpochStart(
        epoch=header.next_validators.epoch,
        validators=header.next_validators,
        root_height=header.height,
        root_id=committed.block_id,
        proof=committed.commit_proof,
    )


@dataclass(frozen=True, slots=True)
class Executed:
    """A block that is now durable and executed."""

    committed: CommittedBlock
    """The block, its id and its certificate."""
    receipts: tuple[Receipt, ...]
    """One receipt per transaction, in block order."""
    state_root: bytes
    """Root of the state version this block wrote (version = its height)."""
    block_end: tuple[BlockEndReceipt, ...] = ()
    """Receipts of the end-of-block hooks that emitted events or were stopped."""


def apply_block(
    env: lmdb.Environment,
    store: BlockStore,
    tree: StateTree,
    runtime: Runtime,
    hash_fn: Hasher,
    committed: CommittedBlock,
) -> Executed:
    """Durably append and execute one committed block, in one write transaction.

    Appends the block and its certificate (and the epoch it opens), executes
    its transactions over version ``height - 1`` ([EXEC-CTX.1]), applies the
    changes as version ``height``, prunes by the retention policy, stores the
    receipts (and the block-end receipts of its hooks, [EXEC-BLOCK-END.1]) and
    the execution roots ([EXEC-TRANSITION.1]). If it raises,
    the write transaction is aborted and the store is as before.
    """
    block = committed.block
    header = block.header
    height = header.height
    encoded = [encode(tx) for tx in block.transactions]
    ids = [tx_id(hash_fn, tx.body) for tx in block.transactions]
    with env.begin(write=True) as txn:
        repeats = store.repeated_positions(txn, ids)
        aliases = {
            i: alias
            for i, tx in enumerate(block.transactions)
            if (alias := ethereum_hash(tx)) is not None and i not in repeats
        }
        store.append_block(txn, block, committed.block_id, ids, repeats=repeats, aliases=aliases)
        store.put_certificate(txn, committed.certificate)
        if header.next_validators is not None:
            store.put_epoch(txn, next_epoch_start(committed))
        view = StateView(tree, txn, height - 1)
        enter_epoch(view, header.epoch)
        policy = view.get_struct(POLICY_KEY, ChainPolicy)
        assert policy is not None, "genesis writes the chain policy"
        context = BlockContext(
            chain_id=header.chain_id,
            height=height,
            timestamp_ms=header.timestamp_ms,
            proposer=header.proposer,
        )
        outcome = execute_block_outcome(
            runtime,
            view,
            policy,
            context,
            [
                (tx, i, len(raw))
                for tx, i, raw in zip(block.transactions, ids, encoded, strict=True)
            ],
            repeats,
        )
        state_root = tree.apply(txn, height, view.changes())
        if policy.retention_blocks and height % PRUNE_EVERY == 0:
            keep_from = height - policy.retention_blocks
            oldest = tree.oldest_version(txn)
            if oldest is not None and keep_from > oldest:
                tree.prune(txn, keep_from)
        outcomes = outcome.transactions
        receipts = tuple(o.receipt for o in outcomes)
        store.put_receipts(txn, height, receipts, [o.touched for o in outcomes])
        put_block_end_receipts(store, txn, height, outcome.block_end)
        receipts_root = merkle_root(
            hash_fn,
            [receipt_leaf(hash_fn, r) for r in receipts]
            + [block_end_leaf(hash_fn, r) for r in outcome.block_end],
        )
        record_roots(
            store,
            txn,
            height,
            ExecutionRoots(state_root=state_root, receipts_root=receipts_root),
            header.state_height,
        )
    return Executed(
        committed=committed,
        receipts=receipts,
        state_root=state_root,
        block_end=outcome.block_end,
    )


__all__ = [
    "PRUNE_EVERY",
    "CertifiedBy",
    "Executed",
    "ExecutionRoots",
    "GenesisAssembler",
    "GenesisWrites",
    "apply_block",
    "genesis_epoch",
    "install_genesis",
    "next_epoch_start",
    "read_certifying_height",
    "read_roots",
    "record_roots",
]
