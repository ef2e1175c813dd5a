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


class Router:
    """The node's side of the network."""

    def __init__(
        self,
        *,
        driver: ConsensusDriver,
        reader: LedgerReader,
        hash_fn: Hasher,
        wait_executed: Callable[[int, float], Awaitable[bool]],
        admit_gossip: Callable[[Sequence[bytes]], Awaitable[object]],
        execution_wait_s: float,
    ) -> None:
        self._driver = driver
        self._reader = reader
        self._hash = hash_fn
        self._wait_executed = wait_executed
        self._admit_gossip = admit_gossip
        self._wait_s = execution_wait_s
        self.p2p: P2PNetwork | None = None
        self._inbox: asyncio.Queue[tuple[PeerKey, WireMessage]] = asyncio.Queue(INBOX_SIZE)
        self._gossip_inbox: asyncio.Queue[Sequence[bytes]] = asyncio.Queue(GOSSIP_INBOX_SIZE)
        self.dropped_gossip = 0
        self._gossip: list[bytes] = []
        self._requests = itertools.count(1)
        self._inflight: dict[int, tuple[bytes, float]] = {}
        """Block requests awaiting an answer: id -> (target block id, monotonic send time)."""
        self._future: collections.deque[tuple[PeerKey, WireMessage]] = collections.deque(
            maxlen=MAX_FUTURE_MESSAGES
        )
        self._index: dict[PeerKey, int] = {}
        self._catchup_at = 0.0
        self._nudged: dict[PeerKey, float] = {}
        self.new_epoch()
        self.dropped_inbound = 0

    @property
    def _core(self) -> ConsensusCore:
        return self._driver.core

    def new_epoch(self) -> None:
        """The driver runs a new epoch's core: re-map keys, tell every peer, handle kept
        messages.

        Telling the peers matters: a validator of the old epoch that missed its end
        may be waiting for this node's vote, which will never come again; our new
        certificates make it fetch the epoch-ending block and its proof
        ([CONS-EPOCH.2]).
        """
        validators = self._core.committee.validator_set.validators
        self._index = {v.public_key: i for i, v in enumerate(validators)}
        if self.p2p is not None:
            for peer in self.p2p.connected():
                self.on_connect(peer)
        kept, self._future = self._future, collections.deque(maxlen=MAX_FUTURE_MESSAGES)
        for peer, message in kept:
            self.handle(peer, message)

    def _nudge(self, peer: PeerKey) -> None:
        """A peer still sends messages of an epoch we left: send it our certificates
        (at most once per NUDGE_INTERVAL_S), so it catches up ([CONS-EPOCH.2])."""
        now = time.monotonic()
        if now - self._nudged.get(peer, 0.0) >= NUDGE_INTERVAL_S:
            self._nudged[peer] = now
            self.on_connect(peer)

    def _key_of(self, index: int) -> PeerKey | None:
        validators = self._core.committee.validator_set.validators
        return validators[index].public_key if 0 <= index < len(validators) else None

    # ----------------------------------------------------------- driver.Network

    def broadcast(self, message: Proposal | TimeoutMsg) -> None:
        """Send a proposal or timeout to every peer."""
        assert self.p2p is not None
        if isinstance(message, Proposal):
            self.p2p.broadcast(ProposalMsg(proposal=message))
        else:
            self.p2p.broadcast(TimeoutMsgWire(timeout=message))

    def send_vote(self, to: int, vote: Vote) -> None:
        """Send a vote to the next leader."""
        assert self.p2p is not None
        key = self._key_of(to)
        if key is not None:
            self.p2p.send(key, VoteMsg(vote=vote))

    def request_blocks(self, peer: int, action: NeedBlock) -> None:
        """Ask ``peer`` for the chain from our committed root to the certified block."""
        self._request(self._key_of(peer), action.qc.block_id)

    def _request(self, peer: PeerKey | None, target: bytes) -> None:
        assert self.p2p is not None
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
        from_height = self._core.tree.root.header.height + 1
        connected = self.p2p.connected()
        candidates = [*([peer] if peer is not None else []), *[k for k in connected if k != peer]]
        for candidate in candidates:
            if self.p2p.send(candidate, BlockRequest(request_id, from_height, target)):
                return
        del self._inflight[request_id]

    # ------------------------------------------------------------------ gossip

    def gossip(self, raws: Sequence[bytes]) -> None:
        """Queue client transactions this node admitted for the next gossip batch."""
        self._gossip.extend(raws)

    async def _gossip_loop(self) -> None:
        while True:
            await asyncio.sleep(GOSSIP_INTERVAL_S)
            if self._gossip and self.p2p is not None:
                batch, self._gossip = self._gossip, []
                for i in range(0, len(batch), MAX_GOSSIP_TXS):
                    self.p2p.broadcast(TxGossip(txs=tuple(batch[i : i + MAX_GOSSIP_TXS])))

    # ----------------------------------------------------------------- inbound

    def on_connect(self, peer: PeerKey) -> None:
        """Tell a new peer our highest certificates."""
        assert self.p2p is not None
        tree = self._core.tree
        self.p2p.send(
            peer,
            SyncInfo(
                highest_qc=tree.highest_qc,
                highest_tc=tree.highest_tc,
                committed_height=tree.root.header.height,
            ),
        )

    def handle(self, peer: PeerKey, message: WireMessage) -> None:
        """Queue an inbound message (dropped and counted if the inbox is full)."""
        if isinstance(message, TxGossip):
            try:
                self._gossip_inbox.put_nowait(message.txs)
            except asyncio.QueueFull:
                self.dropped_gossip += 1
            return
        try:
            self._inbox.put_nowait((peer, message))
        except asyncio.QueueFull:
            self.dropped_inbound += 1

    async def run(self) -> None:
        """Process inbound messages in order, admit gossip, and gossip, until cancelled."""
        tasks = [
            asyncio.create_task(self._gossip_loop()),
            asyncio.create_task(self._admission_loop()),
        ]
        try:
            while True:
                peer, message = await self._inbox.get()
                await self._dispatch(peer, message)
        finally:
            for task in tasks:
                task.cancel()

    async def _admission_loop(self) -> None:
        while True:
            batch = await self._gossip_inbox.get()
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
            if answer is not None and self.p2p is not None:
                self.p2p.send(peer, answer)
        elif isinstance(message, SnapshotChunkRequest) and self.p2p is not None:
            self.p2p.send(peer, snapshot.chunk(self._reader, message))

    def p2p_name(self, peer: PeerKey) -> str:
        """A peer's node name for logs."""
        return self.p2p.name_of(peer) if self.p2p is not None else "?"

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
        assert self.p2p is not None
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
        self.p2p.send(
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
        pending = self._inflight.pop(response.request_id, None)
        if pending is None or not response.blocks:
            return
        target = pending[0]
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
