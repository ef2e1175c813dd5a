"""Connects the consensus driver to the peer-to-peer network.

Outbound: implements the driver's ``Network`` (proposals, votes, timeouts,
block requests) and gossips client transactions. Inbound: turns wire
messages into core events, in arrival order on one task, waiting for local
execution to reach a proposal's ``state_height`` before judging it, and
answers block requests from the pending tree and the ledger ([NET-SYNC.1]).
Gossiped transactions are admitted on a task of their own, in their arrival
order: their signature checks are the bulk of a loaded node's work, and
consensus messages must not queue behind them (a proposal holding
transactions not admitted yet verifies those itself).

Peers are known by key; the current epoch's committee says which are
validators (consensus messages from any other peer are ignored). A message
of a later epoch means this node missed an epoch change: it is kept (a
bounded number) and the chain up to the epoch-ending block is fetched with
its commit proof; once the node enters that epoch the kept messages are
handled ([CONS-EPOCH.2]).

Three objects, built in this order so none needs one built after it:
:class:`Inbox` (what the links deliver, queued), :class:`PeerLinks` (the
driver's ``Network``: what consensus sends, block requests, gossip) and
:class:`Router` (takes the inbox's messages to the driver's core).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from consortia.consensus.core import ConsensusCore, NeedBlock
from consortia.consensus.types import Proposal, TimeoutMsg, Vote
from consortia.consensus.validators import Committee
from consortia.ledger.errors import BlockNotFound, EpochNotFound
from consortia.ledger.types import Block, EpochStart, Hasher, QuorumCert, block_id
from consortia.network.messages import (
    MAX_GOSSIP_TXS,
    MAX_SYNC_BLOCKS,
    BlockRequest,
    BlockResponse,
    ProposalMsg,
    SnapshotChunkRequest,
    SnapshotOfferRequest,
    SyncInfo,
    TimeoutMsgWire,
    TxGossip,
    VoteMsg,
    WireMessage,
)
from consortia.network.transport import P2PNetwork, PeerKey
from consortia.node import snapshot
from consortia.node.driver import ConsensusDriver
from consortia.node.reader import LedgerReader

log = logging.getLogger(__name__)

GOSSIP_INTERVAL_S: Final = 0.02
REQUEST_TIMEOUT_S: Final = 2.0
"""A block request unanswered for this long may be sent again (to any peer)."""
INBOX_SIZE: Final = 65_536
GOSSIP_INBOX_SIZE: Final = 1_024
"""Gossip batches waiting for admission (up to MAX_GOSSIP_TXS each); more are dropped
and counted: the transactions stay pooled at the validator that admitted them."""
NUDGE_INTERVAL_S: Final = 1.0
"""Least time between two SyncInfo answers to a peer stuck in an earlier epoch."""
MAX_FUTURE_MESSAGES: Final = 1_024
"""Messages of a later epoch kept until this node has entered it."""


def message_epoch(message: WireMessage) -> int | None:
    """The epoch a consensus message belongs to (None for other messages)."""
    if isinstance(message, ProposalMsg):
        return message.proposal.block.header.epoch
    if isinstance(message, VoteMsg):
        return message.vote.data.epoch
    if isinstance(message, TimeoutMsgWire):
        return message.timeout.data.epoch
    if isinstance(message, SyncInfo):
        return message.highest_qc.epoch
    return None


def referenced_block(message: WireMessage) -> bytes:
    """A certified block a consensus message points at (to fetch the chain up to it)."""
    if isinstance(message, ProposalMsg):
        return message.proposal.block.header.justify.block_id
    if isinstance(message, VoteMsg):
        return message.vote.data.block_id
    if isinstance(message, TimeoutMsgWire):
        return message.timeout.high_qc.block_id
    assert isinstance(message, SyncInfo)
    return message.highest_qc.block_id


CONNECTED: Final = None
"""Inbox entry for a peer whose link just came up (answered with our certificates)."""


class Inbox:
    """Messages from the peer links, queued for the router; bounded, drops counted.

    The ``P2PNetwork``'s handler and connect callback are this object's
    :meth:`handle` and :meth:`connected`, so the links exist before the router.
    """

    def __init__(self) -> None:
        self.messages: asyncio.Queue[tuple[PeerKey, WireMessage | None]] = asyncio.Queue(INBOX_SIZE)
        """Consensus and sync messages in arrival order; ``CONNECTED`` for a new link."""
        self.gossip: asyncio.Queue[Sequence[bytes]] = asyncio.Queue(GOSSIP_INBOX_SIZE)
        """Gossiped transaction batches awaiting admission."""
        self.dropped_gossip = 0
        self.dropped_inbound = 0

    def handle(self, peer: PeerKey, message: WireMessage) -> None:
        """Queue an inbound message (dropped and counted if its queue is full)."""
        if isinstance(message, TxGossip):
            try:
                self.gossip.put_nowait(message.txs)
            except asyncio.QueueFull:
                self.dropped_gossip += 1
            return
        self._put(peer, message)

    def connected(self, peer: PeerKey) -> None:
        """A link to ``peer`` is up."""
        self._put(peer, CONNECTED)

    def _put(self, peer: PeerKey, message: WireMessage | None) -> None:
        try:
            self.messages.put_nowait((peer, message))
        except asyncio.QueueFull:
            self.dropped_inbound += 1

    def dropped(self) -> tuple[int, int]:
        """(gossip batches, consensus messages) dropped so far."""
        return self.dropped_gossip, self.dropped_inbound


class PeerLinks:
    """The driver's ``Network`` over the peer links: consensus messages out, block
    requests (with the table of those in flight), and gossip of admitted transactions."""

    def __init__(self, p2p: P2PNetwork, committee: Committee) -> None:
        self.p2p = p2p
        self._validators = committee.validator_set.validators
        self._requests = itertools.count(1)
        self._inflight: dict[int, tuple[bytes, float]] = {}
        """Block requests awaiting an answer: id -> (target block id, monotonic send time)."""
        self._gossip: list[bytes] = []

    def new_epoch(self, committee: Committee) -> None:
        """Address votes by the new epoch's validator indexes."""
        self._validators = committee.validator_set.validators

    def key_of(self, index: int) -> PeerKey | None:
        """The key of validator ``index`` in the current epoch (None if out of range)."""
        validators = self._validators
        return validators[index].public_key if 0 <= index < len(validators) else None

    def broadcast(self, message: Proposal | TimeoutMsg) -> None:
        """Send a proposal or timeout to every peer."""
        if isinstance(message, Proposal):
            self.p2p.broadcast(ProposalMsg(proposal=message))
        else:
            self.p2p.broadcast(TimeoutMsgWire(timeout=message))

    def send_vote(self, to: int, vote: Vote) -> None:
        """Send a vote to the next leader."""
        key = self.key_of(to)
        if key is not None:
            self.p2p.send(key, VoteMsg(vote=vote))

    def request_blocks(self, peer: int, action: NeedBlock, from_height: int) -> None:
        """Ask ``peer`` for the chain from ``from_height`` to the certified block."""
        self.request(self.key_of(peer), action.qc.block_id, from_height)

    def request(self, peer: PeerKey | None, target: bytes, from_height: int) -> None:
        """Ask ``peer`` (or, failing it, any connected peer) for the chain up to ``target``."""
        now = time.monotonic()
        # Forget requests nobody answered (peer gone), so the block is asked for again.
        self._inflight = {
            i: (t, sent)
            for i, (t, sent) in self._inflight.items()
            if now - sent < REQUEST_TIMEOUT_S
        }
        if any(t == target for t, _ in self._inflight.values()):
            return
        request_id = next(self._requests)
        self._inflight[request_id] = (target, now)
        connected = self.p2p.connected()
        candidates = [*([peer] if peer is not None else []), *[k for k in connected if k != peer]]
        for candidate in candidates:
            if self.p2p.send(candidate, BlockRequest(request_id, from_height, target)):
                return
        del self._inflight[request_id]

    def answered(self, request_id: int) -> bytes | None:
        """The target of block request ``request_id``, now answered (None: not ours)."""
        pending = self._inflight.pop(request_id, None)
        return None if pending is None else pending[0]

    def gossip(self, raws: Sequence[bytes]) -> None:
        """Queue client transactions this node admitted for the next gossip batch."""
        self._gossip.extend(raws)

    async def run_gossip(self) -> None:
        """Send the queued transactions every GOSSIP_INTERVAL_S, until cancelled."""
        while True:
            await asyncio.sleep(GOSSIP_INTERVAL_S)
            if self._gossip:
                batch, self._gossip = self._gossip, []
                for i in range(0, len(batch), MAX_GOSSIP_TXS):
                    self.p2p.broadcast(TxGossip(txs=tuple(batch[i : i + MAX_GOSSIP_TXS])))


