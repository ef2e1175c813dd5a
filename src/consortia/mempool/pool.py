"""The transaction pool.

Admission ([MEMPOOL-ADMIT.1] in docs/spec/mempool.md), cheapest checks first:
size, chain id, key type allowed, gas cap, expiry, duplicate, the signing key
against the sender's authorised keys ([MEMPOOL-ADMIT.4]), nonce against the
sender's executed nonce, pool and sender limits, rate, then the signature
(verified once here, in parallel for batches; consensus trusts pool members).
Selection takes, sender by sender in arrival order, the run of consecutive
nonces starting at the sender's next nonce, so a block never holds a gap.
Every admitted transaction leaves the pool committed or dropped with a reason
([MEMPOOL-TRACK.1]); the last drops are remembered, in a bounded map.
"""

from __future__ import annotations

import heapq
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial

from consortia.crypto import KeyType, PublicKey
from consortia.crypto.batch import failed_check, run_checks
from consortia.crypto.errors import CryptoError
from consortia.evm.ethtx import envelope_verifier
from consortia.execution.errors import (
    BadSignature,
    ExecutionError,
    Expired,
    GasLimitTooHigh,
    KeyTypeNotAllowed,
    StaleNonce,
    TxTooLarge,
    WrongChain,
)
from consortia.execution.policy import ChainPolicy
from consortia.ledger.types import (
    ETH_KEY_TYPE,
    MAX_SIGNATURES,
    NO_EXPIRY,
    Hasher,
    Transaction,
    tx_id,
    tx_signatures,
    tx_signer_keys,
    tx_signing_bytes,
)
from consortia.mempool.errors import (
    Duplicate,
    ExpiryTooFar,
    MempoolFull,
    NoncePending,
    RateLimited,
    SenderLimit,
)

NonceLookup = Callable[[bytes], int]
"""Executed next nonce of an address (0 for an unknown account)."""

SenderLookup = Callable[[Transaction], int]
"""Executed next nonce of a transaction's sender, once the transaction's key is found to
be one that may sign for the sender ([ACCT-CREATE.1], [ACCT-AUTH.1]: the executor's own
rule, ``runtime.authority.next_nonce``); raises the executor's refusal otherwise
(``Unauthorized`` TX_UNAUTHORIZED, ``AccountFrozen`` TX_ACCOUNT_FROZEN)."""


class DropReason(StrEnum):
    """Why an admitted transaction left the pool without being committed ([MEMPOOL-TRACK.1])."""

    EXPIRED = "expired"
    """Its expiry height passed before a block took it."""
    NONCE_GAP_TIMEOUT = "nonce_gap_timeout"
    """It waited ``nonce_gap_timeout_blocks`` behind a nonce no pending transaction has."""
    REPLACED = "replaced"
    """Another transaction of the sender with the same nonce was committed."""


@dataclass(frozen=True, slots=True)
class Dropped:
    """The record of a transaction that left the pool uncommitted."""

    reason: DropReason
    height: int
    """The executed height at which it was dropped."""
    message: str


@dataclass(frozen=True, slots=True)
class MempoolConfig:
    """Pool limits (a node sets the first two from ``node.toml``).

    The pool is a queue in front of a chain that commits a few thousand
    transactions a second at best: 20,000 is seconds of work, so a client
    learns of overload at once (``MEMPOOL_FULL``) instead of being acknowledged
    into minutes of backlog. Comparable defaults: FISCO BCOS 15,000, geth 6,144.
    """

    max_txs: int = 20_000
    max_bytes: int = 64 * 1024 * 1024
    max_per_sender: int = 1_024
    max_nonce_gap: int = 1_024
    """How far above the executed nonce a transaction may be queued."""
    rate_per_sender: float = 2_000.0
    """Sustained admissions per second per sender (token bucket)."""
    burst_per_sender: float = 4_000.0
    nonce_gap_timeout_blocks: int = 1_000
    """Blocks a sender's transactions may wait behind a nonce gap before they are dropped
    (``nonce_gap_timeout``): at 50 ms blocks under load about a minute, idle much longer."""
    max_drop_records: int = 65_536
    """Drops remembered for status queries (least recent forgotten first): a few MiB."""


@dataclass(slots=True)
class PooledTx:
    """A verified transaction waiting for a block."""

    tx: Transaction
    tx_id: bytes
    size: int
    seq: int


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


@dataclass(slots=True)
class _Sender:
    by_nonce: dict[int, PooledTx] = field(default_factory=dict)


