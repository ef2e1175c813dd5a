"""What the API sees of a node: submit transactions, wait for receipts, read, status."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from consortia.codec import CodecError, decode, encode
from consortia.consensus.core import ConsensusCore
from consortia.errors import NodeError
from consortia.execution.errors import ExecutionError
from consortia.execution.executor import Runtime, SenderAuthority
from consortia.execution.extensions import check_direct_call
from consortia.ledger.errors import TransactionNotFound
from consortia.ledger.types import Transaction
from consortia.mempool import Mempool, verify_signatures
from consortia.mempool.errors import MempoolFull
from consortia.mempool.journal import JournalState, MempoolJournal
from consortia.modules.accounts import AUTHORITY
from consortia.network.transport import LinkStats
from consortia.node.driver import ConsensusDriver
from consortia.node.events import EventBus
from consortia.node.read_pool import CallPool
from consortia.node.reader import LedgerReader
from consortia.node.views import NodeStatus, TxRecord

MAX_BATCH = 10_000
"""Most transactions one batch submission may carry."""
MAX_AWAITING_VERIFICATION = 8_192
"""Client transactions that may wait for their signature check at once (a few
seconds of a loaded node's verification); more are refused with MEMPOOL_FULL."""
CLIENT_POOL_SHARE = 2
"""Client transactions fill at most 1/CLIENT_POOL_SHARE of the pool (see ``_shed_if_busy``)."""
REPLAY_BATCH = 4_096
"""Journal records offered to the pool at once on start (below MAX_AWAITING_VERIFICATION)."""

log = logging.getLogger(__name__)


class NodeService:
    """The node's public operations; every method runs on the event loop."""

    def __init__(
        self,
        *,
        name: str,
        chain_id: str,
        suite: str,
        genesis_file: Path,
        reader: LedgerReader,
        mempool: Mempool,
        driver: ConsensusDriver,
        events: EventBus,
        on_new_transactions: Callable[[], None],
        runtime: Runtime | None = None,
        journal: MempoolJournal | None = None,
        on_admitted: Callable[[list[bytes]], None] = lambda raws: None,
        peer_stats: Callable[[], dict[bytes, LinkStats]] = dict,
        dropped: Callable[[], tuple[int, int]] = lambda: (0, 0),
        calls: CallPool | None = None,
    ) -> None:
        self.name = name
        self.chain_id = chain_id
        self.suite = suite
        self.genesis_file = genesis_file
        """The chain's ``genesis.bin`` (read when asked for: it can be large)."""
        self.reader = reader
        self.mempool = mempool
        self._driver = driver
        self.events = events
        self._on_new = on_new_transactions
        self._runtime = runtime
        self._authority: SenderAuthority = AUTHORITY if runtime is None else runtime.authority
        """Who may sign for a sender: the executor's rule, applied at admission too."""
        self.journal = journal
        """Client transactions admitted and not yet known committed (None: not kept)."""
        self.max_awaiting_verification = MAX_AWAITING_VERIFICATION
        self._awaiting_verification = 0
        self.peer_stats = peer_stats
        """Per-peer link counters by node key (none without a network)."""
        self.dropped = dropped
        """(gossip batches, consensus messages) the router dropped (none without a network)."""
        self.on_admitted = on_admitted
        """Receives the bytes of client transactions just admitted (for gossip)."""
        self.calls = calls
        """Worker processes for EVM calls (None: not served)."""
        self._receipt_waiters: dict[bytes, list[asyncio.Future[None]]] = {}

    async def submit(self, raw: bytes) -> bytes:
        """Admit one encoded transaction; returns its id or raises the rejection."""
        result = (await self.submit_many([raw]))[0]
        if isinstance(result, NodeError):
            raise result
        return result

    async def submit_many(
        self, raws: Sequence[bytes], *, gossip: bool = True, verified: bool = False
    ) -> list[bytes | NodeError]:
        """Admit encoded transactions in order; per item its id or its error.

        Transactions from clients are gossiped to the other validators;
        ``gossip=False`` for those that arrived by gossip. ``verified=True``:
        the caller has checked every signature (the JSON-RPC recovers each
        Ethereum envelope's key from its signature to build it).
        """
        results: list[bytes | NodeError] = []
        parsed: list[tuple[int, Transaction]] = []
        for i, raw in enumerate(raws):
            try:
                parsed.append((i, decode(raw, Transaction)))
                results.append(b"")  # replaced by the admission outcome below
            except CodecError as exc:
                results.append(exc)
        parsed = self._permitted(parsed, results)
        sized = [(tx, len(raws[i])) for i, tx in parsed]
        with self.reader.begin() as txn:
            screened = self.mempool.screen(
                sized, self.reader.height(), self.reader.sender_lookup(txn, self._authority)
            )
        if gossip:
            screened = self._shed_if_busy(screened)
        # A refusal at screening is final (the client may retry), so only the rest are
        # verified, off the event loop, and offered to the pool.
        worth: list[tuple[int, tuple[Transaction, int]]] = []  # (position in raws, item)
        for (slot, _), item, refusal in zip(parsed, sized, screened, strict=True):
            if refusal is None:
                worth.append((slot, item))
            else:
                results[slot] = refusal
        if verified:
            verdicts = [True] * len(worth)
        else:
            self._awaiting_verification += len(worth)
            try:
                verdicts = await asyncio.to_thread(verify_signatures, [tx for _, (tx, _) in worth])
            finally:
                self._awaiting_verification -= len(worth)
        with self.reader.begin() as txn:
            admitted = self.mempool.add_many(
                [item for _, item in worth],
                self.reader.height(),
                self.reader.sender_lookup(txn, self._authority),
                verified=verdicts,
            )
        accepted: list[bytes] = []
        journaled: list[tuple[bytes, bytes]] = []
        for (slot, _), outcome in zip(worth, admitted, strict=True):
            results[slot] = outcome
            if isinstance(outcome, bytes):
                accepted.append(raws[slot])
                journaled.append((outcome, raws[slot]))
        if accepted:
            if gossip and self.journal is not None:
                # Before the 202: a node killed now re-admits them on start ([MEMPOOL-JOURNAL.1]).
                self.journal.append(journaled, self._still_pending)
            self._on_new()
            if gossip:
                self.on_admitted(accepted)
        return results

    def _still_pending(self, ids: Iterable[bytes]) -> list[tuple[bytes, bytes]]:
        """``(tx_id, canonical bytes)`` of the transactions among ``ids`` still pooled."""
        kept: list[tuple[bytes, bytes]] = []
        for identifier in ids:
            pooled = self.mempool.pooled(identifier)
            if pooled is not None:
                kept.append((identifier, encode(pooled.tx)))
        return kept

    async def replay_journal(self) -> tuple[int, int]:
        """Offer the journal's transactions to the pool again, as client submissions (so
        they are gossiped), then rewrite it with those pending; returns (admitted, refused).

        Run once on start, before clients are served. Committed transactions are
        refused (a stale nonce) and leave the journal.
        """
        journal = self.journal
        if journal is None:
            return 0, 0
        records = journal.records()
        admitted = 0
        for start in range(0, len(records), REPLAY_BATCH):
            outcomes = await self.submit_many(records[start : start + REPLAY_BATCH])
            admitted += sum(isinstance(outcome, bytes) for outcome in outcomes)
        journal.rewrite(self._still_pending(journal.journaled()))
        if records:
            log.info(
                "mempool journal: %d of %d transactions admitted again",
                admitted,
                len(records),
            )
        return admitted, len(records) - admitted

    def close_journal(self) -> None:
        """Rewrite the journal with the transactions still pending, and close it
        (idempotent; on a clean stop, so committed ones leave the file)."""
        journal = self.journal
        if journal is None or journal.state is JournalState.CLOSED:
            return
        journal.rewrite(self._still_pending(journal.journaled()))
        journal.close()

    def _shed_if_busy(self, screened: list[ExecutionError | None]) -> list[ExecutionError | None]:
        """Refuse client transactions past two bounds with ``MEMPOOL_FULL``.

        * Verification: a batch whose signature checks would queue past
          ``max_awaiting_verification`` is refused whole. Verification is a loaded
          node's slowest stage; without a bound, clients that keep sending would
          queue work (and memory) without limit in front of it.
        * Headroom: client transactions fill the pool only to its half; the rest
          is for transactions other validators' clients sent, which arrive by
          gossip. Every transaction ends up in every validator's pool, so without
          headroom full pools refuse each other's gossip, and each follower then
          verifies a proposal's transactions on the consensus path.
        """
        wanted = sum(refusal is None for refusal in screened)
        if not wanted:
            return screened
        if self._awaiting_verification + wanted > self.max_awaiting_verification:
            busy = MempoolFull(
                f"{self._awaiting_verification} transactions are waiting for their signature "
                "check; retry later"
            )
            return [busy if refusal is None else refusal for refusal in screened]
        share = self.mempool.config.max_txs // CLIENT_POOL_SHARE
        room = share - len(self.mempool) - self._awaiting_verification
        if wanted <= room:
            return screened
        full = MempoolFull(
            f"the pool holds {len(self.mempool)} transactions; clients may fill {share} of "
            f"{self.mempool.config.max_txs} (the rest is for other validators' gossip); "
            "retry later"
        )
        out: list[ExecutionError | None] = []
        for refusal in screened:
            if refusal is None:
                room -= 1
                out.append(None if room >= 0 else full)
            else:
                out.append(refusal)
        return out

    def _permitted(
        self, parsed: list[tuple[int, Transaction]], results: list[bytes | NodeError]
    ) -> list[tuple[int, Transaction]]:
        """Refuse at admission what the permission table refuses ([MEMPOOL-ADMIT.2]).

        The executor checks again when the transaction runs (roles may change
        in between); this only keeps refused calls out of blocks.
        """
        runtime = self._runtime
        if runtime is None or runtime.permissions is None or not parsed:
            return parsed
        allowed: list[tuple[int, Transaction]] = []
        with self.reader.begin() as txn:
            view = self.reader.view(txn)
            for i, tx in parsed:
                body = tx.body
                try:
                    if runtime.has_method(body.module, body.method):
                        runtime.permissions.check(view, body.sender, body.module, body.method)
                        check_direct_call(runtime.modules[body.module], body.method)
                except ExecutionError as exc:
                    results[i] = exc
                    continue
                allowed.append((i, tx))
        return allowed

    def transaction(self, tx_id: bytes) -> TxRecord:
        """A committed transaction; raises TransactionNotFound."""
        return self.reader.transaction(tx_id)

    async def wait_committed(self, tx_id: bytes, timeout_s: float) -> TxRecord | None:
        """The committed transaction once executed, or None after ``timeout_s``."""
        try:
            return self.reader.transaction(tx_id)
        except TransactionNotFound:
            pass
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._receipt_waiters.setdefault(tx_id, []).append(future)
        try:
            await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            return None
        finally:
            waiters = self._receipt_waiters.get(tx_id, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._receipt_waiters.pop(tx_id, None)
        return self.reader.transaction(tx_id)

    def notify_committed(self, tx_ids: Sequence[bytes]) -> None:
        """Wake waiters of these (now executed) transactions."""
        for tx_id in tx_ids:
            for future in self._receipt_waiters.pop(tx_id, []):
                if not future.done():
                    future.set_result(None)

    @property
    def runtime(self) -> Runtime | None:
        """The chain's modules, built-ins and the genesis's applications (None: not known)."""
        return self._runtime

    @property
    def core(self) -> ConsensusCore:
        """The consensus core of the epoch in force."""
        return self._driver.core

    @property
    def validator_index(self) -> int | None:
        """This node's index in the current validator set (None: not a validator now)."""
        return self.core.me

    def validator_links(self) -> list[dict[str, object]]:
        """Each validator of the current epoch: this node, or its link's liveness."""
        stats = self.peer_stats()
        now = time.monotonic()
        links: list[dict[str, object]] = []
        for index, v in enumerate(self.core.committee.validator_set.validators):
            link = stats.get(v.public_key)
            links.append(
                {
                    "index": index,
                    "name": v.name,
                    "organisation": v.organisation,
                    "self": index == self.core.me,
                    "connected": link is not None,
                    "last_message_age_s": (
                        round(now - link.last_received, 3)
                        if link is not None and link.last_received
                        else None
                    ),
                    "received": link.received if link is not None else 0,
                    "sent": link.sent if link is not None else 0,
                }
            )
        return links

    def status(self) -> NodeStatus:
        """A snapshot of the node's state."""
        height = self.reader.height()
        roots = self.reader.roots(height)
        committee = self.core.committee
        dropped_gossip, dropped_messages = self.dropped()
        return NodeStatus(
            name=self.name,
            chain_id=self.chain_id,
            suite=self.suite,
            validator_index=self.validator_index,
            height=height,
            state_root=roots.state_root if roots else b"",
            round=self.core.current_round,
            leader=committee.leader(self.core.current_round),
            mempool_size=len(self.mempool),
            validators=committee.size,
            evidence=len(self.core.evidence),
            epoch=committee.epoch,
            dropped_gossip=dropped_gossip,
            dropped_messages=dropped_messages,
        )
