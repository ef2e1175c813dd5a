"""The JSON documents of the REST API, as msgspec structs ([API-JSON.1]).

One set of types serves three purposes: the server renders them, the
OpenAPI document is generated from them, and the SDK decodes responses into
them. Conventions: every byte string (ids, hashes, addresses, keys,
signatures, raw encodings) is ``"0x"``-prefixed lowercase hex; integers are
JSON numbers. This module imports neither FastAPI nor the node.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec

Hex = Annotated[str, msgspec.Meta(description="0x-prefixed lowercase hex")]
"""Bytes on the wire."""

MAX_BATCH: Final = 10_000
"""Most transactions one batch submission may carry."""


class Document(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every API document."""


# ------------------------------------------------------------------ errors


class ErrorDetail(Document, frozen=True):
    """A stable error ``code`` and a human-readable ``message``."""

    code: str
    message: str


class ErrorResponse(Document, frozen=True):
    """Body of every error response."""

    error: ErrorDetail


# ------------------------------------------------------------- transactions


class SubmitRequest(Document, frozen=True, forbid_unknown_fields=True):
    """``POST /v1/transactions``: one canonical ``Transaction`` as hex."""

    tx: Hex


class BatchRequest(Document, frozen=True, forbid_unknown_fields=True):
    """``POST /v1/transactions/batch``: up to 10,000 canonical transactions as hex."""

    txs: Annotated[list[str], msgspec.Meta(max_length=MAX_BATCH)]


class Submitted(Document, frozen=True):
    """A transaction admitted to the mempool."""

    tx_id: Hex
    status: str = "pending"


class BatchItem(Document, frozen=True, omit_defaults=True):
    """Outcome of one batch item: ``tx_id`` when admitted, else ``error``."""

    tx_id: Hex | None = None
    error: ErrorDetail | None = None


class BatchResponse(Document, frozen=True):
    """Per-item outcomes, in request order."""

    results: list[BatchItem]


class EventJson(Document, frozen=True):
    """An event a module emitted while executing a transaction."""

    module: str
    name: str
    attributes: dict[str, str]


class ReceiptJson(Document, frozen=True):
    """Outcome of a committed transaction (``status`` is ``OK`` or an error code)."""

    status: str
    message: str
    gas_used: int
    events: list[EventJson]


class TxJson(Document, frozen=True, kw_only=True):
    """A transaction's signed body, key and signature, decoded."""

    chain_id: str
    sender: Hex
    nonce: int
    module: str
    method: str
    args: Hex
    args_decoded: Any = None
    """The method's argument struct as JSON, or null if the method is unknown."""
    gas_limit: int
    expiry_height: int
    key_type: str
    public_key: Hex
    signature: Hex


TxStatus = Literal["pending", "committed", "dropped"]
"""Where an admitted transaction stands ([MEMPOOL-TRACK.1])."""
DropReasonName = Literal["expired", "nonce_gap_timeout", "replaced"]
"""Why a transaction left the pool uncommitted (``consortia.mempool.DropReason``)."""


class TransactionJson(Document, frozen=True, omit_defaults=True):
    """``status`` is ``committed`` (with position, body and receipt), ``pending`` (in
    this node's pool) or ``dropped`` (with ``reason``, ``message`` and the ``height``
    it was dropped at). A committed transaction whose receipt is not ``OK`` failed in
    execution; it stays committed."""

    tx_id: Hex
    status: TxStatus
    height: int | None = None
    """Committed: the block's height; dropped: the executed height when it was dropped."""
    index: int | None = None
    tx: TxJson | None = None
    receipt: ReceiptJson | None = None
    reason: DropReasonName | None = None
    """Dropped only: why it left the pool. Resubmit it (or a new transaction) if still wanted."""
    message: str | None = None
    """Dropped only: the details."""


# ------------------------------------------------------------------ blocks


class QuorumCertJson(Document, frozen=True):
    """Signatures of 2f+1 of the validator weight on one block."""

    epoch: int
    round: int
    height: int
    block_id: Hex
    signers: list[int]
    signatures: list[Hex]