class Mempool:
    """Verified pending transactions, indexed by id and by (sender, nonce)."""

    def __init__(
        self,
        *,
        chain_id: str,
        policy: ChainPolicy,
        hash_fn: Hasher,
        config: MempoolConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.chain_id = chain_id
        self.policy = policy
        self._hash = hash_fn
        self.config = config or MempoolConfig()
        self._clock = clock
        self._by_id: dict[bytes, PooledTx] = {}
        self._senders: OrderedDict[bytes, _Sender] = OrderedDict()
        self._buckets: dict[bytes, _Bucket] = {}
        self._buckets_swept = clock()
        self._expiring: dict[int, dict[bytes, PooledTx]] = {}
        """Pooled transactions by expiry height, so eviction touches only the expired (an
        emptied height stays until it passes: at most one per height in the expiry window)."""
        self._expiry_heights: list[int] = []
        """Min-heap of the keys of ``_expiring``."""
        self._bytes = 0
        self._seq = 0
        self._height = 0
        """The highest executed height the pool was told of (admission, commit, eviction)."""
        self._gapped: OrderedDict[bytes, int] = OrderedDict()
        """Senders whose pending transactions wait behind a nonce gap, with the height the
        gap was seen from (ascending: heights only grow, and a re-seen gap moves to the end)."""
        self._dropped: OrderedDict[bytes, Dropped] = OrderedDict()
        """The last ``max_drop_records`` drops by tx id (an LRU: a flood cannot grow it)."""

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, tx_id_: bytes) -> bool:
        return tx_id_ in self._by_id

    def holds(self, tx_id_: bytes, tx: Transaction) -> bool:
        """True if ``tx`` itself is pooled (so verified): same body *and* key and signature.

        The id covers the body only, so a copy of a pooled body with another
        signature must not pass for the verified one.
        """
        pooled = self._by_id.get(tx_id_)
        return pooled is not None and pooled.tx == tx

    def pending_nonce(self, sender: bytes, executed: int) -> int:
        """The nonce ``sender``'s next transaction needs, counting the pooled run of
        consecutive nonces from ``executed`` (Ethereum's ``pending`` nonce)."""
        pooled = self._senders.get(sender)
        nonce = executed
        while pooled is not None and nonce in pooled.by_nonce:
            nonce += 1
        return nonce

    @property
    def size_bytes(self) -> int:
        """Encoded bytes held."""
        return self._bytes

    def pooled(self, tx_id_: bytes) -> PooledTx | None:
        """The pending transaction with this id, if any."""
        return self._by_id.get(tx_id_)

    def dropped(self, tx_id_: bytes) -> Dropped | None:
        """Why this transaction left the pool uncommitted, if it did so recently
        (the last ``max_drop_records`` drops are kept); None otherwise."""
        return self._dropped.get(tx_id_)

    # ------------------------------------------------------------ admission

    def check(self, tx: Transaction, size: int, height: int, sender_nonce: SenderLookup) -> bytes:
        """Every admission check except the signature; returns the transaction id.

        Raises:
            ExecutionError: a subclass whose ``code`` names the reason; ``sender_nonce``'s
                refusal (TX_UNAUTHORIZED, TX_ACCOUNT_FROZEN) comes before any nonce or
                limit check, so a forged sender never occupies the sender's nonces.
        """
        return self._check(tx, size, height, sender_nonce)[0]

    def _check(
        self, tx: Transaction, size: int, height: int, sender_nonce: SenderLookup
    ) -> tuple[bytes, int]:
        """:meth:`check`, also returning the sender's executed next nonce."""
        body = tx.body
        policy = self.policy
        if size > policy.max_tx_bytes:
            raise TxTooLarge(f"transaction is {size} bytes, limit {policy.max_tx_bytes}")
        if body.chain_id != self.chain_id:
            raise WrongChain(
                f"transaction is for chain {body.chain_id!r}, this is {self.chain_id!r}"
            )
        for key_type, _ in tx_signer_keys(tx):
            if key_type not in policy.allowed_key_types:
                raise KeyTypeNotAllowed(
                    f"key type {key_type} not allowed; "
                    f"allowed: {', '.join(policy.allowed_key_types)}"
                )
        if body.gas_limit > policy.max_tx_gas:
            raise GasLimitTooHigh(f"gas limit {body.gas_limit} above cap {policy.max_tx_gas}")
        if body.expiry_height <= height:
            raise Expired(f"expiry height {body.expiry_height} is not above height {height}")
        unbounded = tx.key_type == ETH_KEY_TYPE and body.expiry_height == NO_EXPIRY
        if body.expiry_height > height + policy.max_expiry_blocks and not unbounded:
            raise ExpiryTooFar(
                f"expiry height {body.expiry_height} is more than {policy.max_expiry_blocks} "
                f"blocks ahead of {height}"
            )
        identifier = tx_id(self._hash, body)
        if identifier in self._by_id:
            raise Duplicate(f"transaction {identifier.hex()} is already pending")
        expected = sender_nonce(tx)  # [MEMPOOL-ADMIT.4]: raises unless tx's key may sign
        if body.nonce < expected:
            raise StaleNonce(f"nonce {body.nonce} already used; next is {expected}")
        if body.nonce > expected + self.config.max_nonce_gap:
            raise SenderLimit(
                f"nonce {body.nonce} is more than {self.config.max_nonce_gap} ahead of {expected}"
            )
        sender = self._senders.get(body.sender)
        if sender is not None:
            if body.nonce in sender.by_nonce:
                raise NoncePending(f"nonce {body.nonce} of this sender is already pending")
            if len(sender.by_nonce) >= self.config.max_per_sender:
                raise SenderLimit(f"sender has {len(sender.by_nonce)} pending transactions")
        if len(self._by_id) >= self.config.max_txs or self._bytes + size > self.config.max_bytes:
            raise MempoolFull(f"mempool full ({len(self._by_id)} transactions); retry later")
        return identifier, expected

    def _take_token(self, sender: bytes) -> None:
        now = self._clock()
        bucket = self._buckets.get(sender)
        if bucket is None:
            bucket = self._buckets[sender] = _Bucket(self.config.burst_per_sender, now)
        bucket.tokens = min(
            self.config.burst_per_sender,
            bucket.tokens + (now - bucket.stamp) * self.config.rate_per_sender,
        )
        bucket.stamp = now
        if bucket.tokens < 1.0:
            raise RateLimited(
                f"sender exceeds {self.config.rate_per_sender:g} transactions per second"
            )
        bucket.tokens -= 1.0

    def screen(
        self, txs: Sequence[tuple[Transaction, int]], height: int, sender_nonce: SenderLookup
    ) -> list[ExecutionError | None]:
        """The cheap checks of ``(tx, encoded_size)`` items, without admitting any: per item
        the rejection, or None if it is worth verifying its signature.

        Run before verification so that a full pool, a duplicate or a stale nonce
        costs no signature check (under overload most submissions are refused).
        """
        outcomes: list[ExecutionError | None] = []
        for tx, size in txs:
            try:
                self._check(tx, size, height, sender_nonce)
                if tx.key_type != ETH_KEY_TYPE:
                    for key_type, public_key in tx_signer_keys(tx):
                        PublicKey.from_bytes(KeyType(key_type), public_key)
            except ExecutionError as exc:
                outcomes.append(exc)
                continue
            except (CryptoError, ValueError) as exc:
                outcomes.append(BadSignature(f"invalid {tx.key_type} public key: {exc}"))
                continue
            outcomes.append(None)
        return outcomes

    def add_many(
        self,
        txs: Sequence[tuple[Transaction, int]],
        height: int,
        sender_nonce: SenderLookup,
        *,
        verified: Sequence[bool] | None = None,
    ) -> list[bytes | ExecutionError]:
        """Admit ``(tx, encoded_size)`` items; per item its id or the rejection.

        Signatures of the items passing the cheap checks are verified together
        in parallel, unless ``verified`` gives the outcome of an earlier check
        of every item (done off the event loop by :func:`verify_signatures`,
        after the caller's :meth:`screen`; the checks are not screened again
        before admission repeats them). Items are admitted in order, so a
        batch may carry a run of nonces from one sender. ``sender_nonce`` both
        authorises each item's key for its sender and gives its executed nonce.
        """
        self._height = max(self._height, height)
        results: list[bytes | ExecutionError]
        verdicts: Sequence[bool]
        if verified is None:
            screened = self.screen(txs, height, sender_nonce)
            results = [b"" if outcome is None else outcome for outcome in screened]
            candidates = [(i, txs[i][0]) for i, outcome in enumerate(screened) if outcome is None]
            verdicts = verify_signatures([tx for _, tx in candidates])
        else:
            results = [b""] * len(txs)
            candidates = [(i, tx) for i, (tx, _) in enumerate(txs)]
            verdicts = verified
        for (i, tx), ok in zip(candidates, verdicts, strict=True):
            if not ok:
                results[i] = BadSignature("signature does not verify with the transaction's key")
                continue
            try:
                # Re-check: an earlier item of this batch may have filled a limit.
                identifier, executed = self._check(tx, txs[i][1], height, sender_nonce)
                self._take_token(tx.body.sender)
            except ExecutionError as exc:
                results[i] = exc
                continue
            self._insert(tx, identifier, txs[i][1], executed)
            results[i] = identifier
        return results

    def _insert(self, tx: Transaction, identifier: bytes, size: int, executed: int) -> None:
        self._dropped.pop(identifier, None)  # admitted again: pending, not dropped
        self._seq += 1
        pooled = PooledTx(tx=tx, tx_id=identifier, size=size, seq=self._seq)
        self._by_id[identifier] = pooled
        sender = self._senders.get(tx.body.sender)
        if sender is None:
            sender = self._senders[tx.body.sender] = _Sender()
        sender.by_nonce[tx.body.nonce] = pooled
        if tx.body.nonce == executed:
            self._gapped.pop(tx.body.sender, None)  # the gap is filled
        elif executed not in sender.by_nonce and tx.body.sender not in self._gapped:
            self._gapped[tx.body.sender] = self._height
        self._bytes += size
        expiry = tx.body.expiry_height
        bucket = self._expiring.get(expiry)
        if bucket is None:
            bucket = self._expiring[expiry] = {}
            heapq.heappush(self._expiry_heights, expiry)
        bucket[identifier] = pooled

    # ------------------------------------------------------------ selection

    def select(
        self,
        *,
        max_txs: int,
        max_bytes: int,
        next_nonce: NonceLookup,
        exclude: Iterable[bytes] = (),
        max_gas: int | None = None,
    ) -> list[PooledTx]:
        """Transactions for a block: consecutive nonces per sender, oldest senders first.

        ``next_nonce`` must count transactions already in uncommitted blocks;
        ``exclude`` names ids already in such blocks; the gas limits of the
        chosen transactions add up to at most ``max_gas`` (the block gas limit).
        """
        excluded = set(exclude)
        chosen: list[PooledTx] = []
        total = 0
        gas = 0
        for address, sender in self._senders.items():
            nonce = next_nonce(address)
            while len(chosen) < max_txs:
                pooled = sender.by_nonce.get(nonce)
                if pooled is None:
                    break
                nonce += 1
                if pooled.tx_id in excluded:
                    continue
                if total + pooled.size > max_bytes:
                    return chosen
                if max_gas is not None and gas + pooled.tx.body.gas_limit > max_gas:
                    return chosen
                chosen.append(pooled)
                total += pooled.size
                gas += pooled.tx.body.gas_limit
            if len(chosen) >= max_txs:
                break
        return chosen

    # ------------------------------------------------------------- removal

    def remove_committed(
        self,
        committed: Iterable[Transaction],
        next_nonce: NonceLookup,
        *,
        height: int | None = None,
    ) -> None:
        """Drop committed transactions and any others their nonces made stale.

        A committed transaction leaves the pool even if it used no nonce (it
        failed the executor's pre-checks, e.g. after its key was revoked), so
        no proposer offers it again. A competing transaction at a used nonce is
        dropped as ``replaced``. ``height`` is the block's (default: the highest
        the pool has seen); a sender left waiting behind a nonce gap is timed from it.
        """
        if height is not None:
            self._height = max(self._height, height)
        senders: set[bytes] = set()
        for tx in committed:
            senders.add(tx.body.sender)
            pooled = self._by_id.get(tx_id(self._hash, tx.body))
            if pooled is not None:
                sender_pool = self._senders[tx.body.sender]
                del sender_pool.by_nonce[tx.body.nonce]
                self._drop(pooled)
        for address in senders:
            sender = self._senders.get(address)
            if sender is None:
                continue
            floor = next_nonce(address)
            for nonce in [n for n in sender.by_nonce if n < floor]:
                self._drop(
                    sender.by_nonce.pop(nonce),
                    DropReason.REPLACED,
                    f"another transaction of the sender used nonce {nonce}",
                )
            if not sender.by_nonce:
                del self._senders[address]
                self._gapped.pop(address, None)
            elif floor in sender.by_nonce:
                self._gapped.pop(address, None)
            elif address not in self._gapped:
                self._gapped[address] = self._height

    def evict_expired(self, height: int) -> int:
        """Drop transactions whose expiry height has passed, and those of senders stuck
        behind a nonce gap for ``nonce_gap_timeout_blocks``; returns how many.

        Costs the number of dropped transactions, not the pool's size. Also
        forgets rate buckets of idle senders (at most once per idle period), so
        they cannot grow without bound.
        """
        self._height = max(self._height, height)
        now = self._clock()
        idle = self.config.burst_per_sender / self.config.rate_per_sender
        if now - self._buckets_swept >= idle:
            self._buckets_swept = now
            self._buckets = {a: b for a, b in self._buckets.items() if now - b.stamp < idle}
        evicted = 0
        lowest_expired: dict[bytes, int] = {}
        heights = self._expiry_heights
        while heights and heights[0] <= height:
            for pooled in list(self._expiring.pop(heapq.heappop(heights)).values()):
                address, nonce = pooled.tx.body.sender, pooled.tx.body.nonce
                sender = self._senders[address]
                del sender.by_nonce[nonce]
                if not sender.by_nonce:
                    del self._senders[address]
                    self._gapped.pop(address, None)
                lowest_expired[address] = min(nonce, lowest_expired.get(address, nonce))
                self._drop(
                    pooled,
                    DropReason.EXPIRED,
                    f"expiry height {pooled.tx.body.expiry_height} reached before a block took it",
                )
                evicted += 1
        for address, nonce in lowest_expired.items():
            left = self._senders.get(address)
            if left is not None and nonce < min(left.by_nonce) and address not in self._gapped:
                # Its successors now wait for a nonce no pending transaction has.
                self._gapped[address] = self._height
        timeout = self.config.nonce_gap_timeout_blocks
        while self._gapped:
            address, since = next(iter(self._gapped.items()))
            if since + timeout > height:
                break
            del self._gapped[address]
            stuck = self._senders.pop(address, None)
            if stuck is None:
                continue
            missing = min(stuck.by_nonce)
            for pooled in stuck.by_nonce.values():
                self._drop(
                    pooled,
                    DropReason.NONCE_GAP_TIMEOUT,
                    f"waited from height {since} to {height} behind a nonce gap below {missing}",
                )
                evicted += 1
        return evicted

    def _drop(self, pooled: PooledTx, reason: DropReason | None = None, message: str = "") -> None:
        """Forget ``pooled`` (already out of its sender's map); record why unless committed."""
        del self._by_id[pooled.tx_id]
        self._bytes -= pooled.size
        bucket = self._expiring.get(pooled.tx.body.expiry_height)
        if bucket is not None:  # None while evict_expired empties that height
            bucket.pop(pooled.tx_id, None)
        if reason is not None:
            self._dropped[pooled.tx_id] = Dropped(reason, self._height, message)
            self._dropped.move_to_end(pooled.tx_id)
            while len(self._dropped) > self.config.max_drop_records:
                self._dropped.popitem(last=False)


