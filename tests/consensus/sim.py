"""A deterministic simulated network of :class:`ConsensusCore` instances.

Every validator is a real core with a real key (``PrivateKey.from_secret``), its own
:class:`Committee`, safety rules over :class:`MemorySafetyStorage` and a
:class:`MemoryPendingStore`. A seeded scheduler delivers messages after random
delays (so they reorder), may drop them, and fires each node's single timer on
a virtual clock, as ``node/driver.py`` does on the event loop. ``NeedBlock`` is
answered like ``node/router.py``: the peer walks its tree (and its committed
ledger) back to the requester's root and the requester calls
``on_synced_blocks`` oldest first.

Faults: crash (a crashed node handles nothing; it may recover in place or
restart from its storage), partitions (a predicate over sender, receiver and
the message's round, evaluated on delivery), and Twins (Bano et al. 2021): a
Byzantine validator played by two honest cores sharing its key and index.

Invariants are checked on every commit, i.e. after every step that can change
them: agreement among honest nodes at every height, each node's committed
chain links parent to child (so chains are prefixes of one another), and every
committed block carries a QC that verifies and certifies it, and a ``justify``
QC that verifies and certifies its parent.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tests.consensus.support import (
    CHAIN_ID,
    GENESIS_TIMESTAMP_MS,
    HASH,
    AcceptAll,
    Chain,
    CounterBuilder,
    MemoryPendingStore,
    MemorySafetyStorage,
    make_chain,
)

from consortia.consensus.blocktree import BlockTree, CommittedBlock
from consortia.consensus.core import (
    Action,
    Broadcast,
    Commit,
    ConsensusCore,
    NeedBlock,
    ScheduleTimeout,
    SendVote,
)
from consortia.consensus.errors import ConsensusError
from consortia.consensus.pacemaker import PacemakerConfig
from consortia.consensus.safety import SafetyRules
from consortia.consensus.types import Proposal, TimeoutCert, TimeoutMsg, Vote
from consortia.consensus.validators import Committee
from consortia.crypto import KeyType
from consortia.ledger.types import Block, QuorumCert, ValidatorSet

ALL_CONNECTED: Partition = lambda src, dst, round_: True  # noqa: E731
"""The partition predicate of a healthy network."""


class InvariantViolation(AssertionError):
    """A safety invariant of the simulation does not hold."""


class ScheduledCommittee(Committee):
    """A committee whose leaders of rounds ``1..len(schedule)`` are chosen by the test.

    Safety must not depend on who leads, so Twins scenarios pick leaders freely;
    later rounds rotate round-robin over ``later`` (default: every index).
    """

    def __init__(
        self,
        chain_id: str,
        validator_set: ValidatorSet,
        genesis_id: bytes,
        schedule: Sequence[int],
        later: Sequence[int] = (),
    ) -> None:
        super().__init__(chain_id, validator_set, genesis_id)
        self.schedule = tuple(schedule)
        self.later = tuple(later)

    def leader(self, round_: int) -> int:
        if 1 <= round_ <= len(self.schedule):
            return self.schedule[round_ - 1]
        if self.later:
            return self.later[round_ % len(self.later)]
        return super().leader(round_)


class PacedBuilder(CounterBuilder):
    """Always proposes, but at most one block per virtual millisecond (a minimum interval).

    With one validator, proposal, vote, QC and the next round all happen inside one
    core call, so an unpaced builder would recurse forever; the node's real builder
    paces on its clock in the same way ([NODE-INTERVAL.1]). The virtual clock drives
    :class:`CounterBuilder`'s ``now_ms`` (and so the block timestamps).
    """

    def __init__(self, proposer: int, tag: bytes, clock: Callable[[], float]) -> None:
        super().__init__(proposer, tag)
        self._clock = clock

    def build(
        self, parent: Block, parent_id: bytes, round_: int, justify: QuorumCert
    ) -> Block | None:
        self.now_ms = GENESIS_TIMESTAMP_MS + round(self._clock() * 1000)
        return super().build(parent, parent_id, round_, justify)


@dataclass(frozen=True, slots=True)
class SyncInfoMsg:
    """A peer's highest certificates, as sent on (re)connection."""

    qc: QuorumCert
    tc: TimeoutCert | None


