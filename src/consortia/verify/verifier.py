"""Checks a chain without trusting the node that served it ([VERIFY-CHAIN.1]).

Given only the genesis, for every block in height order:

0. with a pinned genesis id (``--genesis``), the genesis block recomputed
   from the genesis file must have it, so another chain with the same chain
   id is refused;
1. the genesis block is recomputed from the genesis file;
2. header links: height, chain id, epoch, parent id = id of the previous block;
3. the proposer is the round's leader and signed the block id;
4. ``justify`` is a valid QC (quorum weight of valid signatures from the
   validator set in force) for exactly the previous block;
4a. epochs ([CONS-EPOCH.1–2]): a block of the next epoch may only follow the
   block that ended the current one (the first carrying ``next_validators``),
   whose commit proof must verify against the current set; from there on
   the new set is in force, so a certificate signed by the old set is
   refused, and the new epoch's first block is justified by the epoch's
   root certificate. With re-execution, ``next_validators`` must be exactly
   what the certified state requested;
5. ``tx_root``/``tx_count`` match the transactions and every transaction's
   signature verifies;
6. the block's own certificate, where given, is a valid QC for it;
7. with re-execution (default) every transaction is executed on a fresh
   store (by :mod:`consortia.execution.transition`, the code the node runs)
   and each header's ``state_root`` and ``receipts_root`` must equal
   the recomputed roots of its ``state_height``, so a certified but wrong
   state root is caught too.

It stops at the first problem and names the height, the rule and a stable
code (verify/errors.py). A chain with no block, or one ending below an
explicit ``up_to``, never verifies; :func:`verify_export` also requires an
export to be whole to its trailer ([VERIFY-EXPORT.2]).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import lmdb

from consortia.codec import decode
from consortia.consensus.blocktree import CommittedBlock
from consortia.consensus.errors import ConsensusError
from consortia.consensus.validators import Committee
from consortia.crypto import get_suite
from consortia.errors import NodeError
from consortia.execution.epochs import VALIDATORS_NEXT_KEY
from consortia.execution.executor import Runtime
from consortia.execution.transition import ExecutionRoots, apply_block, read_roots
from consortia.genesis import Genesis, InvalidGenesis, install_genesis, runtime_for
from consortia.ledger.merkle import merkle_root
from consortia.ledger.store import BlockStore
from consortia.ledger.types import (
    Block,
    EpochStart,
    Hasher,
    QuorumCert,
    ValidatorSet,
    block_id,
    epoch_root_qc,
    proposal_signing_bytes,
    tx_leaf,
)
from consortia.mempool.pool import verify_signatures
from consortia.state import StateTree
from consortia.verify.errors import (
    ApplicationUnavailable,
    ChainIncomplete,
    ChainInvalid,
    GenesisMismatch,
    VerifyError,
)
from consortia.verify.export import read_export


@dataclass
class VerifyReport:
    """What the verifier found."""

    blocks: int = 0
    """Blocks verified, from height 0."""
    transactions: int = 0
    executed: bool = False
    first_bad_height: int | None = None
    problem: str = ""
    code: str = ""
    """The stable code of the problem (a :class:`VerifyError` code); empty when verified."""
    genesis_id: bytes = b""
    """The id of the genesis block, recomputed from the genesis file (empty if it cannot be)."""
    last_id: bytes = b""
    """The id of the last verified block."""
    up_to: int | None = None
    """The last height asked for (``--up-to``), or None for the whole chain."""
    source_blocks: int | None = None
    """Blocks the source holds: the export header's count, or the node's committed height + 1."""

    @property
    def ok(self) -> bool:
        """True when every block asked for passed."""
        return not self.code

    def fail(self, error: VerifyError) -> VerifyReport:
        """Record ``error`` as the problem (the first one wins); returns self."""
        if not self.code:
            self.code = error.code
            self.problem = error.message
            self.first_bad_height = self.blocks if error.height is None else error.height
        return self


class _Bad(ChainInvalid):
    """A block breaks a rule: raised with (height, problem), as the checks read best."""

    def __init__(self, height: int, problem: str) -> None:
        super().__init__(problem, height)
        self.problem = problem


def _check_transactions(height: int, block: Block, hash_fn: Hasher) -> None:
    for i, ok in enumerate(verify_signatures(block.transactions)):
        if not ok:
            raise _Bad(height, f"transaction {i} has a bad signature or key")


def verify_chain(
    genesis: Genesis,
    records: Iterable[tuple[Block, QuorumCert | None]],
    *,
    execute: bool = True,
    epochs: Mapping[int, EpochStart] | None = None,
    genesis_id: bytes | None = None,
    up_to: int | None = None,
) -> VerifyReport:
    """Verify ``records`` (block, certificate) from height 0 against ``genesis``.

    Parameters:
        genesis: the genesis file the chain claims to start from.
        records: blocks with their certificates, in height order from 0; a
            :class:`VerifyError` raised while iterating (a truncated export,
            a malformed node answer) becomes the report's problem.
        execute: re-execute every block to check state and receipts roots.
        epochs: the start of every epoch after the first (with the commit
            proof of its root), as a node serves them.
        genesis_id: the pinned id of the genesis block ([VERIFY-CHAIN.1] 0);
            another genesis fails with ``VERIFY_GENESIS_MISMATCH``.
        up_to: verify blocks 0..``up_to`` only and stop reading there; the
            records must reach it. None verifies every record given.

    Returns:
        The report; a chain with no block at all, or one that ends below
        ``up_to``, fails with ``VERIFY_CHAIN_INCOMPLETE``.
    """
    report = VerifyReport(executed=execute, up_to=up_to)
    try:
        hash_fn = get_suite(genesis.suite).hash
    except NodeError as exc:
        return report.fail(_Bad(0, f"the genesis file names no usable suite: {exc.message}"))
    with tempfile.TemporaryDirectory(prefix="consortia-verify-") as tmp:
        env = lmdb.open(str(Path(tmp) / "replay"), max_dbs=32, map_size=1 << 36)
        try:
            _verify_records(env, hash_fn, genesis, records, report, epochs or {}, genesis_id)
        except VerifyError as error:
            report.fail(error)
        finally:
            env.close()
    return report


def _verify_records(
    env: lmdb.Environment,
    hash_fn: Hasher,
    genesis: Genesis,
    records: Iterable[tuple[Block, QuorumCert | None]],
    report: VerifyReport,
    epochs: Mapping[int, EpochStart],
    pinned: bytes | None,
) -> None:
    """The body of :func:`verify_chain`: raises the first :class:`VerifyError` found."""
    starts = dict(epochs)
    up_to = report.up_to
    execute = report.executed
    store, tree = BlockStore(env), StateTree(env, hash_fn)
    try:
        runtime = runtime_for(genesis)
    except InvalidGenesis as exc:  # an application missing here, or clashing
        raise ApplicationUnavailable(
            f"the chain's runtime cannot be built: {exc.message} [{exc.code}]", 0
        ) from None
    try:
        _, genesis_id = install_genesis(env, store, tree, genesis, runtime)
    except NodeError as exc:
        raise _Bad(0, f"the genesis file cannot be installed: {exc.message}") from None
    report.genesis_id = genesis_id
    if pinned is not None and genesis_id != pinned:
        raise GenesisMismatch(
            f"genesis block 0x{genesis_id.hex()} is not the pinned 0x{pinned.hex()} "
            f"(a different chain, though its chain id may be {genesis.chain_id!r} too)",
            0,
        )
    committee = Committee(genesis.chain_id, genesis.validators, genesis_id)
    previous: Block | None = None
    previous_id = b""
    for block, certificate in records:
        height = report.blocks
        bid = block_id(hash_fn, block.header)
        if certificate is None and height > 0:
            raise _Bad(height, "block came without its certificate")
        if height == 0:
            if bid != genesis_id:
                raise _Bad(0, "genesis block does not match the genesis file")
        else:
            assert previous is not None
            committee = _follow_epoch(committee, starts, block, previous, previous_id, hash_fn)
            _check_block(committee, block, bid, previous, previous_id, hash_fn)
            if execute:
                assert certificate is not None
                with env.begin() as txn:
                    _check_roots(block, read_roots(store, txn, block.header.state_height))
                    _check_next_set(block, tree, txn)
                _execute(env, store, tree, runtime, hash_fn, block, bid, certificate, starts)
        if certificate is not None:
            _check_certificate(committee, certificate, block, bid, height)
        report.blocks += 1
        report.transactions += len(block.transactions)
        report.last_id = bid
        previous, previous_id = block, bid
        if up_to is not None and height >= up_to:
            return
    if report.blocks == 0:
        raise ChainIncomplete("the chain holds no block, not even the genesis block", 0)
    if up_to is not None:
        raise ChainIncomplete(
            f"the chain ends at height {report.blocks - 1}, below --up-to {up_to}", report.blocks
        )


def verify_export(
    path: Path,
    *,
    execute: bool = True,
    genesis_id: bytes | None = None,
    up_to: int | None = None,
) -> VerifyReport:
    """Verify an export file ([VERIFY-EXPORT.2]): whole, to its trailer, or to ``up_to``.

    Without ``up_to`` every block and the trailer must be present and agree;
    with it, blocks 0..``up_to`` are verified and the rest of the file is not
    read (the report says so through ``up_to`` and ``source_blocks``).

    Raises:
        OSError: the file cannot be opened.
    """
    report = VerifyReport(executed=execute, up_to=up_to)
    try:
        header, blocks = read_export(path)
    except VerifyError as error:
        return report.fail(error)
    with closing(blocks):
        if up_to is not None and up_to >= header.blocks:
            report.source_blocks = header.blocks
            return report.fail(
                ChainIncomplete(
                    f"--up-to {up_to} is beyond the export, which holds heights "
                    f"0..{header.blocks - 1}",
                    header.blocks,
                )
            )
        report = verify_chain(
            header.genesis,
            ((b.block, b.certificate) for b in blocks),
            execute=execute,
            epochs={start.epoch: start for start in header.epochs},
            genesis_id=genesis_id,
            up_to=up_to,
        )
    report.source_blocks = header.blocks
    return report


def _follow_epoch(
    committee: Committee,
    starts: Mapping[int, EpochStart],
    block: Block,
    previous: Block,
    previous_id: bytes,
    hash_fn: Hasher,
) -> Committee:
    """The committee for ``block``: the current one, or the next after an epoch end."""
    height = block.header.height
    ending = previous.header.next_validators
    ended = ending is not None and previous.header.epoch == committee.epoch
    if block.header.epoch == committee.epoch:
        if ended:
            raise _Bad(height, "block continues an epoch that its parent ended")
        return committee
    if not ended or ending is None or block.header.epoch != ending.epoch:
        raise _Bad(height, f"epoch {block.header.epoch} where {committee.epoch} is in force")
    start = starts.get(ending.epoch)
    if start is None or start.proof is None:
        raise _Bad(height, f"no commit proof for the start of epoch {ending.epoch}")
    if (
        start.root_id != previous_id
        or start.root_height != previous.header.height
        or start.validators != ending
    ):
        raise _Bad(height, f"epoch {ending.epoch} start does not match the block ending it")
    try:
        committee.verify_commit_proof(previous_id, start.proof, hash_fn)
    except ConsensusError as exc:
        raise _Bad(height - 1, f"epoch-ending block not proven committed: {exc.message}") from None
    return Committee(
        committee.chain_id,
        ending,
        committee.genesis_id,
        root=(previous.header.height, previous_id),
    )


def _check_next_set(block: Block, tree: StateTree, txn: lmdb.Transaction) -> None:
    header = block.header
    raw = tree.get(txn, VALIDATORS_NEXT_KEY, header.state_height)
    pending = None if raw is None else decode(raw, ValidatorSet)
    expected = pending if pending is not None and pending.epoch == header.epoch + 1 else None
    if header.next_validators != expected:
        raise _Bad(header.height, "next_validators is not the set the certified state requests")


def _check_block(
    committee: Committee,
    block: Block,
    bid: bytes,
    previous: Block,
    previous_id: bytes,
    hash_fn: Hasher,
) -> None:
    header = block.header
    height = previous.header.height + 1
    if header.height != height:
        raise _Bad(height, f"height {header.height} where {height} was expected")
    if header.parent_id != previous_id:
        raise _Bad(height, "parent id is not the id of the previous block (broken hash link)")
    if header.chain_id != committee.chain_id or header.epoch != committee.epoch:
        raise _Bad(height, f"block is for chain {header.chain_id!r} epoch {header.epoch}")
    new_epoch = header.epoch != previous.header.epoch
    if header.round <= previous.header.round and not new_epoch:
        raise _Bad(height, f"round {header.round} does not rise above {previous.header.round}")
    if header.proposer != committee.leader(header.round):
        raise _Bad(height, f"proposer {header.proposer} is not the leader of round {header.round}")
    if not committee.public_keys[header.proposer].verify(
        proposal_signing_bytes(bid), block.signature
    ):
        raise _Bad(height, "proposer signature does not verify")
    justify = header.justify
    if new_epoch:
        if justify != epoch_root_qc(header.epoch, previous.header.height, previous_id):
            raise _Bad(height, "first block of an epoch is not justified by its root certificate")
    elif (
        justify.block_id != previous_id
        or justify.round != previous.header.round
        or justify.height != previous.header.height
    ):
        raise _Bad(height, "justify QC does not certify the previous block")
    try:
        committee.verify_qc(justify)
    except ConsensusError as exc:
        raise _Bad(height, f"justify QC invalid: {exc.message}") from None
    leaves = [tx_leaf(hash_fn, tx) for tx in block.transactions]
    if header.tx_count != len(block.transactions) or merkle_root(hash_fn, leaves) != header.tx_root:
        raise _Bad(height, "transaction root or count does not match the transactions")
    _check_transactions(height, block, hash_fn)
    if not previous.header.state_height <= header.state_height < height:
        raise _Bad(height, f"state height {header.state_height} out of range")


def _execute(
    env: lmdb.Environment,
    store: BlockStore,
    tree: StateTree,
    runtime: Runtime,
    hash_fn: Hasher,
    block: Block,
    bid: bytes,
    certificate: QuorumCert,
    starts: Mapping[int, EpochStart],
) -> None:
    ending = block.header.next_validators
    proof = None
    if ending is not None:
        start = starts.get(ending.epoch)
        if start is None or start.proof is None:
            message = f"no commit proof for the start of epoch {ending.epoch}"
            raise _Bad(block.header.height, message)
        proof = start.proof
    try:
        apply_block(
            env,
            store,
            tree,
            runtime,
            hash_fn,
            CommittedBlock(block, bid, certificate, commit_proof=proof),
        )
    except NodeError as exc:  # e.g. a transaction committed twice
        raise _Bad(block.header.height, f"block cannot be executed: {exc.message}") from None


def _check_roots(block: Block, expected: ExecutionRoots | None) -> None:
    header = block.header
    if expected is None:
        raise _Bad(header.height, f"state height {header.state_height} was never executed")
    if header.state_root != expected.state_root:
        raise _Bad(header.height, f"state root for height {header.state_height} is wrong")
    if header.receipts_root != expected.receipts_root:
        raise _Bad(header.height, f"receipts root for height {header.state_height} is wrong")


def _check_certificate(
    committee: Committee, certificate: QuorumCert, block: Block, bid: bytes, height: int
) -> None:
    if height == 0:
        if certificate.round != 0 or certificate.block_id != bid:
            raise _Bad(0, "genesis certificate does not certify the genesis block")
        return
    if certificate.block_id != bid or certificate.round != block.header.round:
        raise _Bad(height, "certificate does not certify this block")
    try:
        committee.verify_qc(certificate)
    except ConsensusError as exc:
        raise _Bad(height, f"certificate invalid: {exc.message}") from None


__all__ = ["VerifyReport", "verify_chain", "verify_export"]
