"""Ledger data: transactions, blocks, quorum certificates, receipts and events.

Byte-level format: docs/spec/ledger.md. All types are :class:`Canonical`
structs; identifiers are the chain suite's hash over a domain tag and the
canonical bytes, so ``sm`` chains use SM3 and ``intl`` chains SHA-256.

A block header carries the quorum certificate (``justify``) of its parent, as
in HotStuff, and the state and receipts roots of an earlier committed height
(``state_height``): consensus orders blocks, execution follows behind, and the
next blocks certify its result ("order-then-execute", DESIGN.md §3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Final

import msgspec

from consortia.codec import U64, Address, Canonical, Hash32, Name, encode
from consortia.crypto import keccak256

Hasher = Callable[[bytes], bytes]
"""The chain suite's 32-byte hash function (SM3 or SHA-256)."""

ChainId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*\Z")
]
"""A chain identifier, part of every signed transaction (replay protection)."""
PublicKeyBytes = Annotated[bytes, msgspec.Meta(min_length=33, max_length=65)]
"""SEC1 public key (65-byte uncompressed or 33-byte compressed)."""
SignatureBytes = Annotated[bytes, msgspec.Meta(min_length=8, max_length=72)]
"""DER-encoded ECDSA/SM2 signature (r, s)."""
ZERO_HASH: Final = bytes(32)

ETH_KEY_TYPE: Final = "eth"
"""Envelope of an Ethereum-signed transaction (EIP-155 legacy, EIP-2930, EIP-1559) of a
secp256k1 account: ``body.args`` is the raw signed transaction and the envelope is valid
when that transaction's own signature recovers ``public_key`` ([LEDGER-TX-ETH.1])."""
NO_EXPIRY: Final = 2**64 - 1
"""``expiry_height`` of Ethereum-signed transactions, which carry no expiry of their own."""


def signer_key_type(key_type: str) -> str:
    """The account key type that signs an envelope of ``key_type``."""
    return "secp256k1" if key_type == ETH_KEY_TYPE else key_type


def ethereum_hash(tx: Transaction) -> bytes | None:
    """The hash Ethereum clients know an Ethereum-signed transaction by (keccak of its raw
    bytes), or None for a native one."""
    return keccak256(tx.body.args) if tx.key_type == ETH_KEY_TYPE else None


MAX_ARGS_BYTES: Final = 64 * 1024
"""Hard cap on a transaction's argument bytes; chain policy may set a lower one."""

DOMAIN_TX: Final = b"CONSORTIA/TX/v1\x00"
DOMAIN_BLOCK: Final = b"CONSORTIA/BLOCK/v1\x00"
DOMAIN_VOTE: Final = b"CONSORTIA/VOTE/v1\x00"
DOMAIN_TIMEOUT: Final = b"CONSORTIA/TIMEOUT/v1\x00"
DOMAIN_TX_LEAF: Final = b"CONSORTIA/TXLEAF/v1\x00"
DOMAIN_RECEIPT_LEAF: Final = b"CONSORTIA/RECEIPTLEAF/v1\x00"


class TxBody(Canonical, frozen=True):
    """The signed part of a transaction."""

    chain_id: ChainId
    """Chain this transaction is valid on; others reject it."""
    sender: Address
    """Account that pays and acts; the signing key must belong to it."""
    nonce: U64
    """Sender's sequence number: exactly the account's next nonce when executed."""
    module: Name
    """Native module (or ``evm``) that handles the call."""
    method: Name
    """Method of that module."""
    args: Annotated[bytes, msgspec.Meta(max_length=MAX_ARGS_BYTES)]
    """Canonical encoding of the method's argument struct."""
    gas_limit: U64
    """Most gas the transaction may use."""
    expiry_height: U64
    """Last block height at which the transaction may be included."""


