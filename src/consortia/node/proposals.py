"""Building our proposals and checking other leaders' proposals before a vote.

Block timing ([NODE-INTERVAL.1], docs/consensus.md): a leader proposes as soon
as it holds transactions and ``min_block_interval_ms`` has passed since the
parent; while the parent or grandparent holds transactions it keeps proposing
(empty blocks carry the QCs that commit them and tell every validator so); otherwise it proposes
an empty block only after ``idle_block_interval_ms``. This is empty-block
suppression with a bounded idle interval.

Epochs ([CONS-EPOCH.1], docs/consensus.md): a block whose certified state
(at ``state_height``) requests the next epoch's validator set carries that set
in ``next_validators``; the first such block to commit ends the epoch. Its
descendants in the same epoch carry no transactions: they only exist to
commit it, and are dropped when it commits.

State roots ([NODE-STATE-ROOT.1]): a block carries the state and receipts
roots of a height its proposer has executed, never below its parent's
``state_height`` and at most two below the parent (the height the parent's QC
committed), so voters have already executed it when the proposal arrives and
execution stays off the round's critical path; voters check the roots against
their own execution, so every executed root is certified a few blocks later.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from consortia.codec import encode
from consortia.consensus.blocktree import BlockTree
from consortia.consensus.errors import InvalidProposal
from consortia.ledger.merkle import merkle_root
from consortia.ledger.types import (
    Block,
    BlockHeader,
    Hasher,
    QuorumCert,
    Transaction,
    ValidatorSet,
    tx_id,
    tx_leaf,
    tx_signer_keys,
)
from consortia.mempool import Mempool
from consortia.mempool.pool import verify_signatures
from consortia.node.execution_service import ExecutionService
from consortia.node.reader import LedgerReader


def wall_clock_ms() -> int:
    """Local time in milliseconds (proposer timestamps only; never used in execution)."""
    return time.time_ns() // 1_000_000


def expected_next_set(reader: LedgerReader, epoch: int, state_height: int) -> ValidatorSet | None:
    """``next_validators`` of a block of ``epoch`` certifying ``state_height``."""
    pending = reader.pending_set(state_height)
    return pending if pending is not None and pending.epoch == epoch + 1 else None


def ends_epoch(block: Block, epoch: int) -> bool:
    """True if ``block`` (of ``epoch``) ends it: its descendants in ``epoch`` stay empty."""
    return block.header.epoch == epoch and block.header.next_validators is not None


def pending_chain(tree: BlockTree, parent_id: bytes) -> list[Block]:
    """Uncommitted blocks from ``parent_id`` down to (excluding) the committed root."""
    chain: list[Block] = []
    block_id = parent_id
    while block_id != tree.root_id:
        block = tree.get(block_id)
        if block is None:
            break
        chain.append(block)
        block_id = block.header.parent_id
    return chain


class BlockProposer:
    """Implements :class:`consortia.consensus.core.BlockBuilder` for a node."""

    def __init__(
        self,
        *,
        chain_id: str,
        epoch: int,
        me: int,
        hash_fn: Hasher,
        tree: BlockTree,
        mempool: Mempool,
        reader: LedgerReader,
        execution: ExecutionService,
        min_interval_ms: int,
        idle_interval_ms: int,
        clock_ms: Callable[[], int] = wall_clock_ms,
        monotonic_ms: Callable[[], int] = lambda: time.monotonic_ns() // 1_000_000,
    ) -> None:
        self._chain_id = chain_id
        self._epoch = epoch
        self._me = me
        self._hash = hash_fn
        self._tree = tree
        self._mempool = mempool
        self._reader = reader
        self._execution = execution
        self._min_interval = min_interval_ms
        self._idle_interval = idle_interval_ms
        self._clock = clock_ms
        self._monotonic_ms = monotonic_ms
        self._parent_id = b""
        self._parent_seen_ms = 0

    def build(
        self, parent: Block, parent_id: bytes, round_: int, justify: QuorumCert
    ) -> Block | None:
        """An unsigned block for ``round_``, or None while there is nothing to do yet.

        Pacing is measured on the local monotonic clock from when this parent
        was first offered, never from its timestamp, so a proposer whose wall
        clock is skewed cannot hold the others back ([NODE-INTERVAL.1]).
        """
        if parent_id != self._parent_id:
            self._parent_id, self._parent_seen_ms = parent_id, self._monotonic_ms()
        now = max(self._clock(), parent.header.timestamp_ms)
        elapsed = self._monotonic_ms() - self._parent_seen_ms
        if elapsed < self._min_interval:
            return None
        executed = self._execution.executed_height
        if executed < parent.header.state_height:
            return None
        # Certify a height the voters have had a round to execute: the one the
        # parent's own QC committed (two below the parent with consecutive
        # rounds), not the one this block's QC commits just now ([NODE-STATE-ROOT.1]).
        state_height = max(parent.header.state_height, min(executed, parent.header.height - 2))
        roots = self._reader.roots(state_height)
        if roots is None:
            return None
        next_validators = expected_next_set(self._reader, self._epoch, state_height)
        if ends_epoch(parent, self._epoch):
            return self._unsigned(
                parent, parent_id, round_, justify, now, state_height, (), next_validators
            )
        in_flight = pending_chain(self._tree, parent_id)
        backlog = [c.block for c in self._execution.backlog()]
        unexecuted = in_flight + backlog
        next_nonces: dict[bytes, int] = {}
        for block in unexecuted:
            for tx in block.transactions:
                sender = tx.body.sender
                next_nonces[sender] = max(next_nonces.get(sender, 0), tx.body.nonce + 1)

        policy = self._reader.policy()
        with self._reader.begin() as txn:  # one read transaction for every sender
            executed_nonce = self._reader.nonce_lookup(txn)

            def next_nonce(address: bytes) -> int:
                return max(next_nonces.get(address, 0), executed_nonce(address))

            chosen = self._mempool.select(
                max_txs=policy.max_block_txs,
                max_bytes=policy.max_block_bytes,
                next_nonce=next_nonce,
                max_gas=policy.block_gas_limit,
            )
        # The parent and grandparent, committed or not: while either holds
        # transactions, the next blocks carry the QCs that tell everyone of
        # their commit, so keep proposing even without new transactions.
        grandparent = self._tree.get(parent.header.parent_id)
        recent = [parent] if grandparent is None else [parent, grandparent]
        flushing = any(b.transactions for b in recent) or bool(backlog)
        if not chosen and not flushing and elapsed < self._idle_interval:
            return None
        transactions = tuple(p.tx for p in chosen)
        return self._unsigned(
            parent, parent_id, round_, justify, now, state_height, transactions, next_validators
        )

    def _unsigned(
        self,
        parent: Block,
        parent_id: bytes,
        round_: int,
        justify: QuorumCert,
        now: int,
        state_height: int,
        transactions: tuple[Transaction, ...],
        next_validators: ValidatorSet | None,
    ) -> Block:
        roots = self._reader.roots(state_height)
        assert roots is not None, "the caller checked the state height is executed"
        header = BlockHeader(
            chain_id=self._chain_id,
            epoch=self._epoch,
            round=round_,
            height=parent.header.height + 1,
            parent_id=parent_id,
            proposer=self._me,
            timestamp_ms=now,
            tx_root=merkle_root(self._hash, [tx_leaf(self._hash, tx) for tx in transactions]),
            tx_count=len(transactions),
            state_height=state_height,
            state_root=roots.state_root,
            receipts_root=roots.receipts_root,
            justify=justify,
            next_validators=next_validators,
        )
        return Block(header=header, transactions=transactions, signature=b"")


class ProposalChecker:
    """Implements :class:`consortia.consensus.core.ProposalValidator` for a node."""

    def __init__(
        self,
        *,
        hash_fn: Hasher,
        mempool: Mempool,
        reader: LedgerReader,
        max_clock_skew_ms: int,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self._hash = hash_fn
        self._mempool = mempool
        self._reader = reader
        self._skew = max_clock_skew_ms
        self._clock = clock_ms

    def validate(self, block: Block, parent: Block, *, certified: bool = False) -> None:
        """Raise :class:`InvalidProposal` unless the block may be voted for.

        A ``certified`` block (fetched by sync, with a QC) is only checked for
        integrity: its payload must match its header.
        """
        header = block.header
        txs = block.transactions
        if header.tx_count != len(txs):
            raise InvalidProposal(
                f"block has {len(txs)} transactions (header says {header.tx_count})"
            )
        if merkle_root(self._hash, [tx_leaf(self._hash, tx) for tx in txs]) != header.tx_root:
            raise InvalidProposal("transaction root does not match the transactions")
        if certified:
            return
        if header.timestamp_ms < parent.header.timestamp_ms:
            raise InvalidProposal("timestamp is below the parent's")
        if header.timestamp_ms > self._clock() + self._skew:
            raise InvalidProposal(f"timestamp is more than {self._skew} ms ahead of local time")
        policy = self._reader.policy()
        if len(txs) > policy.max_block_txs:
            raise InvalidProposal(
                f"block has {len(txs)} transactions, limit {policy.max_block_txs}"
            )
        size = sum(len(encode(tx)) for tx in txs)
        if size > policy.max_block_bytes:
            raise InvalidProposal(f"block payload is {size} bytes, limit {policy.max_block_bytes}")
        gas = sum(tx.body.gas_limit for tx in txs)
        if gas > policy.block_gas_limit:
            raise InvalidProposal(f"block asks for {gas} gas, limit {policy.block_gas_limit}")
        self._check_state(header, parent.header)
        self._check_epoch_change(block, parent)
        self._check_transactions(txs, header.chain_id, policy.allowed_key_types)
        if self._reader.repeated_positions([tx_id(self._hash, tx.body) for tx in txs]):
            raise InvalidProposal("block repeats a transaction that is already committed")

    def _check_state(self, header: BlockHeader, parent: BlockHeader) -> None:
        if header.state_height < parent.state_height or header.state_height >= header.height:
            raise InvalidProposal(
                f"state height {header.state_height} not in "
                f"[{parent.state_height}, {header.height})"
            )
        roots = self._reader.roots(header.state_height)
        if roots is None:
            raise InvalidProposal(f"state height {header.state_height} is not executed here yet")
        if roots.state_root != header.state_root or roots.receipts_root != header.receipts_root:
            raise InvalidProposal(f"state or receipts root of height {header.state_height} differs")

    def _check_epoch_change(self, block: Block, parent: Block) -> None:
        header = block.header
        expected = expected_next_set(self._reader, header.epoch, header.state_height)
        if header.next_validators != expected:
            raise InvalidProposal(
                f"next_validators differs from the set the state of height "
                f"{header.state_height} requests"
            )
        if ends_epoch(parent, header.epoch) and block.transactions:
            raise InvalidProposal("a block after an epoch-ending block must be empty")

    def _check_transactions(
        self, txs: tuple[Transaction, ...], chain_id: str, allowed: tuple[str, ...]
    ) -> None:
        unverified = []
        for tx in txs:
            if tx.body.chain_id != chain_id or any(
                key_type not in allowed for key_type, _ in tx_signer_keys(tx)
            ):
                raise InvalidProposal("block holds a transaction of another chain or key type")
            if not self._mempool.holds(tx_id(self._hash, tx.body), tx):
                unverified.append(tx)  # pooled ones were verified on admission
        if not all(verify_signatures(unverified)):
            raise InvalidProposal("block holds a transaction with a bad signature or key")
        self._pool_verified(unverified)

    def _pool_verified(self, txs: list[Transaction]) -> None:
        """Pool transactions first seen in a proposal, now verified: their gossip, still
        queued here, then costs no second check, and if this block is abandoned a later
        leader can still offer them."""
        if not txs:
            return
        with self._reader.begin() as txn:
            self._mempool.add_many(
                [(tx, len(encode(tx))) for tx in txs],
                self._reader.height(),
                self._reader.sender_lookup(txn),  # a forged sender is not pooled either
                verified=[True] * len(txs),
            )
