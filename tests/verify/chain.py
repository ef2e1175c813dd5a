"""Builds certified chains for verifier tests, with every validator's key in hand.

Holding all keys lets a test play a Byzantine quorum: certify a block that an
honest validator would refuse (bad transaction signature, wrong state root),
which only the verifier's own checks can catch.
"""

from __future__ import annotations

from pathlib import Path

import lmdb
import msgspec

from consortia.codec import decode
from consortia.consensus.blocktree import CommittedBlock
from consortia.consensus.validators import Committee
from consortia.crypto import PrivateKey, get_suite
from consortia.genesis import Genesis, default_runtime
from consortia.ledger.merkle import merkle_root
from consortia.ledger.store import BlockStore
from consortia.ledger.types import (
    Block,
    BlockHeader,
    QuorumCert,
    Transaction,
    VoteData,
    block_id,
    proposal_signing_bytes,
    tx_leaf,
    vote_signing_bytes,
)
from consortia.node.config import NodeHome
from consortia.node.execution_service import apply_block, install_genesis, read_roots
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
        with self.env.begin(write=True) as txn:
            block, bid = install_genesis(
                self.store, self.tree, txn, self.genesis, default_runtime()
            )
        self.committee = Committee(self.genesis.chain_id, self.genesis.validators, bid)
        self.records: list[Record] = [(block, None)]
        self.last_id = bid
        self.last_qc = QuorumCert(
            epoch=0, round=0, height=0, block_id=bid, signers=(), signatures=()
        )

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
        """Execute and certify the next block; ``overrides`` replace header fields."""
        parent = self.records[-1][0].header
        height = parent.height + 1
        with self.env.begin() as txn:
            roots = read_roots(self.store, txn, height - 1)
        assert roots is not None
        round_ = parent.round + 1
        header = BlockHeader(
            chain_id=self.genesis.chain_id,
            epoch=0,
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
        )
        header = msgspec.structs.replace(header, **overrides)
        bid = block_id(self.hash, header)
        block = Block(
            header=header,
            transactions=transactions,
            signature=self.keys[header.proposer].sign(proposal_signing_bytes(bid)),
        )
        qc = self.certify(header, bid)
        apply_block(
            self.env,
            self.store,
            self.tree,
            default_runtime(),
            self.hash,
            CommittedBlock(block, bid, qc),
        )
        self.records.append((block, qc))
        self.last_id, self.last_qc = bid, qc
        return block

    def close(self) -> None:
        """Close the scratch store (idempotent)."""
        self.env.close()