class Transaction(Canonical, frozen=True):
    """A transaction body with the key and signature that authorise it."""

    body: TxBody
    key_type: Annotated[str, msgspec.Meta(pattern=r"^(sm2|p256|secp256k1|eth)\Z")]
    """Account key type of ``public_key`` (must be allowed by chain policy), or
    ``eth`` for an Ethereum-signed transaction of a secp256k1 account."""
    public_key: PublicKeyBytes
    signature: SignatureBytes
    """Signature over ``DOMAIN_TX || encode(body)`` (SM2 adds its ZA hash)."""


class QuorumCert(Canonical, frozen=True):
    """Signatures of validators holding at least 2f+1 of the weight on one block.

    The genesis certificate has round 0 and no signers.
    """

    epoch: U64
    round: U64
    height: U64
    block_id: Hash32
    signers: tuple[U64, ...]
    """Validator indices in the epoch's set, strictly ascending."""
    signatures: tuple[SignatureBytes, ...]
    """``signatures[i]`` is by validator ``signers[i]`` over the vote bytes."""


class VoteData(Canonical, frozen=True):
    """What a validator signs when it votes for a block ([CONS-VOTE.1])."""

    chain_id: ChainId
    epoch: U64
    round: U64
    height: U64
    block_id: Hash32


class ValidatorInfo(Canonical, frozen=True):
    """One validator: identity, consensus key and voting weight."""

    name: Name
    """Node name, e.g. ``bank-a-v1``."""
    organisation: Name
    address: Address
    """Address derived from the consensus public key."""
    key_type: str
    """Consensus key type: ``sm2`` on ``sm`` chains, ``p256`` on ``intl``."""
    public_key: PublicKeyBytes
    weight: U64
    endpoint: Annotated[str, msgspec.Meta(max_length=253)] = ""
    """Where its P2P listener is reached, ``host:port`` (a node's own peer list may override)."""


class ValidatorSet(Canonical, frozen=True):
    """The validators of one epoch, in index order."""

    epoch: U64
    validators: tuple[ValidatorInfo, ...]


class BlockHeader(Canonical, frozen=True):
    """Block metadata; its hash is the block id."""

    chain_id: ChainId
    epoch: U64
    round: U64
    """Consensus round in which the block was proposed (strictly above justify.round)."""
    height: U64
    """Parent height + 1; genesis is 0."""
    parent_id: Hash32
    proposer: U64
    """Index of the proposer in the epoch's validator set (the round's leader)."""
    timestamp_ms: U64
    """Proposer's time, never below the parent's; the only time execution sees."""
    tx_root: Hash32
    """Merkle root over the full encoded transactions."""
    tx_count: U64
    state_height: U64
    """Height whose post-execution state ``state_root`` commits to."""
    state_root: Hash32
    receipts_root: Hash32
    """Merkle root of the receipts of block ``state_height``."""
    justify: QuorumCert
    """Certificate of the parent block."""
    next_validators: ValidatorSet | None = None
    """Set only on epoch-ending blocks: the validator set of the next epoch, as
    the certified state at ``state_height`` requests it ([CONS-EPOCH.1])."""


class Block(Canonical, frozen=True):
    """A header, its transactions and the proposer's signature over the block id."""

    header: BlockHeader
    transactions: tuple[Transaction, ...]
    signature: bytes
    """Proposer's suite signature over ``DOMAIN_BLOCK || block_id`` (empty for genesis)."""


class CommitProof(Canonical, frozen=True):
    """Proof that a block B is committed by the two-chain rule ([CONS-COMMIT.1]).

    ``headers`` are B's descendants in height order, each the child of the one
    before (the first a child of B); the last, D, has ``D.round ==
    D.justify.round + 1`` and ``qc`` certifies it. D's justify certifies D's
    parent, so D's parent is committed and with it B. The proof of an
    epoch-ending block is what carries a node (or the verifier) into the next
    epoch ([CONS-EPOCH.2]).
    """

    headers: tuple[BlockHeader, ...]
    qc: QuorumCert