@dataclass(frozen=True, slots=True)
class BlockReq:
    """Ask for the chain from ``from_height`` to the block ``qc`` certifies."""

    from_height: int
    qc: QuorumCert


@dataclass(frozen=True, slots=True)
class BlockResp:
    """Blocks oldest first, and the QC of the last one."""

    blocks: tuple[tuple[Block, bytes], ...]
    qc: QuorumCert


Message = Proposal | Vote | TimeoutMsg | SyncInfoMsg | BlockReq | BlockResp
Partition = Callable[[int, int, int], bool]
"""``(sender node, receiver node, round of the message) -> delivered?``"""


@dataclass
class SimNode:
    """One simulated validator process (a twin is a second node with the same index)."""

    node_id: int
    index: int
    core: ConsensusCore
    safety_storage: MemorySafetyStorage
    store: MemoryPendingStore
    honest: bool = True
    crashed: bool = False
    ledger: list[CommittedBlock] = field(default_factory=list)
    """Committed blocks, height 1 first (genesis is implicit)."""
    timer_gen: int = 0
    rejected: int = 0

    @property
    def committed_height(self) -> int:
        return len(self.ledger)

    def committed_ids(self) -> list[bytes]:
        return [c.block_id for c in self.ledger]


@dataclass(order=True)
class _Event:
    time: float
    seq: int
    kind: str = field(compare=False)
    node: int = field(compare=False)
    payload: object = field(compare=False, default=None)
    src: int = field(compare=False, default=-1)
    round: int = field(compare=False, default=0)


