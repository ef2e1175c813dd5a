"""Wire messages between nodes: one tagged union, canonical encoding ([NET-MSG.1]).

Each message is an array whose first element is its integer tag. Decoding
rejects unknown tags, wrong shapes and non-canonical bytes.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from consortia.codec import U64, Canonical, Hash32, decode, encode
from consortia.consensus.types import Proposal, TimeoutCert, TimeoutMsg, Vote
from consortia.ledger.types import (
    Block,
    ChainId,
    CommitProof,
    PublicKeyBytes,
    QuorumCert,
    SignatureBytes,
)

DOMAIN_HELLO: Final = b"CONSORTIA/HELLO/v1\x00"
MAX_SYNC_BLOCKS: Final = 256
MAX_GOSSIP_TXS: Final = 10_000
MAX_SNAPSHOT_CHUNK: Final = 4_096
"""Most state entries in one snapshot chunk."""


class HelloData(Canonical, frozen=True):
    """What a node signs to bind its TLS certificate to its validator key."""

    chain_id: ChainId
    genesis_id: Hash32
    node_name: Annotated[str, msgspec.Meta(max_length=64)]
    cert_fingerprint: Hash32
    """SHA-256 of the DER of the sender's own TLS certificate."""


class Hello(Canonical, frozen=True, tag=1):
    """First message on every connection, both ways."""

    data: HelloData
    public_key: PublicKeyBytes
    signature: SignatureBytes


class ProposalMsg(Canonical, frozen=True, tag=2):
    """A leader's proposal."""

    proposal: Proposal


class VoteMsg(Canonical, frozen=True, tag=3):
    """A vote for the next leader."""

    vote: Vote


class TimeoutMsgWire(Canonical, frozen=True, tag=4):
    """A timeout broadcast."""

    timeout: TimeoutMsg


class SyncInfo(Canonical, frozen=True, tag=5):
    """The sender's highest certificates (sent on connect; peers behind fetch blocks)."""

    highest_qc: QuorumCert
    highest_tc: TimeoutCert | None
    committed_height: U64


class BlockRequest(Canonical, frozen=True, tag=6):
    """Ask for the chain from ``from_height`` up to the block ``to_block_id``."""

    request_id: U64
    from_height: U64
    to_block_id: Hash32


class BlockResponse(Canonical, frozen=True, tag=7):
    """Blocks oldest first (at most MAX_SYNC_BLOCKS) and the QC of the last one."""

    request_id: U64
    blocks: tuple[Block, ...]
    last_qc: QuorumCert
    epoch_proof: CommitProof | None = None
    """Set when the last block ended its epoch: the proof that it is committed."""


class TxGossip(Canonical, frozen=True, tag=8):
    """Client transactions (canonical bytes) a node admitted and shares."""

    txs: tuple[bytes, ...]


class SnapshotOfferRequest(Canonical, frozen=True, tag=9):
    """Ask a peer which recent state it can serve ([NET-SNAPSHOT.1])."""

    request_id: U64


class SnapshotOffer(Canonical, frozen=True, tag=10):
    """A state version with what certifies it.

    ``base`` is the committed block at height v (its QC ``base_qc``); ``proof``
    is a later certified block whose header carries ``state_height = v`` and
    the state root of v (its QC ``proof_qc``).
    """

    request_id: U64
    base: Block
    base_qc: QuorumCert
    proof: Block
    proof_qc: QuorumCert


class SnapshotChunkRequest(Canonical, frozen=True, tag=11):
    """Ask for state entries of ``version`` from key ``start`` on."""

    request_id: U64
    version: U64
    start: bytes
    limit: U64


class SnapshotChunk(Canonical, frozen=True, tag=12):
    """State entries in key order; ``next_start`` is None after the last chunk."""

    request_id: U64
    version: U64
    entries: tuple[tuple[bytes, bytes], ...]
    next_start: bytes | None


WireMessage = (
    Hello
    | ProposalMsg
    | VoteMsg
    | TimeoutMsgWire
    | SyncInfo
    | BlockRequest
    | BlockResponse
    | TxGossip
    | SnapshotOfferRequest
    | SnapshotOffer
    | SnapshotChunkRequest
    | SnapshotChunk
)


def encode_message(message: WireMessage) -> bytes:
    """Canonical bytes of a wire message."""
    return encode(message)


def decode_message(data: bytes) -> WireMessage:
    """Decode one wire message; raises a CodecError subclass on anything else."""
    return decode(data, WireMessage)  # type: ignore[arg-type]


def hello_signing_bytes(data: HelloData) -> bytes:
    """The bytes a Hello signature covers."""
    return DOMAIN_HELLO + encode(data)