class EpochStart(Canonical, frozen=True):
    """Where an epoch begins: its validator set and root block, and for every
    epoch after the first the proof that the root is committed ([CONS-EPOCH.2])."""

    epoch: U64
    validators: ValidatorSet
    root_height: U64
    root_id: Hash32
    proof: CommitProof | None = None
    """Commit proof of the root under the previous epoch's set (None for epoch 0)."""


class Event(Canonical, frozen=True):
    """Something a module reports; attributes are ordered (key, value) strings."""

    module: Name
    name: Name
    attributes: tuple[tuple[str, str], ...]


STATUS_OK: Final = "OK"
"""Receipt status of a transaction that succeeded.

Every other status is the stable ``code`` of the error that ended the
transaction (``TX_STALE_NONCE``, ``TX_INSUFFICIENT_FUNDS``, ...). Those codes
are an open set: each module, and each application built as a module,
defines its own on its error classes, so the status is a plain ``str``
rather than a closed enum, and only success has a name here. Its encoding is
the two bytes ``OK`` in ``receipts_root`` ([LEDGER-RECEIPT.2]); it never changes.
"""


class Receipt(Canonical, frozen=True):
    """Outcome of one transaction."""

    tx_id: Hash32
    height: U64
    index: U64
    status: str
    """:data:`STATUS_OK` or the stable error code of the failure (an open set)."""
    message: str
    gas_used: U64
    events: tuple[Event, ...]


def tx_id(hash_fn: Hasher, body: TxBody) -> bytes:
    """Transaction id: hash of the signed body (stable under signature malleation)."""
    return hash_fn(DOMAIN_TX + encode(body))


def tx_signing_bytes(body: TxBody) -> bytes:
    """The bytes a transaction's signature covers."""
    return DOMAIN_TX + encode(body)


def tx_leaf(hash_fn: Hasher, tx: Transaction) -> bytes:
    """Leaf digest of a transaction in the block's ``tx_root`` (covers the signature)."""
    return hash_fn(DOMAIN_TX_LEAF + encode(tx))


class ReceiptCommitment(Canonical, frozen=True):
    """The consensus-relevant part of a receipt: everything but ``message``.

    Failure messages are explanations for people (some quote a library's
    wording), so they stay out of ``receipts_root``; the stable ``status``
    code is what validators agree on ([LEDGER-RECEIPT.2]).
    """

    tx_id: Hash32
    height: U64
    index: U64
    status: str
    gas_used: U64
    events: tuple[Event, ...]


def receipt_leaf(hash_fn: Hasher, receipt: Receipt) -> bytes:
    """Leaf digest of a receipt in ``receipts_root`` (its message excluded)."""
    commitment = ReceiptCommitment(
        tx_id=receipt.tx_id,
        height=receipt.height,
        index=receipt.index,
        status=receipt.status,
        gas_used=receipt.gas_used,
        events=receipt.events,
    )
    return hash_fn(DOMAIN_RECEIPT_LEAF + encode(commitment))


def block_id(hash_fn: Hasher, header: BlockHeader) -> bytes:
    """Block id: hash of the canonical header."""
    return hash_fn(DOMAIN_BLOCK + encode(header))


def vote_signing_bytes(vote: VoteData) -> bytes:
    """The bytes a validator's vote signature covers."""
    return DOMAIN_VOTE + encode(vote)


def proposal_signing_bytes(block_id_: bytes) -> bytes:
    """The bytes a proposer's block signature covers."""
    return DOMAIN_BLOCK + block_id_


def epoch_root_qc(epoch: int, root_height: int, root_id: bytes) -> QuorumCert:
    """The unsigned round-0 certificate opening ``epoch`` on its root block.

    Epoch 0's root is genesis; a later epoch's root is the committed block
    that ended the one before ([CONS-EPOCH.1]). It carries no signature: the
    root is trusted because it is committed, not because of this certificate.
    """
    return QuorumCert(
        epoch=epoch, round=0, height=root_height, block_id=root_id, signers=(), signatures=()
    )