class Simulation:
    """N cores (plus twins) on a seeded, virtual-time network."""

    def __init__(
        self,
        n: int = 4,
        *,
        seed: int = 0,
        key_type: KeyType = KeyType.P256,
        weights: Sequence[int] | None = None,
        twins: Sequence[int] = (),
        leaders: Sequence[int] = (),
        later_leaders: Sequence[int] = (),
        min_delay: float = 0.01,
        max_delay: float = 0.1,
        drop: float = 0.0,
        pacemaker: PacemakerConfig | None = None,
        tick_s: float = 0.25,
    ) -> None:
        self.chain: Chain = make_chain(n, weights=weights, key_type=key_type)
        self.rng = random.Random(seed)
        self.now = 0.0
        self.min_delay, self.max_delay, self.drop = min_delay, max_delay, drop
        self.partition: Partition = ALL_CONNECTED
        self.pacemaker = pacemaker or PacemakerConfig(base_timeout_s=1.0, max_timeout_s=8.0)
        self.leaders = tuple(leaders)
        self.later_leaders = tuple(later_leaders)
        self.tick_s = tick_s
        self._queue: list[_Event] = []
        self._seq = 0
        self.steps = 0
        self.canonical: dict[int, bytes] = {}
        """Height -> block id committed by the honest nodes."""
        self._checker = self.chain.fresh_committee()
        self.nodes: list[SimNode] = []
        for i in range(n):
            self.nodes.append(self._new_node(len(self.nodes), i, honest=i not in twins))
        for i in twins:
            self.nodes.append(self._new_node(len(self.nodes), i, honest=False, tag=b"twin"))

    # ------------------------------------------------------------ construction

    def _committee(self) -> Committee:
        c = self.chain
        if self.leaders or self.later_leaders:
            return ScheduledCommittee(
                CHAIN_ID, c.committee.validator_set, c.genesis_id, self.leaders, self.later_leaders
            )
        return c.fresh_committee()

    def _core(
        self,
        index: int,
        safety_storage: MemorySafetyStorage,
        store: MemoryPendingStore,
        tree: BlockTree,
        tag: bytes,
    ) -> ConsensusCore:
        key = self.chain.keys[index]
        safety = SafetyRules(
            safety_storage, key.sign, chain_id=CHAIN_ID, author=index, epoch=self.chain.epoch
        )
        return ConsensusCore(
            committee=self._committee(),
            tree=tree,
            hash_fn=HASH,
            me=index,
            safety=safety,
            builder=PacedBuilder(index, tag, lambda: self.now),
            validator=AcceptAll(),
            store=store,
            pacemaker=self.pacemaker,
        )

    def _new_node(self, node_id: int, index: int, *, honest: bool, tag: bytes = b"") -> SimNode:
        safety_storage, store = MemorySafetyStorage(), MemoryPendingStore()
        tree = BlockTree(self.chain.genesis, self.chain.genesis_id, self.chain.genesis_qc)
        core = self._core(index, safety_storage, store, tree, tag)
        return SimNode(node_id, index, core, safety_storage, store, honest=honest)

    # ---------------------------------------------------------------- running

    def start(self) -> None:
        """Start every live core and the proposal tickers."""
        for node in self.nodes:
            if not node.crashed:
                self._step(node, node.core.start)
        self._push(self.tick_s, "tick", -1)

    def _push(self, delay: float, kind: str, node: int, **kw: object) -> None:
        self._seq += 1
        heapq.heappush(self._queue, _Event(self.now + delay, self._seq, kind, node, **kw))  # type: ignore[arg-type]

    def run_until(self, t: float, *, max_steps: int = 200_000) -> None:
        """Process events up to virtual time ``t``."""
        while self._queue and self._queue[0].time <= t:
            event = heapq.heappop(self._queue)
            self.now = event.time
            self.steps += 1
            if self.steps > max_steps:
                raise RuntimeError(f"simulation exceeded {max_steps} steps")
            self._handle(event)
        self.now = max(self.now, t)

    def run_for(self, duration: float) -> None:
        self.run_until(self.now + duration)

    def run_until_height(self, height: int, *, deadline: float, nodes: Sequence[int] = ()) -> bool:
        """Run until every given (default: every live honest) node committed ``height``."""
        targets = [self.nodes[i] for i in nodes] or self.live_honest()
        while self.now < deadline:
            if all(n.committed_height >= height for n in targets):
                return True
            self.run_until(min(deadline, self.now + 0.5))
        return all(n.committed_height >= height for n in targets)

    def live_honest(self) -> list[SimNode]:
        return [n for n in self.nodes if n.honest and not n.crashed]

    def _handle(self, event: _Event) -> None:
        if event.kind == "tick":
            for node in self.nodes:
                if not node.crashed:
                    self._step(node, node.core.try_propose)
            self._push(self.tick_s, "tick", -1)
            return
        node = self.nodes[event.node]
        if node.crashed:
            return
        if event.kind == "timer":
            if event.payload == node.timer_gen:
                self._step(node, lambda: node.core.on_local_timeout(event.round))
            return
        if not self.partition(event.src, event.node, event.round):
            return
        self._deliver(node, self.nodes[event.src], event.payload)  # type: ignore[arg-type]

    def _deliver(self, node: SimNode, src: SimNode, message: Message) -> None:
        core = node.core
        if isinstance(message, Proposal):
            self._step(node, lambda: core.on_proposal(message))
        elif isinstance(message, Vote):
            self._step(node, lambda: core.on_vote(message))
        elif isinstance(message, TimeoutMsg):
            self._step(node, lambda: core.on_timeout_msg(message))
        elif isinstance(message, SyncInfoMsg):
            self._step(node, lambda: core.on_sync_info(src.index, message.qc, message.tc))
        elif isinstance(message, BlockReq):
            chain = self._chain_to(node, message.qc.block_id, message.from_height)
            if chain:
                self._send(node, src, BlockResp(tuple(chain), message.qc), core.current_round)
        else:
            self._step(node, lambda: core.on_synced_blocks(list(message.blocks), message.qc))

    def _step(self, node: SimNode, call: Callable[[], list[Action]]) -> None:
        """Run one core call as the driver does: a refused message changes nothing."""
        try:
            actions = call()
        except ConsensusError:
            node.rejected += 1
            return
        self._apply(node, actions)

    # ---------------------------------------------------------------- actions

    def _apply(self, node: SimNode, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Broadcast):
                message = action.message
                round_ = (
                    message.block.header.round
                    if isinstance(message, Proposal)
                    else message.data.round
                )
                for other in self.nodes:
                    if other is not node:
                        self._send(node, other, message, round_)
            elif isinstance(action, SendVote):
                for other in self.nodes:
                    if other.index == action.to and other is not node:
                        self._send(node, other, action.vote, action.vote.data.round)
            elif isinstance(action, Commit):
                self._on_commit(node, action.blocks)
            elif isinstance(action, ScheduleTimeout):
                node.timer_gen += 1
                self._push(action.delay_s, "timer", node.node_id, payload=node.timer_gen,
                           round=action.round)  # fmt: skip
            elif isinstance(action, NeedBlock):
                self._request_blocks(node, action)

    def _send(self, src: SimNode, dst: SimNode, message: Message, round_: int) -> None:
        if self.drop and self.rng.random() < self.drop:
            return
        delay = self.rng.uniform(self.min_delay, self.max_delay)
        self._push(delay, "deliver", dst.node_id, payload=message, src=src.node_id, round=round_)

    def _request_blocks(self, node: SimNode, need: NeedBlock) -> None:
        from_height = node.core.tree.root.header.height + 1
        request = BlockReq(from_height, need.qc)
        peers = [p for p in self.nodes if p.index == need.peer and p is not node]
        peers += [p for p in self.nodes if p.index != need.peer and p is not node]
        round_ = node.core.current_round
        for peer in peers:
            if self.partition(node.node_id, peer.node_id, round_) and not peer.crashed:
                self._send(node, peer, request, round_)
                return

    def _chain_to(
        self, node: SimNode, target: bytes, from_height: int
    ) -> list[tuple[Block, bytes]]:
        """Blocks from ``from_height`` to ``target``, oldest first, from the tree or ledger."""
        by_id = {c.block_id: c.block for c in node.ledger}
        chain: list[tuple[Block, bytes]] = []
        current = target
        while True:
            block = node.core.tree.get(current) or by_id.get(current)
            if block is None:
                return []
            if block.header.height < from_height:
                break
            chain.append((block, current))
            if block.header.height <= max(from_height, 1):
                break
            current = block.header.parent_id
        chain.reverse()
        return chain

    # ------------------------------------------------------------- invariants

    def _on_commit(self, node: SimNode, blocks: Sequence[CommittedBlock]) -> None:
        for committed in blocks:
            header = committed.block.header
            height = header.height
            if height <= node.committed_height:
                # Re-committed after a restart from storage: must be what we had.
                if node.ledger[height - 1].block_id != committed.block_id:
                    raise InvariantViolation(f"node {node.node_id} re-committed another {height}")
                continue
            if height != node.committed_height + 1:
                raise InvariantViolation(
                    f"node {node.node_id} committed height {height} after {node.committed_height}"
                )
            parent = node.ledger[-1].block_id if node.ledger else self.chain.genesis_id
            if header.parent_id != parent:
                raise InvariantViolation(f"node {node.node_id}: height {height} breaks the chain")
            self._check_certified(committed)
            node.ledger.append(committed)
            if node.honest:
                first = self.canonical.setdefault(height, committed.block_id)
                if first != committed.block_id:
                    raise InvariantViolation(
                        f"agreement: node {node.node_id} committed another block at {height}"
                    )

    def _check_certified(self, committed: CommittedBlock) -> None:
        qc = committed.certificate
        if qc.block_id != committed.block_id or qc.height != committed.block.header.height:
            raise InvariantViolation("a committed block's certificate certifies another block")
        justify = committed.block.header.justify
        if justify.block_id != committed.block.header.parent_id:
            raise InvariantViolation("a committed block's justify QC is not on its parent")
        try:
            self._checker.verify_qc(qc)
            self._checker.verify_qc(justify)
        except ConsensusError as exc:
            raise InvariantViolation(f"committed block with an invalid QC: {exc}") from exc

    def check_prefixes(self) -> None:
        """Every honest node's committed chain is a prefix of the longest one."""
        honest = [n.committed_ids() for n in self.nodes if n.honest]
        longest = max(honest, key=len, default=[])
        for ids in honest:
            if ids != longest[: len(ids)]:
                raise InvariantViolation("committed chains are not prefixes of one another")

    # ----------------------------------------------------------------- faults

    def crash(self, node_id: int) -> None:
        """Stop a node: it handles no message or timer until it recovers."""
        self.nodes[node_id].crashed = True

    def recover(self, node_id: int, *, restart: bool = False) -> None:
        """Bring a crashed node back, in place or restarted from its storage."""
        node = self.nodes[node_id]
        node.crashed = False
        if restart:
            node.core = self._restarted_core(node)
            self._step(node, node.core.start)
        else:
            node.timer_gen += 1
            self._push(0.0, "timer", node_id, payload=node.timer_gen, round=node.core.current_round)
        self.exchange_sync_info()

    def _restarted_core(self, node: SimNode) -> ConsensusCore:
        """A new core built from durable state only, as ``server/assembly.py`` recovers."""
        if node.ledger:
            last = node.ledger[-1]
            tree = BlockTree(last.block, last.block_id, last.certificate)
        else:
            tree = BlockTree(self.chain.genesis, self.chain.genesis_id, self.chain.genesis_qc)
        recommitted: list[CommittedBlock] = []
        for bid, block in sorted(node.store.blocks.items(), key=lambda kv: kv[1].header.height):
            if block.header.height <= tree.root.header.height or block.header.parent_id not in tree:
                continue
            tree.insert_block(block, bid)
            if block.header.justify.block_id in tree:
                recommitted += tree.insert_qc(block.header.justify)
        qc = node.store.highest_qc
        if qc is not None and qc.block_id in tree:
            recommitted += tree.insert_qc(qc)
        if node.store.highest_tc is not None:
            tree.insert_tc(node.store.highest_tc)
        self._on_commit(node, recommitted)
        tag = b"twin" if not node.honest and node.node_id >= self.chain.committee.size else b""
        return self._core(node.index, node.safety_storage, node.store, tree, tag + b"restart")

    def exchange_sync_info(self) -> None:
        """Every pair of live nodes tells each other its highest certificates (reconnect)."""
        for a in self.nodes:
            for b in self.nodes:
                if a is not b and not a.crashed and not b.crashed:
                    tree = a.core.tree
                    self._send(a, b, SyncInfoMsg(tree.highest_qc, tree.highest_tc),
                               a.core.current_round)  # fmt: skip

    def heal(self) -> None:
        """GST: no more partitions or losses; nodes reconnect and exchange SyncInfo."""
        self.partition = ALL_CONNECTED
        self.drop = 0.0
        self.exchange_sync_info()

    def max_round(self) -> int:
        return max(n.core.current_round for n in self.nodes)


