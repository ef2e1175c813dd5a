"""Model-based test of the pool against a plain model.

The model predicts every admission code (in [MEMPOOL-ADMIT.1] order), keeps
pending transactions by (sender, nonce) and senders in first-pending order,
and computes the exact selection (with and without a block gas limit).
Invariants after every step: one entry per (sender, nonce), the count and
byte total equal the model's.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from consortia.codec import encode
from consortia.crypto import sm3
from consortia.ledger.types import Transaction, tx_id

from .conftest import HEIGHT, SENDERS, Nonces, code, pool, transfer

MAX_TXS = 8
MAX_PER_SENDER = 3
MAX_GAP = 4
MAX_BYTES = 1_600
ADDRESSES = tuple(transfer(k, 0).body.sender for k in SENDERS)

# Signed once: (sender, nonce, amount, expiry offset) -> transaction.
CACHE: dict[tuple[int, int, int, int], Transaction] = {}


def tx_for(sender: int, nonce: int, amount: int, expiry: int) -> Transaction:
    cache_key = (sender, nonce, amount, expiry)
    if cache_key not in CACHE:
        gas_limit = 100_000 * amount  # two gas limits, so the gas budget bites
        CACHE[cache_key] = transfer(
            SENDERS[sender], nonce, amount, expiry=HEIGHT + expiry, gas_limit=gas_limit
        )
    return CACHE[cache_key]


@dataclass(frozen=True)
class Entry:
    tx_id: bytes
    size: int
    expiry: int
    gas: int


class MempoolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.pool = pool(
            max_txs=MAX_TXS,
            max_bytes=MAX_BYTES,
            max_per_sender=MAX_PER_SENDER,
            max_nonce_gap=MAX_GAP,
            rate_per_sender=1e9,
            burst_per_sender=1e9,
        )
        self.height = HEIGHT
        self.nonces = Nonces()
        self.pending: dict[tuple[bytes, int], Entry] = {}
        self.order: list[bytes] = []  # senders in the order they got a first pending tx

    def expected_code(self, tx: Transaction, size: int) -> str:
        body = tx.body
        if body.expiry_height <= self.height:
            return "TX_EXPIRED"
        identifier = tx_id(sm3, body)
        if any(e.tx_id == identifier for e in self.pending.values()):
            return "TX_DUPLICATE"
        expected = self.nonces(body.sender)
        if body.nonce < expected:
            return "TX_STALE_NONCE"
        if body.nonce > expected + MAX_GAP:
            return "TX_SENDER_LIMIT"
        if (body.sender, body.nonce) in self.pending:
            return "TX_NONCE_PENDING"
        if sum(1 for s, _ in self.pending if s == body.sender) >= MAX_PER_SENDER:
            return "TX_SENDER_LIMIT"
        total = sum(e.size for e in self.pending.values())
        if len(self.pending) >= MAX_TXS or total + size > MAX_BYTES:
            return "MEMPOOL_FULL"
        return "OK"

    def forget_empty_senders(self) -> None:
        live = {s for s, _ in self.pending}
        self.order = [s for s in self.order if s in live]

    @rule(
        items=st.lists(
            st.tuples(
                st.integers(0, len(SENDERS) - 1),
                st.integers(0, 7),
                st.integers(1, 2),
                st.sampled_from([1, 3, 8]),
            ),
            min_size=1,
            max_size=4,
        )
    )
    def add_batch(self, items: list[tuple[int, int, int, int]]) -> None:
        txs = [tx_for(*item) for item in items]
        batch = [(tx, len(encode(tx))) for tx in txs]
        results = self.pool.add_many(batch, self.height, self.nonces)
        for (tx, size), result in zip(batch, results, strict=True):
            expected = self.expected_code(tx, size)
            assert code(result) == expected
            if expected == "OK":
                sender = tx.body.sender
                if sender not in self.order:
                    self.order.append(sender)
                self.pending[(sender, tx.body.nonce)] = Entry(
                    tx_id(sm3, tx.body), size, tx.body.expiry_height, tx.body.gas_limit
                )

    @rule(sender=st.integers(0, len(SENDERS) - 1), steps=st.integers(1, 3))
    def commit(self, sender: int, steps: int) -> None:
        address = ADDRESSES[sender]
        floor = self.nonces(address) + steps
        self.nonces.table[address] = floor
        self.pool.remove_committed([tx_for(sender, floor - 1, 1, 3)], self.nonces)
        self.pending = {
            (s, n): e for (s, n), e in self.pending.items() if s != address or n >= floor
        }
        self.forget_empty_senders()

    @rule(blocks=st.integers(1, 4))
    def advance(self, blocks: int) -> None:
        self.height += blocks
        evicted = self.pool.evict_expired(self.height)
        expired = {k for k, e in self.pending.items() if e.expiry <= self.height}
        assert evicted == len(expired)
        for k in expired:
            del self.pending[k]
        self.forget_empty_senders()

    @rule(
        max_txs=st.integers(0, 10),
        max_bytes=st.sampled_from([0, 250, 600, 10**6]),
        max_gas=st.sampled_from([None, 0, 250_000, 500_000]),
    )
    def select(self, max_txs: int, max_bytes: int, max_gas: int | None) -> None:
        chosen = self.pool.select(
            max_txs=max_txs, max_bytes=max_bytes, next_nonce=self.nonces, max_gas=max_gas
        )
        expected: list[bytes] = []
        total = 0
        gas = 0
        done = False
        for sender in self.order:
            nonce = self.nonces(sender)
            while not done and len(expected) < max_txs and (sender, nonce) in self.pending:
                entry = self.pending[(sender, nonce)]
                if total + entry.size > max_bytes:
                    done = True
                    break
                if max_gas is not None and gas + entry.gas > max_gas:
                    done = True
                    break
                expected.append(entry.tx_id)
                total += entry.size
                gas += entry.gas
                nonce += 1
        assert [p.tx_id for p in chosen] == expected

    @invariant()
    def accounting_is_exact(self) -> None:
        assert len(self.pool) == len(self.pending)
        assert self.pool.size_bytes == sum(e.size for e in self.pending.values())
        for entry in self.pending.values():
            assert entry.tx_id in self.pool

    @invariant()
    def one_transaction_per_sender_and_nonce(self) -> None:
        # The pool has no listing API; read its id index directly.
        held = list(self.pool._by_id.values())
        keys = [(p.tx.body.sender, p.tx.body.nonce) for p in held]
        assert len(keys) == len(set(keys))
        assert set(keys) == set(self.pending)


MempoolMachine.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestMempoolMachine = MempoolMachine.TestCase
