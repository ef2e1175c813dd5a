"""Builds certified chains for verifier tests, with every validator's key in hand.

Holding all keys lets a test play a Byzantine quorum: certify a block that an
honest validator would refuse (bad transaction signature, wrong state root),
which only the verifier's own checks can catch.
"""

from __future__ import annotations

import struct
from pathlib import Path

import lmdb
import msgspec

from consortia.codec import decode
from consortia.consensus.blocktree import CommittedBlock
from consortia.consensus.validators import Committee
from consortia.crypto import PrivateKey, get_suite
from consortia.execution.epochs import VALIDATORS_NEXT_KEY
from consortia.execution.transition import apply_block, read_roots
from consortia.genesis import Genesis, default_runtime, install_genesis
from consortia.ledger.merkle import merkle_root
from consortia.ledger.store import BlockStore
from consortia.ledger.types import (
    Block,
    BlockHeader,
    CommitProof,
    EpochStart,
    QuorumCert,
    Transaction,
    ValidatorSet,
    VoteData,
    block_id,
    epoch_root_qc,
    proposal_signing_bytes,
    tx_leaf,
    vote_signing_bytes,
)
from consortia.node.config import NodeHome
from consortia.node.init import init_network
from consortia.state import StateTree

Record = tuple[Block, QuorumCert | None]


