"""Shared fixtures of the consensus tests: keys, genesis, hand-built blocks and certificates,
and in-memory backends of the core's storage and payload interfaces.

Keys come from fixed secrets (``PrivateKey.from_secret``) so every run uses the same
validator set; blocks carry no transactions, and a payload counter in ``tx_root``
makes each proposal distinct.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from consortia.codec import decode, encode
from consortia.consensus.safety import SafetyData
from consortia.consensus.types import TimeoutCert, TimeoutData, timeout_signing_bytes
from consortia.consensus.validators import Committee
from consortia.crypto import KeyType, PrivateKey, sha256
from consortia.ledger.types import (
    ZERO_HASH,
    Block,
    BlockHeader,
    QuorumCert,
    ValidatorInfo,
    ValidatorSet,
    VoteData,
    block_id,
    proposal_signing_bytes,
    vote_signing_bytes,
)

CHAIN_ID = "consensus-test"
EPOCH = 1
HASH = sha256
GENESIS_TIMESTAMP_MS = 1_700_000_000_000
GENESIS_STATE_ROOT = sha256(b"genesis state")
EMPTY_ROOT = sha256(b"empty")


def validator_key(index: int, key_type: KeyType = KeyType.P256) -> PrivateKey:
    """The fixed test key of validator ``index``."""
    return PrivateKey.from_secret(key_type, sha256(b"consensus-test-validator-%d" % index))


def genesis_qc(block_id_: bytes, epoch: int = EPOCH) -> QuorumCert:
    """Round-0 certificate of the genesis block (no signatures)."""
    return QuorumCert(epoch=epoch, round=0, height=0, block_id=block_id_, signers=(), signatures=())


def genesis_block(epoch: int = EPOCH) -> tuple[Block, bytes]:
    """The genesis block of the test chain and its id."""
    header = BlockHeader(
        chain_id=CHAIN_ID,
        epoch=epoch,
        round=0,
        height=0,
        parent_id=ZERO_HASH,
        proposer=0,
        timestamp_ms=GENESIS_TIMESTAMP_MS,
        tx_root=EMPTY_ROOT,
        tx_count=0,
        state_height=0,
        state_root=GENESIS_STATE_ROOT,
        receipts_root=EMPTY_ROOT,
        justify=genesis_qc(ZERO_HASH, epoch),
    )
    return Block(header=header, transactions=(), signature=b""), block_id(HASH, header)


@dataclass
class Chain:
    """A validator set with its keys, committee and genesis."""

    keys: list[PrivateKey]
    weights: list[int]
    committee: Committee
    genesis: Block
    genesis_id: bytes
    epoch: int = EPOCH

    @property
    def genesis_qc(self) -> QuorumCert:
        return genesis_qc(self.genesis_id, self.epoch)

    def fresh_committee(self) -> Committee:
        """A new Committee (own QC cache) over the same set."""
        return Committee(CHAIN_ID, self.committee.validator_set, self.genesis_id)


def make_chain(
    n: int = 4,
    *,
    weights: Sequence[int] | None = None,
    key_type: KeyType = KeyType.P256,
    epoch: int = EPOCH,
) -> Chain:
    """``n`` validators with fixed keys (weight 1 each unless given)."""
    keys = [validator_key(i, key_type) for i in range(n)]
    ws = list(weights) if weights is not None else [1] * n
    infos = tuple(
        ValidatorInfo(
            name=f"v{i}",
            organisation=f"org{i}",
            address=k.public_key().address(),
            key_type=str(key_type),
            public_key=k.public_key().to_bytes(),
            weight=w,
        )
        for i, (k, w) in enumerate(zip(keys, ws, strict=True))
    )
    genesis, gid = genesis_block(epoch)
    committee = Committee(CHAIN_ID, ValidatorSet(epoch=epoch, validators=infos), gid)
    return Chain(keys=keys, weights=ws, committee=committee, genesis=genesis, genesis_id=gid)


def unsigned_block(
    parent: Block,
    parent_id: bytes,
    round_: int,
    justify: QuorumCert,
    proposer: int,
    payload: bytes = b"",
) -> Block:
    """A block extending ``parent`` with no transactions; ``payload`` tags its tx_root."""
    header = BlockHeader(
        chain_id=CHAIN_ID,
        epoch=parent.header.epoch or EPOCH,
        round=round_,
        height=parent.header.height + 1,
        parent_id=parent_id,
        proposer=proposer,
        timestamp_ms=parent.header.timestamp_ms + 1,
        tx_root=HASH(b"payload" + payload) if payload else EMPTY_ROOT,
        tx_count=0,
        state_height=0,
        state_root=GENESIS_STATE_ROOT,
        receipts_root=EMPTY_ROOT,
        justify=justify,
    )
    return Block(header=header, transactions=(), signature=b"")


def signed_block(
    chain: Chain,
    parent: Block,
    parent_id: bytes,
    round_: int,
    justify: QuorumCert,
    *,
    proposer: int | None = None,
    payload: bytes = b"",
) -> tuple[Block, bytes]:
    """A block signed by ``proposer`` (the round's leader by default) and its id."""
    who = chain.committee.leader(round_) if proposer is None else proposer
    block = unsigned_block(parent, parent_id, round_, justify, who, payload)
    bid = block_id(HASH, block.header)
    signature = chain.keys[who].sign(proposal_signing_bytes(bid))
    return Block(header=block.header, transactions=(), signature=signature), bid


def vote_data(block: Block, bid: bytes) -> VoteData:
    """What a vote for ``block`` signs."""
    h = block.header
    return VoteData(chain_id=CHAIN_ID, epoch=h.epoch, round=h.round, height=h.height, block_id=bid)


def make_qc(chain: Chain, block: Block, bid: bytes, signers: Sequence[int]) -> QuorumCert:
    """A QC on ``block`` signed by ``signers`` (sorted here)."""
    ordered = tuple(sorted(signers))
    message = vote_signing_bytes(vote_data(block, bid))
    h = block.header
    return QuorumCert(
        epoch=h.epoch,
        round=h.round,
        height=h.height,
        block_id=bid,
        signers=ordered,
        signatures=tuple(chain.keys[i].sign(message) for i in ordered),
    )


def make_tc(
    chain: Chain, round_: int, signers: Sequence[int], high_qc_rounds: Sequence[int]
) -> TimeoutCert:
    """A TC for ``round_``: ``signers[i]`` reports ``high_qc_rounds[i]``."""
    pairs = sorted(zip(signers, high_qc_rounds, strict=True))
    signatures = tuple(
        chain.keys[i].sign(
            timeout_signing_bytes(
                TimeoutData(chain_id=CHAIN_ID, epoch=chain.epoch, round=round_, high_qc_round=r)
            )
        )
        for i, r in pairs
    )
    return TimeoutCert(
        epoch=chain.epoch,
        round=round_,
        signers=tuple(i for i, _ in pairs),
        high_qc_rounds=tuple(r for _, r in pairs),
        signatures=signatures,
    )


# --------------------------------------------------------------- in-memory backends


class StorageFailure(OSError):
    """Raised by a test storage told to fail its next writes."""


class MemorySafetyStorage:
    """:class:`SafetyStorage` in memory: keeps the encoded bytes, as a disk would."""

    def __init__(self) -> None:
        self._raw: bytes | None = None
        self.fail_writes = False
        self.writes = 0

    def load_safety(self) -> SafetyData | None:
        return None if self._raw is None else decode(self._raw, SafetyData)

    def save_safety(self, data: SafetyData) -> None:
        if self.fail_writes:
            raise StorageFailure("disk full")
        self._raw = encode(data)
        self.writes += 1


@dataclass
class MemoryPendingStore:
    """:class:`PendingStore` in memory: every block ever saved, and the highest certificates."""

    blocks: dict[bytes, Block] = field(default_factory=dict)
    highest_qc: QuorumCert | None = None
    highest_tc: TimeoutCert | None = None

    def save_block(self, block_id: bytes, block: Block, qc: QuorumCert) -> None:
        self.blocks[block_id] = block
        self.highest_qc = qc

    def save_highest_qc(self, qc: QuorumCert) -> None:
        self.highest_qc = qc

    def save_highest_tc(self, tc: TimeoutCert) -> None:
        self.highest_tc = tc


class CounterBuilder:
    """:class:`BlockBuilder` that proposes an empty block tagged by a counter.

    ``now_ms`` is the (virtual) clock. With ``paced`` it builds at most one block per
    clock value, as the node's proposer waits ``min_block_interval_ms``: a single
    validator forms its own QC inside ``try_propose`` and would otherwise propose
    again, recursively, within one call. The driver's tick proposes later.
    """

    def __init__(self, proposer: int, tag: bytes = b"", *, paced: bool = True) -> None:
        self.proposer = proposer
        self.tag = tag
        self.counter = 0
        self.now_ms = GENESIS_TIMESTAMP_MS
        self.paced = paced
        self._last_built_ms = -1

    def build(
        self, parent: Block, parent_id: bytes, round_: int, justify: QuorumCert
    ) -> Block | None:
        if self.paced and self.now_ms == self._last_built_ms:
            return None
        self._last_built_ms = self.now_ms
        self.counter += 1
        block = unsigned_block(
            parent,
            parent_id,
            round_,
            justify,
            self.proposer,
            payload=b"%s/%d/%d" % (self.tag, self.proposer, self.counter),
        )
        ts = max(parent.header.timestamp_ms, self.now_ms)
        header = msgspec.structs.replace(block.header, timestamp_ms=ts)
        return Block(header=header, transactions=(), signature=b"")


class AcceptAll:
    """:class:`ProposalValidator` that accepts every payload (consensus tests only)."""

    def __init__(self) -> None:
        self.checked = 0

    def validate(self, block: Block, parent: Block, *, certified: bool = False) -> None:
        self.checked += 1