class HeaderJson(Document, frozen=True):
    """A block header, field by field (its hash is the block id)."""

    chain_id: str
    epoch: int
    round: int
    height: int
    parent_id: Hex
    proposer: int
    timestamp_ms: int
    tx_root: Hex
    tx_count: int
    state_height: int
    state_root: Hex
    receipts_root: Hex
    justify: QuorumCertJson


class BlockJson(Document, frozen=True):
    """A committed block: header, transaction ids, proposer signature, certificate."""

    height: int
    id: Hex
    header: HeaderJson
    transactions: list[Hex]
    signature: Hex
    certificate: QuorumCertJson | None


class RawBlockJson(Document, frozen=True):
    """Canonical bytes of a block and of its certificate (for independent verifiers)."""

    height: int
    block: Hex
    certificate: Hex | None


class ValidatorJson(Document, frozen=True):
    """One validator of an epoch's set."""

    name: str
    organisation: str
    address: Hex
    key_type: str
    public_key: Hex
    weight: int
    endpoint: str


class EpochJson(Document, frozen=True):
    """Where an epoch began and its validator set; ``raw`` is the canonical
    ``EpochStart`` (with the commit proof of its root) for verifiers."""

    epoch: int
    root_height: int
    root_id: Hex
    validators: list[ValidatorJson]
    raw: Hex


class RawGenesisJson(Document, frozen=True):
    """Canonical bytes of the genesis (``genesis.bin``)."""

    genesis: Hex


# ---------------------------------------------------------- accounts, state


class AccountKeyJson(Document, frozen=True):
    """A key allowed to sign for an account."""

    key_type: str
    public_key: Hex
    weight: int = 1
    """What its signature counts toward the account's threshold (docs/multisig.md)."""


class BalanceJson(Document, frozen=True):
    """Base units of one asset held."""

    symbol: str
    amount: int


class AccountJson(Document, frozen=True):
    """An account at the latest executed height (``exists`` false: never used)."""

    address: Hex
    exists: bool
    nonce: int
    keys: list[AccountKeyJson]
    frozen: bool
    balances: list[BalanceJson]
    height: int
    recent_transactions: list[Hex]
    threshold: int = 1
    """Least total weight of the keys that sign one transaction (1: any one key)."""


class AssetJson(Document, frozen=True):
    """An asset definition and its current supply (base units)."""

    symbol: str
    name: str
    issuer: Hex
    decimals: int
    supply_rule: str
    max_supply: int
    burnable: bool
    supply: int


class AssetListJson(Document, frozen=True):
    """Asset definitions in symbol order (``GET /v1/assets``)."""

    height: int
    """Height of the state this was read from."""
    assets: list[AssetJson]
    next: str | None
    """Pass as ``after`` for the next page; null on the last page."""


class HolderJson(Document, frozen=True):
    """An account holding a positive balance of an asset."""

    address: Hex
    amount: int


class HoldersJson(Document, frozen=True):
    """Holders of one asset in address order (``GET /v1/assets/{symbol}/holders``)."""

    symbol: str
    height: int
    holders: list[HolderJson]
    scanned: int
    """Balance entries (of every asset) this page read; each page reads a bounded number."""
    next: Hex | None
    """Pass as ``after`` for the next page; null once every balance has been read."""


class LoggedEventJson(Document, frozen=True):
    """A module event with where it was emitted: block ``height``, transaction ``index``
    in the block and ``event`` index in the transaction's receipt.

    An end-of-block hook's event ([EXEC-BLOCK-END.1]) has ``tx_id`` null and an
    ``index`` after the block's last transaction."""

    height: int
    index: int
    event: int
    tx_id: Hex | None
    module: str
    name: str
    attributes: dict[str, str]


class EventFieldJson(Document, frozen=True):
    """One field of an event type: its attribute key and how its text reads."""

    name: str
    type: str
    """``uint`` (decimal text), ``bytes`` (lowercase hex text, no 0x) or ``string``."""


class EventTypeJson(Document, frozen=True):
    """An event a module declares ([EXEC-EVENT.1]); attributes follow ``fields`` in order."""

    module: str
    name: str
    fields: list[EventFieldJson]


