"""Read models the node serves to its API: plain, immutable snapshots."""

from __future__ import annotations

from dataclasses import dataclass

from consortia.ledger.types import Block, QuorumCert, Receipt, Transaction
from consortia.modules.accounts.types import Account
from consortia.modules.assets.types import Asset
from consortia.state import StateProof


@dataclass(frozen=True, slots=True)
class BlockRecord:
    """A committed block with its id and the QC certifying it (None until one is stored)."""

    block: Block
    block_id: bytes
    certificate: QuorumCert | None


@dataclass(frozen=True, slots=True)
class TxRecord:
    """A committed transaction with its position and receipt."""

    tx: Transaction
    tx_id: bytes
    height: int
    index: int
    receipt: Receipt | None


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An account's state and balances at the latest executed height."""

    address: bytes
    account: Account | None
    balances: tuple[tuple[str, int], ...]
    """(symbol, base units) for every asset held, by symbol."""
    height: int


@dataclass(frozen=True, slots=True)
class StateRecord:
    """A state value with its proof against a certified state root.

    ``header_height`` is the height of the first block whose header commits
    to ``root`` (its ``state_height`` is ``version``); verify the proof
    against that header's ``state_root`` and the header against its QC.
    """

    key: bytes
    value: bytes | None
    version: int
    root: bytes
    proof: StateProof
    header_height: int | None


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """What a node reports about itself."""

    name: str
    chain_id: str
    suite: str
    validator_index: int | None
    height: int
    """Latest committed and executed height."""
    state_root: bytes
    round: int
    leader: int
    mempool_size: int
    validators: int
    evidence: int
    epoch: int = 0
    dropped_gossip: int = 0
    """Transaction gossip batches dropped because the gossip queue was full."""
    dropped_messages: int = 0
    """Consensus messages dropped because the inbox was full."""


@dataclass(frozen=True, slots=True)
class AssetPage:
    """Asset definitions in symbol order, from the state at ``height``."""

    height: int
    assets: tuple[Asset, ...]
    next: str | None
    """The last symbol of this page when more follow (pass it as ``after``), else None."""


@dataclass(frozen=True, slots=True)
class HolderPage:
    """Holders of one asset in address order, from the state at ``height``.

    Balances are stored by holder, so finding an asset's holders walks every
    balance; one page reads a bounded number of them and ``next`` says where
    to resume (None: the walk reached the end).
    """

    height: int
    symbol: str
    holders: tuple[tuple[bytes, int], ...]
    """(address, base units) of each holder with a positive balance."""
    scanned: int
    """Balance entries (of every asset) read for this page."""
    next: bytes | None
    """The address to pass as ``after`` for the next page, or None."""