def _signature_check(tx: Transaction) -> Callable[[], bool]:
    """The check of ``tx``'s signature(s), to run on a verification worker.

    A multisig envelope ([LEDGER-TX-MULTI.1]) passes only if every one of its
    signatures verifies; one with more than MAX_SIGNATURES fails unverified.
    """
    if tx.key_type == ETH_KEY_TYPE:
        return envelope_verifier(tx)
    message = tx_signing_bytes(tx.body)
    try:
        entries = tx_signatures(tx)
        if len(entries) > MAX_SIGNATURES:
            return failed_check
        checks = [
            partial(
                PublicKey.from_bytes(KeyType(e.key_type), e.public_key).verify, message, e.signature
            )
            for e in entries
        ]
    except (CryptoError, ValueError):
        return failed_check
    if len(checks) == 1:
        return checks[0]
    return partial(_all_verify, checks)


def _all_verify(checks: Sequence[Callable[[], bool]]) -> bool:
    """Whether every signature check passes (stops at the first that fails)."""
    return all(check() for check in checks)


def verify_signatures(txs: Sequence[Transaction]) -> list[bool]:
    """Check every transaction's signature (in parallel); False for a malformed key.

    Ethereum-signed envelopes are checked against their raw transaction
    ([LEDGER-TX-ETH.1]) here, and their keys recovered in parallel. Safe to call
    from any thread: it touches no pool state.
    """
    return run_checks([_signature_check(tx) for tx in txs])