class Router:
    """Takes what the peer links deliver to the consensus core, and answers sync requests."""

    def __init__(
        self,
        *,
        driver: ConsensusDriver,
        links: PeerLinks,
        inbox: Inbox,
        reader: LedgerReader,
        hash_fn: Hasher,
        wait_executed: Callable[[int, float], Awaitable[bool]],
        admit_gossip: Callable[[Sequence[bytes]], Awaitable[object]],
        execution_wait_s: float,
    ) -> None:
        self._driver = driver
        self._links = links
        self._p2p = links.p2p
        self._inbox = inbox
        self._reader = reader
        self._hash = hash_fn
        self._wait_executed = wait_executed
        self._admit_gossip = admit_gossip
        self._wait_s = execution_wait_s
        self._future: collections.deque[tuple[PeerKey, WireMessage]] = collections.deque(
            maxlen=MAX_FUTURE_MESSAGES
        )
        self._index: dict[PeerKey, int] = {}
        self._catchup_at = 0.0
        self._nudged: dict[PeerKey, float] = {}
        self._index = self._validator_index()

    @property
    def _core(self) -> ConsensusCore:
        return self._driver.core

    def _validator_index(self) -> dict[PeerKey, int]:
        validators = self._core.committee.validator_set.validators
        return {v.public_key: i for i, v in enumerate(validators)}

    def new_epoch(self) -> None:
        """The driver runs a new epoch's core: re-map keys, tell every peer, handle kept
        messages.

        Telling the peers matters: a validator of the old epoch that missed its end
        may be waiting for this node's vote, which will never come again; our new
        certificates make it fetch the epoch-ending block and its proof
        ([CONS-EPOCH.2]).
        """
        self._links.new_epoch(self._core.committee)
        self._index = self._validator_index()
        for peer in self._p2p.connected():
            self.on_connect(peer)
        kept, self._future = self._future, collections.deque(maxlen=MAX_FUTURE_MESSAGES)
        for peer, message in kept:
            self._inbox.handle(peer, message)

    def _nudge(self, peer: PeerKey) -> None:
        """A peer still sends messages of an epoch we left: send it our certificates
        (at most once per NUDGE_INTERVAL_S), so it catches up ([CONS-EPOCH.2])."""
        now = time.monotonic()
        if now - self._nudged.get(peer, 0.0) >= NUDGE_INTERVAL_S:
            self._nudged[peer] = now
            self.on_connect(peer)

    def _request(self, peer: PeerKey | None, target: bytes) -> None:
        self._links.request(peer, target, self._core.tree.root.header.height + 1)

    # ----------------------------------------------------------------- inbound

    def on_connect(self, peer: PeerKey) -> None:
        """Tell a peer our highest certificates."""
        tree = self._core.tree
        self._p2p.send(
            peer,
            SyncInfo(
                highest_qc=tree.highest_qc,
                highest_tc=tree.highest_tc,
                committed_height=tree.root.header.height,
            ),
        )

    async def run(self) -> None:
        """Process inbound messages in order, admit gossip, and gossip, until cancelled
        (or until one of them fails, which ends the others and raises)."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._links.run_gossip(), name="gossip")
            group.create_task(self._admission_loop(), name="gossip admission")
            group.create_task(self._inbound_loop(), name="inbound")

    async def _inbound_loop(self) -> None:
        while True:
            peer, message = await self._inbox.messages.get()
            if message is None:  # CONNECTED
                self.on_connect(peer)
            else:
                await self._dispatch(peer, message)

    async def _admission_loop(self) -> None:
        while True:
            batch = await self._inbox.gossip.get()
            try:
                await self._admit_gossip(batch)
            except Exception:  # one bad batch must not end admission of the rest
                log.exception("admitting a gossip batch failed")

    async def _dispatch(self, peer: PeerKey, message: WireMessage) -> None:
        core, guarded = self._core, self._driver.guarded
        epoch = message_epoch(message)
        if epoch is not None:
            if epoch > core.committee.epoch:
                self._future.append((peer, message))
                now = time.monotonic()
                if now - self._catchup_at >= REQUEST_TIMEOUT_S:
                    self._catchup_at = now
                    self._request(peer, referenced_block(message))
                return
            if epoch < core.committee.epoch:
                self._nudge(peer)  # it has not seen the epoch end: help it across
                return
            if peer not in self._index:
                return  # not a validator in this epoch
        if isinstance(message, ProposalMsg):
            proposal = message.proposal
            guarded(lambda: core.process_certificates(proposal))
            height = proposal.block.header.state_height
            # Only a committed height can be certified; never wait on any other.
            if height <= core.tree.root.header.height and not await self._wait_executed(
                height, self._wait_s
            ):
                log.warning("state height %d not executed in time; not voting", height)
                return
            if self._core is not core:
                return  # the epoch changed while we waited: this proposal is of the old one
            guarded(lambda: core.on_proposal(proposal))
        elif isinstance(message, VoteMsg):
            guarded(lambda: core.on_vote(message.vote))
        elif isinstance(message, TimeoutMsgWire):
            guarded(lambda: core.on_timeout_msg(message.timeout))
        elif isinstance(message, SyncInfo):
            sender = self._index[peer]
            guarded(lambda: core.on_sync_info(sender, message.highest_qc, message.highest_tc))
        elif isinstance(message, BlockRequest):
            self._answer(peer, message)
        elif isinstance(message, BlockResponse):
            self._on_blocks(peer, message)
        elif isinstance(message, SnapshotOfferRequest):
            answer = snapshot.offer(self._reader, message.request_id)
            if answer is not None:
                self._p2p.send(peer, answer)
        elif isinstance(message, SnapshotChunkRequest):
            self._p2p.send(peer, snapshot.chunk(self._reader, message))

    def p2p_name(self, peer: PeerKey) -> str:
        """A peer's node name for logs."""
        return self._p2p.name_of(peer)

    # -------------------------------------------------------------------- sync

    def _chain_to(self, target: bytes, from_height: int) -> list[tuple[Block, bytes]]:
        """Blocks from ``from_height`` to ``target`` (oldest first), pending or committed."""
        tree = self._core.tree
        chain: list[tuple[Block, bytes]] = []
        current: bytes | None = target
        while current is not None:
            block = tree.get(current)
            if block is None:
                try:
                    block = self._reader.block_by_id(current).block
                except BlockNotFound:
                    return []
            if block.header.height < from_height:
                break
            chain.append((block, current))
            if block.header.height in (from_height, 0):
                break
            current = block.header.parent_id
        chain.reverse()
        return chain

    def _epoch_end_in(
        self, chain: list[tuple[Block, bytes]]
    ) -> tuple[list[tuple[Block, bytes]], EpochStart | None]:
        """Cut ``chain`` after the first block that ended an epoch, with that epoch change."""
        for i, (block, bid) in enumerate(chain):
            ending = block.header.next_validators
            if ending is None:
                continue
            try:
                start = self._reader.epoch(ending.epoch)
            except EpochNotFound:
                continue
            if start.root_id == bid:
                return chain[: i + 1], start
        return chain, None

    def _answer(self, peer: PeerKey, request: BlockRequest) -> None:
        chain = self._chain_to(request.to_block_id, request.from_height)
        if not chain:
            return
        chain, change = self._epoch_end_in(chain)
        if len(chain) > MAX_SYNC_BLOCKS:
            chain, change = chain[:MAX_SYNC_BLOCKS], None
        proof = None if change is None else change.proof
        last_block, last_id = chain[-1]
        last_qc = (
            proof.headers[0].justify
            if proof is not None
            else self._certificate_of(last_block, last_id, chain)
        )
        if last_qc is None:
            return
        self._p2p.send(
            peer,
            BlockResponse(
                request_id=request.request_id,
                blocks=tuple(b for b, _ in chain),
                last_qc=last_qc,
                epoch_proof=proof,
            ),
        )

    def _certificate_of(
        self, block: Block, bid: bytes, chain: list[tuple[Block, bytes]]
    ) -> QuorumCert | None:
        tree = self._core.tree
        if tree.highest_qc.block_id == bid:
            return tree.highest_qc
        for candidate in (b for b, _ in chain):
            if candidate.header.justify.block_id == bid:
                return candidate.header.justify
        for pending_id in tree.pending_ids():
            pending = tree.get(pending_id)
            if pending is not None and pending.header.justify.block_id == bid:
                return pending.header.justify
        try:
            record = self._reader.block(block.header.height)
        except BlockNotFound:
            return None
        return record.certificate if record.block_id == bid else None

    def _on_blocks(self, peer: PeerKey, response: BlockResponse) -> None:
        target = self._links.answered(response.request_id)
        if target is None or not response.blocks:
            return
        blocks = [(b, block_id(self._hash, b.header)) for b in response.blocks]
        for (_prev, prev_id), (block, _) in itertools.pairwise(blocks):
            if block.header.parent_id != prev_id:
                self._driver.rejected_messages += 1
                log.warning("%s sent a block chain with a broken link", self.p2p_name(peer))
                return
        if response.last_qc.block_id != blocks[-1][1]:
            self._driver.rejected_messages += 1
            return
        self._driver.guarded(
            lambda: self._core.on_synced_blocks(blocks, response.last_qc, response.epoch_proof)
        )
        if blocks[-1][1] != target:
            self._request(peer, target)
