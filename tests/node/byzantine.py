"""A Byzantine validator for tests: holds a real validator's keys and misbehaves.

It speaks the real protocol (TLS, Hello) so honest nodes accept the link, then
double-votes, votes with bad signatures, replays old messages, sends garbage
and oversized frames, and, when it leads a round, proposes two different
blocks to different honest nodes (equivocation).
"""

from __future__ import annotations

import asyncio
import os
import struct
import threading
from pathlib import Path

from consortia.codec import decode
from consortia.consensus.types import Proposal, Vote
from consortia.consensus.validators import Committee
from consortia.crypto import PrivateKey, get_suite
from consortia.genesis import Genesis
from consortia.ledger.merkle import merkle_root
from consortia.ledger.types import (
    Block,
    BlockHeader,
    QuorumCert,
    VoteData,
    block_id,
    proposal_signing_bytes,
    vote_signing_bytes,
)
from consortia.network.certs import TlsFiles
from consortia.network.framing import encode_frame
from consortia.network.messages import ProposalMsg, VoteMsg, WireMessage
from consortia.network.transport import P2PNetwork
from consortia.node.config import NodeHome
from consortia.node.membership import dial_targets


class ByzantineValidator:
    """Runs on its own event loop thread until :meth:`stop`."""

    def __init__(self, home: Path, genesis_id: bytes) -> None:
        node = NodeHome(home)
        config = node.load_config()
        genesis = decode(node.genesis_file.read_bytes(), Genesis)
        self.hash = get_suite(genesis.suite).hash
        self.key_type = get_suite(genesis.suite).consensus_key_type
        self.committee = Committee(genesis.chain_id, genesis.validators, genesis_id)
        self.key = PrivateKey.from_pem(node.validator_key.read_bytes())
        me = self.committee.index_of(self.key.public_key().to_bytes())
        assert me is not None
        self.me = me
        self.config = config
        self.tls = TlsFiles(home)
        self.seen: list[WireMessage] = []
        self.votes: dict[bytes, dict[int, bytes]] = {}
        self.blocks: dict[bytes, Block] = {}
        self.equivocated_rounds: list[int] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.p2p: P2PNetwork | None = None

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> None:
        self.p2p = P2PNetwork(
            node_name=self.config.name,
            chain_id=self.committee.chain_id,
            genesis_id=self.committee.genesis_id,
            key_type=self.key_type,
            identity=self.key,
            tls=self.tls,
            listen=(self.config.p2p_host, self.config.p2p_port),
            handler=self._on_message,
            on_connect=lambda key: None,
            spawn=asyncio.create_task,  # the test owns its dialers
        )
        self.p2p.set_targets(dial_targets(self.config, self.committee, self.me))
        await self.p2p.start()

    def _send(self, index: int, message: WireMessage) -> None:
        assert self.p2p is not None
        self.p2p.send(self.committee.validator_set.validators[index].public_key, message)

    def stop(self) -> None:
        if self.p2p is not None:
            asyncio.run_coroutine_threadsafe(self.p2p.close(), self.loop).result(10)
        # Let cancelled link tasks finish before the loop stops and closes.
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.2), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    # --------------------------------------------------------------- misbehaviour

    def _raw(self, peer: bytes, frame: bytes) -> None:
        assert self.p2p is not None
        link = self.p2p._links.get(peer)  # test-only: inject arbitrary bytes
        if link is not None:
            link.queue.put_nowait(frame)

    def _vote(self, round_: int, height: int, target: bytes, good: bool = True) -> Vote:
        data = VoteData(
            chain_id=self.committee.chain_id,
            epoch=self.committee.epoch,
            round=round_,
            height=height,
            block_id=target,
        )
        signature = (
            self.key.sign(vote_signing_bytes(data)) if good else b"\x30\x06\x02\x01\x01\x02\x01\x01"
        )
        return Vote(data=data, author=self.me, signature=signature)

    def _on_message(self, peer: bytes, message: WireMessage) -> None:
        assert self.p2p is not None
        self.seen.append(message)
        if isinstance(message, ProposalMsg):
            self._on_proposal(message.proposal)
        elif isinstance(message, VoteMsg):
            self._on_vote(message.vote)
        # Garbage: random bytes in a well-formed frame, and a replay of something old.
        self._raw(peer, encode_frame(os.urandom(64)))
        if len(self.seen) > 20:
            old = self.seen[len(self.seen) // 3]
            self.p2p.broadcast(old)

    def _on_proposal(self, proposal: Proposal) -> None:
        assert self.p2p is not None
        header = proposal.block.header
        bid = block_id(self.hash, header)
        self.blocks[bid] = proposal.block
        next_leader = self.committee.leader(header.round + 1)
        # A badly signed vote, then a double vote: the real block and a made-up one.
        self._send(
            next_leader, VoteMsg(vote=self._vote(header.round, header.height, bid, good=False))
        )
        for target in (bid, self.hash(bid)):
            self._send(next_leader, VoteMsg(vote=self._vote(header.round, header.height, target)))

    def _on_vote(self, vote: Vote) -> None:
        data = vote.data
        if self.committee.leader(data.round + 1) != self.me:
            return
        if not self.committee.public_keys[vote.author].verify(
            vote_signing_bytes(data), vote.signature
        ):
            return
        tally = self.votes.setdefault(data.block_id, {})
        tally[vote.author] = vote.signature
        parent = self.blocks.get(data.block_id)
        if parent is None or len(tally) < self.committee.quorum_weight:
            return
        if data.round + 1 in self.equivocated_rounds:
            return
        signers = tuple(sorted(tally))
        qc = QuorumCert(
            epoch=data.epoch,
            round=data.round,
            height=data.height,
            block_id=data.block_id,
            signers=signers,
            signatures=tuple(tally[i] for i in signers),
        )
        self.equivocated_rounds.append(data.round + 1)
        honest = [i for i in range(self.committee.size) if i != self.me]
        first, second = self._proposal(parent, qc, 1), self._proposal(parent, qc, 2)
        assert self.p2p is not None
        for i in honest[:2]:
            self._send(i, ProposalMsg(proposal=first))
        for i in honest[1:]:
            self._send(i, ProposalMsg(proposal=second))
        # An oversized frame header to one peer ends that link (one side redials).
        self._raw(
            self.committee.validator_set.validators[honest[-1]].public_key,
            struct.pack(">I", 2**31),
        )

    def _proposal(self, parent: Block, qc: QuorumCert, salt: int) -> Proposal:
        p = parent.header
        header = BlockHeader(
            chain_id=p.chain_id,
            epoch=p.epoch,
            round=qc.round + 1,
            height=p.height + 1,
            parent_id=qc.block_id,
            proposer=self.me,
            timestamp_ms=p.timestamp_ms + salt,
            tx_root=merkle_root(self.hash, []),
            tx_count=0,
            state_height=p.state_height,
            state_root=p.state_root,
            receipts_root=p.receipts_root,
            justify=qc,
        )
        bid = block_id(self.hash, header)
        block = Block(
            header=header, transactions=(), signature=self.key.sign(proposal_signing_bytes(bid))
        )
        return Proposal(block=block, tc=None)