def groups_partition(*groups: Sequence[int]) -> Partition:
    """Nodes talk only within their group (and to themselves)."""
    where = {node: g for g, members in enumerate(groups) for node in members}
    return lambda src, dst, round_: src == dst or where.get(src) == where.get(dst, -1)


def round_partition(schedule: Sequence[Sequence[Sequence[int]]]) -> Partition:
    """Twins: the partition of round r is ``schedule[r - 1]``; later rounds are connected."""
    tables = [
        {node: g for g, members in enumerate(groups) for node in members} for groups in schedule
    ]

    def allowed(src: int, dst: int, round_: int) -> bool:
        if src == dst or not 1 <= round_ <= len(tables):
            return True
        table = tables[round_ - 1]
        return table.get(src, -1) == table.get(dst, -2)

    return allowed


# ------------------------------------------------------------------------ Twins


@dataclass(frozen=True, slots=True)
class TwinsScenario:
    """One generated Twins scenario: n=4, validator ``faulty`` played by two cores.

    Node ids 0..3 are the validators (``faulty`` among them) and node 4 its twin.
    Rounds ``1..len(leaders)`` have the chosen leader and partition; later rounds are
    connected with honest leaders, and at ``stabilise_s`` every link comes up (GST).

    With ``slot_s`` the partitions change with virtual time instead (partition i holds
    during ``[i * slot_s, (i + 1) * slot_s)``), so a node left behind in one round is
    not cut off for good: more scenarios make progress under faults before GST.
    """

    seed: int
    faulty: int
    leaders: tuple[int, ...]
    partitions: tuple[tuple[tuple[int, ...], ...], ...]
    stabilise_s: float
    slot_s: float | None = None

    @classmethod
    def generate(
        cls,
        seed: int,
        *,
        rounds: int = 8,
        stabilise_s: float = 20.0,
        slot_s: float | None = None,
    ) -> TwinsScenario:
        """A scenario drawn from ``seed``: leaders and 1-3-group partitions per round (slot)."""
        rng = random.Random(seed)
        faulty = rng.randrange(4)
        twin = 4
        leaders = tuple(rng.randrange(4) for _ in range(rounds))
        partitions: list[tuple[tuple[int, ...], ...]] = []
        for _ in range(rounds):
            k = rng.choice((1, 2, 2, 2, 2, 2, 2, 3))
            groups: list[list[int]] = [[] for _ in range(k)]
            # The twins sit in different groups whenever there are several.
            groups[0].append(faulty)
            groups[1 % k].append(twin)
            for node in range(4):
                if node != faulty:
                    groups[rng.randrange(k)].append(node)
            partitions.append(tuple(tuple(sorted(g)) for g in groups if g))
        return cls(seed, faulty, leaders, tuple(partitions), stabilise_s, slot_s)


