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

from collections.abc import Callable, Iterable
from typing import Annotated, Final

import msgspec

from consortia.codec import U64, Address, Canonical, CodecError, Hash32, Name, decode, encode
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

MULTISIG_KEY_TYPE: Final = "multisig"
"""Envelope of a transaction signed by several keys of one account ([LEDGER-TX-MULTI.1]):
``public_key`` is empty and ``signature`` is the canonical encoding of a
:class:`MultiSignature`, every entry a signature over the same signing bytes."""
MAX_SIGNATURES: Final = 16
"""Most signatures one transaction may carry (``TX_TOO_MANY_SIGNATURES`` above it);
the same as the most keys an account holds."""
MAX_MULTISIG_BYTES: Final = 4096
"""Hard cap on an encoded :class:`MultiSignature` (16 entries of at most 150 bytes fit);
a larger one is malformed, which bounds what a decoder and a verifier ever see."""


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


class TxSignature(Canonical, frozen=True, gc=False):
    """One key's signature over a transaction's signing bytes (an entry of a multisig)."""

    key_type: Annotated[str, msgspec.Meta(pattern=r"^(sm2|p256|secp256k1)\Z")]
    """Account key type of ``public_key``."""
    public_key: PublicKeyBytes
    signature: SignatureBytes
    """Signature over ``DOMAIN_TX || encode(body)`` (SM2 adds its ZA hash)."""


class MultiSignature(Canonical, frozen=True, gc=False):
    """The signatures of a multisig transaction, in the ``signature`` field of its envelope.

    Modelled on the Cosmos SDK's ``LegacyAminoPubKey``/``MultiSignature``
    (a multisig key type whose signature field carries every member's
    signature): which keys may sign, with which weights and threshold, is the
    account's state, not the transaction's, so that the key set can rotate
    (``accounts.set_multisig``) as in a Safe (Gnosis) wallet's owners and threshold.
    """

    signatures: Annotated[tuple[TxSignature, ...], msgspec.Meta(min_length=2)]
    """The signers, each once; their order is the submitter's and carries no meaning.
    At least two: one signature has the plain envelope only, so that a signed
    body has one single-signature encoding."""


class Transaction(Canonical, frozen=True):
    """A transaction body with the key(s) and signature(s) that authorise it.

    Wire format ([LEDGER-TX-MULTI.1]): a single-signature transaction is
    ``[body, key_type, public_key, signature]`` as it always was, so its
    encoding, its leaf in ``tx_root`` and its id are unchanged. The canonical
    codec has no optional trailing fields (msgspec encodes every field of an
    array-like struct), so several signatures do not get a fifth field: they
    travel under ``key_type`` :data:`MULTISIG_KEY_TYPE`, with an empty
    ``public_key`` and the canonical :class:`MultiSignature` as ``signature``,
    the way a Cosmos SDK multisig puts its ``MultiSignature`` in the one
    signature slot. The id is still the hash of the body alone, so every
    signer signs the same bytes and collects signatures offline.
    """

    body: TxBody
    key_type: Annotated[str, msgspec.Meta(pattern=r"^(sm2|p256|secp256k1|eth|multisig)\Z")]
    """Account key type of ``public_key`` (must be allowed by chain policy),
    ``eth`` for an Ethereum-signed transaction of a secp256k1 account, or
    ``multisig`` for several signatures of one account."""
    public_key: Annotated[bytes, msgspec.Meta(max_length=65)]
    """SEC1 public key, 33 or 65 bytes; empty for ``multisig``."""
    signature: Annotated[bytes, msgspec.Meta(min_length=8, max_length=MAX_MULTISIG_BYTES)]
    """Signature over ``DOMAIN_TX || encode(body)`` (SM2 adds its ZA hash): DER,
    at most 72 bytes; for ``multisig`` the canonical :class:`MultiSignature`."""

    def __post_init__(self) -> None:
        """Field limits by envelope kind (a decode failing them is malformed)."""
        if self.key_type == MULTISIG_KEY_TYPE:
            if self.public_key:
                raise ValueError("a multisig transaction carries its keys in its signatures")
            multi_signature(self)  # canonical, at least 2 entries (bytes-capped)
        else:
            if not 33 <= len(self.public_key) <= 65:
                raise ValueError(f"public key of {len(self.public_key)} bytes (33 to 65)")
            if len(self.signature) > 72:
                raise ValueError(f"signature of {len(self.signature)} bytes (at most 72)")


def multi_signature(tx: Transaction) -> MultiSignature:
    """The signatures of a ``multisig`` envelope (ValueError if they are not canonical)."""
    try:
        return decode(tx.signature, MultiSignature)
    except CodecError as exc:
        raise ValueError(f"multisig signatures: {exc.message}") from None


def tx_signatures(tx: Transaction) -> tuple[TxSignature, ...]:
    """Every ``(key_type, public_key, signature)`` that signs ``tx``'s body.

    One entry for a single-signature transaction (an ``eth`` envelope's is its
    secp256k1 key, whose signature is over the raw Ethereum transaction), one
    per signer for a multisig one.
    """
    if tx.key_type == MULTISIG_KEY_TYPE:
        return multi_signature(tx).signatures
    return (
        TxSignature(
            key_type=signer_key_type(tx.key_type),
            public_key=tx.public_key,
            signature=tx.signature,
        ),
    )


def tx_signer_keys(tx: Transaction) -> tuple[tuple[str, bytes], ...]:
    """The ``(key_type, public_key)`` of every signer of ``tx`` (account key types)."""
    if tx.key_type == MULTISIG_KEY_TYPE:
        return tuple((s.key_type, s.public_key) for s in multi_signature(tx).signatures)
    return ((signer_key_type(tx.key_type), tx.public_key),)


def multisig_transaction(body: TxBody, signatures: Iterable[TxSignature]) -> Transaction:
    """The envelope of ``body`` signed by ``signatures`` (one signature: the plain form)."""
    entries = tuple(signatures)
    if len(entries) == 1:
        only = entries[0]
        return Transaction(
            body=body, key_type=only.key_type, public_key=only.public_key, signature=only.signature
        )
    return Transaction(
        body=body,
        key_type=MULTISIG_KEY_TYPE,
        public_key=b"",
        signature=encode(MultiSignature(signatures=entries)),
    )


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