class EventLogJson(Document, frozen=True):
    """Module events, newest first (``GET /v1/event-log``).

    ``from_height``..``to_height`` are the blocks read (each page reads a bounded
    number); ``next`` is the cursor for older events, null once genesis is reached.
    """

    height: int
    """Latest executed height when this was read."""
    from_height: int
    to_height: int
    events: list[LoggedEventJson]
    next: str | None


class StateJson(Document, frozen=True):
    """A state value with its proof and the header that commits to its root.

    Check offline: the proof shows ``key -> value`` under ``header.state_root``,
    ``header.state_height == version``, and the header is certified by a QC.
    """

    key: Hex
    value: Hex | None
    version: int
    root: Hex
    proof: Hex
    header_height: int | None
    header: HeaderJson | None


class StatusJson(Document, frozen=True):
    """What a node reports about itself."""

    name: str
    chain_id: str
    suite: str
    validator_index: int | None
    height: int
    state_root: Hex
    round: int
    leader: int
    mempool_size: int
    validators: int
    evidence: int
    epoch: int
    """Epoch of the validator set in force (0 until the first change)."""
    dropped_gossip: int
    """Transaction gossip batches dropped since start because the gossip queue was
    full (those transactions stay pending where they were admitted)."""
    dropped_messages: int
    """Consensus messages dropped since start because the inbox was full."""


class EvidenceJson(Document, frozen=True):
    """Proof that validator ``author`` signed two conflicting messages in ``round``."""

    kind: str
    """``proposal`` or ``vote``."""
    round: int
    author: int
    first: Hex
    """Block id of the first message."""
    second: Hex
    """Block id of the conflicting message."""


# --------------------------------------------------------------- governance


class VoteJson(Document, frozen=True):
    """A governor's current vote and the weight it counts with now."""

    voter: Hex
    choice: str
    weight: int
    height: int


class HistoryJson(Document, frozen=True):
    """One step of a proposal: ``proposed``, ``voted``, ``executed`` or ``failed``."""

    height: int
    action: str
    actor: Hex
    detail: str


class TallyJson(Document, frozen=True):
    """Weights voted so far against the committee's total and the kind's thresholds."""

    yes: int
    no: int
    abstain: int
    total: int
    participation: str
    """Required participation, e.g. ``2/3``."""
    approval: str


class ProposalJson(Document, frozen=True):
    """A proposal, its votes, tally and history (status: open, executed, failed, expired)."""

    id: int
    kind: str
    payload: Hex
    payload_decoded: Any
    proposer: Hex
    created_height: int
    deadline_height: int
    status: str
    outcome: str
    closed_height: int
    votes: list[VoteJson]
    tally: TallyJson
    history: list[HistoryJson]
    height: int
    """Height of the state this was read from."""


class ProposalListJson(Document, frozen=True):
    """Proposals, newest first."""

    proposals: list[ProposalJson]
    height: int


class OrganisationJson(Document, frozen=True):
    """A member organisation."""

    name: str
    admins: list[Hex]
    ca_cert: str
    """PEM text (empty if none)."""


class GovernorJson(Document, frozen=True):
    """A committee seat."""

    address: Hex
    weight: int


class OrganisationsJson(Document, frozen=True):
    """Every organisation and the governing committee."""

    organisations: list[OrganisationJson]
    committee: list[GovernorJson]
    height: int


class RolesJson(Document, frozen=True):
    """An account's roles, organisation and committee weight (0: no seat)."""

    address: Hex
    roles: list[str]
    organisation: str
    weight: int
    height: int


ALL_DOCUMENTS: Final[tuple[type[Document], ...]] = (
    ErrorResponse,
    SubmitRequest,
    BatchRequest,
    Submitted,
    BatchResponse,
    TransactionJson,
    BlockJson,
    RawBlockJson,
    RawGenesisJson,
    AccountJson,
    AssetJson,
    AssetListJson,
    HoldersJson,
    EventLogJson,
    StateJson,
    StatusJson,
    EvidenceJson,
    ProposalJson,
    ProposalListJson,
    OrganisationsJson,
    RolesJson,
)
"""Types published under ``components/schemas`` of the OpenAPI document."""


def to_hex(data: bytes) -> str:
    """``0x``-prefixed lowercase hex."""
    return "0x" + data.hex()