class ChainBuilder:
    """Appends blocks with consecutive rounds, each certified by every validator."""

    def __init__(self, tmp: Path, validators: int = 4, suite: str = "sm") -> None:
        entries = init_network(tmp / "net", validators=validators, orgs=validators, suite=suite)
        homes = [NodeHome(e.home) for e in entries]
        self.genesis = decode(homes[0].genesis_file.read_bytes(), Genesis)
        self.keys = [PrivateKey.from_pem(h.validator_key.read_bytes()) for h in homes]
        self.user_keys = [
            PrivateKey.from_pem((tmp / "net" / "keys" / f"{n}.pem").read_bytes())
            for n in ("alice", "bob")
        ]
        self.hash = get_suite(suite).hash
        self.env = lmdb.open(str(tmp / "scratch"), max_dbs=32, map_size=1 << 30)
        self.store, self.tree = BlockStore(self.env), StateTree(self.env, self.hash)
        block, bid = install_genesis(
            self.env, self.store, self.tree, self.genesis, default_runtime()
        )
        self.committee = Committee(self.genesis.chain_id, self.genesis.validators, bid)
        self.records: list[Record] = [(block, None)]
        self.last_id = bid
        self.last_qc = QuorumCert(
            epoch=0, round=0, height=0, block_id=bid, signers=(), signatures=()
        )
        self.known_keys = {k.public_key().to_bytes(): k for k in self.keys}
        """Every consensus key seen, by public key (validators may join later)."""
        self.epochs: dict[int, EpochStart] = {}
        """The start of every epoch after the first, as a node serves them."""
        self.epoch_ended = False

    def _next_set(self, epoch: int, state_height: int) -> ValidatorSet | None:
        with self.env.begin() as txn:
            raw = self.tree.get(txn, VALIDATORS_NEXT_KEY, state_height)
        pending = None if raw is None else decode(raw, ValidatorSet)
        return pending if pending is not None and pending.epoch == epoch + 1 else None

    def _enter_next_epoch(self) -> None:
        """The last block ended the epoch: switch to the next set, as a node does."""
        block, _ = self.records[-1]
        ending = block.header.next_validators
        assert ending is not None
        start = self.epochs[ending.epoch]
        self.committee = Committee(
            self.genesis.chain_id,
            ending,
            self.committee.genesis_id,
            root=(block.header.height, self.last_id),
        )
        self.keys = [self.known_keys[v.public_key] for v in ending.validators]
        self.last_qc = epoch_root_qc(ending.epoch, start.root_height, start.root_id)
        self.epoch_ended = False

    def _commit_proof(self, header: BlockHeader, bid: bytes, qc: QuorumCert) -> CommitProof:
        """The proof a node would store: an empty child certified by the same set."""
        round_ = header.round + 1
        child = msgspec.structs.replace(
            header,
            round=round_,
            height=header.height + 1,
            parent_id=bid,
            proposer=self.committee.leader(round_),
            timestamp_ms=header.timestamp_ms + 1000,
            tx_root=merkle_root(self.hash, []),
            tx_count=0,
            justify=qc,
        )
        child_id = block_id(self.hash, child)
        return CommitProof(headers=(child,), qc=self.certify(child, child_id))

    def certify(
        self, header: BlockHeader, bid: bytes, signers: list[PrivateKey] | None = None
    ) -> QuorumCert:
        """A QC on ``bid`` signed by ``signers`` (default: every validator)."""
        keys = signers if signers is not None else self.keys
        data = VoteData(
            chain_id=header.chain_id,
            epoch=header.epoch,
            round=header.round,
            height=header.height,
            block_id=bid,
        )
        message = vote_signing_bytes(data)
        return QuorumCert(
            epoch=header.epoch,
            round=header.round,
            height=header.height,
            block_id=bid,
            signers=tuple(range(len(keys))),
            signatures=tuple(k.sign(message) for k in keys),
        )

    def add(self, transactions: tuple[Transaction, ...] = (), **overrides: object) -> Block:
        """Execute and certify the next block; ``overrides`` replace header fields.

        Like an honest proposer it sets ``next_validators`` from the certified
        state; a block that ends the epoch is stored with a commit proof and
        the next block opens the new epoch.
        """
        if self.epoch_ended:
            self._enter_next_epoch()
        parent = self.records[-1][0].header
        height = parent.height + 1
        with self.env.begin() as txn:
            roots = read_roots(self.store, txn, height - 1)
        assert roots is not None
        round_ = 1 if self.last_qc.round == 0 else parent.round + 1
        epoch = self.committee.epoch
        header = BlockHeader(
            chain_id=self.genesis.chain_id,
            epoch=epoch,
            round=round_,
            height=height,
            parent_id=self.last_id,
            proposer=self.committee.leader(round_),
            timestamp_ms=parent.timestamp_ms + 1000,
            tx_root=merkle_root(self.hash, [tx_leaf(self.hash, tx) for tx in transactions]),
            tx_count=len(transactions),
            state_height=height - 1,
            state_root=roots.state_root,
            receipts_root=roots.receipts_root,
            justify=self.last_qc,
            next_validators=self._next_set(epoch, height - 1),
        )
        header = msgspec.structs.replace(header, **overrides)
        bid = block_id(self.hash, header)
        block = Block(
            header=header,
            transactions=transactions,
            signature=self.keys[header.proposer].sign(proposal_signing_bytes(bid)),
        )
        qc = self.certify(header, bid)
        proof = None
        if header.next_validators is not None:
            proof = self._commit_proof(header, bid, qc)
            self.epochs[header.next_validators.epoch] = EpochStart(
                epoch=header.next_validators.epoch,
                validators=header.next_validators,
                root_height=height,
                root_id=bid,
                proof=proof,
            )
            self.epoch_ended = True
        apply_block(
            self.env,
            self.store,
            self.tree,
            default_runtime(),
            self.hash,
            CommittedBlock(block, bid, qc, commit_proof=proof),
        )
        self.records.append((block, qc))
        self.last_id, self.last_qc = bid, qc
        return block

    def close(self) -> None:
        """Close the scratch store (idempotent)."""
        self.env.close()


FRAME_LENGTH = struct.Struct(">I")
"""An export frame's length prefix ([VERIFY-EXPORT.2] in docs/spec/ledger.md)."""


def export_frames(data: bytes) -> list[bytes]:
    """The frames of a well-formed export, each with its length prefix."""
    frames, offset = [], 0
    while offset < len(data):
        (length,) = FRAME_LENGTH.unpack_from(data, offset)
        frames.append(data[offset : offset + FRAME_LENGTH.size + length])
        offset += FRAME_LENGTH.size + length
    return frames