@dataclass
class TwinsOutcome:
    """What a Twins run reached (invariants are checked as it runs)."""

    sim: Simulation
    height_at_gst: int
    final_heights: list[int]
    progressed: bool


def run_twins(
    scenario: TwinsScenario, *, progress: int = 2, within_s: float = 60.0
) -> TwinsOutcome:
    """Run ``scenario``; after GST every honest node must commit ``progress`` more blocks."""
    honest = [i for i in range(4) if i != scenario.faulty]
    sim = Simulation(
        4,
        seed=scenario.seed,
        twins=(scenario.faulty,),
        leaders=scenario.leaders,
        later_leaders=honest,
    )
    if scenario.slot_s is None:
        sim.partition = round_partition(scenario.partitions)
    else:
        sim.partition = time_partition(sim, scenario.partitions, scenario.slot_s)
    sim.start()
    sim.run_until(scenario.stabilise_s)
    sim.check_prefixes()
    height = max((n.committed_height for n in sim.nodes if n.honest), default=0)
    sim.heal()
    progressed = sim.run_until_height(height + progress, deadline=sim.now + within_s)
    sim.check_prefixes()
    return TwinsOutcome(sim, height, [n.committed_height for n in sim.nodes], progressed)


def time_partition(
    sim: Simulation, schedule: Sequence[Sequence[Sequence[int]]], slot_s: float
) -> Partition:
    """Partition ``schedule[i]`` during virtual time slot i; connected afterwards."""
    per_round = round_partition(schedule)
    return lambda src, dst, round_: per_round(src, dst, int(sim.now // slot_s) + 1)
