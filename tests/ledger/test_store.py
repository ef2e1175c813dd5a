"""Block store on LMDB ([LEDGER-STORE.*] in docs/spec/ledger.md).

Chain used by most tests (tx = sender/nonce)::

    h0 (genesis, no txs) ── h1 [A/0, B/0] ── h2 [A/1] ── h3 [C/0, A/2, B/1]
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import lmdb
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from consortia.codec import encode
from consortia.ledger.errors import (
    BlockNotFound,
    DuplicateTransaction,
    InvalidBlockSequence,
    LedgerError,
    StoreCorrupted,
    TransactionNotFound,
)
from consortia.ledger.store import BlockStore
from consortia.ledger.types import ZERO_HASH, Block, Transaction

from .builders import address, make_block, make_qc, make_receipts, make_tx

A, B, C, D = (address(n) for n in (0xA, 0xB, 0xC, 0xD))


def open_env(path: Path) -> lmdb.Environment:
    return lmdb.open(str(path), max_dbs=32, map_size=1 << 30)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[lmdb.Environment]:
    environment = open_env(tmp_path / "db")
    yield environment
    environment.close()


@pytest.fixture
def store(env: lmdb.Environment) -> BlockStore:
    return BlockStore(env)


Chain = list[tuple[Block, bytes, list[bytes]]]


def build_chain() -> Chain:
    layout = [[], [(A, 0), (B, 0)], [(A, 1)], [(C, 0), (A, 2), (B, 1)]]
    chain: Chain = []
    parent = ZERO_HASH
    for height, txs in enumerate(layout):
        built = make_block(height, parent, [make_tx(s, n) for s, n in txs])
        chain.append(built)
        parent = built[1]
    return chain


def append_chain(env: lmdb.Environment, store: BlockStore, chain: Chain) -> None:
    with env.begin(write=True) as txn:
        for block, block_id, tx_ids in chain:
            store.append_block(txn, block, block_id, tx_ids)


@pytest.fixture
def chain(env: lmdb.Environment, store: BlockStore) -> Chain:
    built = build_chain()
    append_chain(env, store, built)
    return built


# --- empty store -----------------------------------------------------------------


def test_empty_store(env: lmdb.Environment, store: BlockStore) -> None:
    with env.begin() as txn:
        assert store.latest_height(txn) is None
        with pytest.raises(BlockNotFound):
            store.block_by_height(txn, 0)
        with pytest.raises(BlockNotFound):
            store.block_id_at(txn, 0)
        with pytest.raises(BlockNotFound):
            store.height_of(txn, ZERO_HASH)
        with pytest.raises(TransactionNotFound):
            store.transaction(txn, ZERO_HASH)
        with pytest.raises(TransactionNotFound):
            store.receipt(txn, ZERO_HASH)
        assert store.receipts(txn, 0) is None
        assert store.certificate(txn, 0) is None
        assert store.latest_certificate(txn) is None
        assert store.account_transactions(txn, A) == []
        assert store.get_meta(txn, b"executed") is None


def test_tables_are_prefixed(env: lmdb.Environment, store: BlockStore) -> None:
    with env.begin() as txn:
        names = {bytes(key) for key, _ in txn.cursor()}
    assert names and all(name.startswith(b"ledger.") for name in names)


# --- appending and lookups ([LEDGER-STORE.2]) ----------------------------------------


def test_lookup_by_height_id_and_tx(env: lmdb.Environment, store: BlockStore, chain: Chain) -> None:
    with env.begin() as txn:
        assert store.latest_height(txn) == 3
        for height, (block, block_id, tx_ids) in enumerate(chain):
            assert store.block_by_height(txn, height) == block
            assert store.block_id_at(txn, height) == block_id
            assert store.height_of(txn, block_id) == height
            for index, txid in enumerate(tx_ids):
                assert store.transaction(txn, txid) == (block.transactions[index], height, index)


def test_genesis_must_be_height_zero(env: lmdb.Environment, store: BlockStore) -> None:
    block, block_id, tx_ids = make_block(1, ZERO_HASH)
    with env.begin(write=True) as txn, pytest.raises(InvalidBlockSequence) as info:
        store.append_block(txn, block, block_id, tx_ids)
    assert info.value.code == "LEDGER_INVALID_SEQUENCE"


@pytest.mark.parametrize("height", [0, 2, 3, 5])
def test_height_must_follow_tip(
    env: lmdb.Environment, store: BlockStore, chain: Chain, height: int
) -> None:
    block, block_id, tx_ids = make_block(height, chain[-1][1])
    with pytest.raises(InvalidBlockSequence), env.begin(write=True) as txn:
        store.append_block(txn, block, block_id, tx_ids)


def test_parent_must_be_tip(env: lmdb.Environment, store: BlockStore, chain: Chain) -> None:
    block, block_id, tx_ids = make_block(4, chain[2][1])
    with pytest.raises(InvalidBlockSequence), env.begin(write=True) as txn:
        store.append_block(txn, block, block_id, tx_ids)


def test_block_id_must_be_new(env: lmdb.Environment, store: BlockStore, chain: Chain) -> None:
    block, _, tx_ids = make_block(4, chain[-1][1])
    with pytest.raises(InvalidBlockSequence), env.begin(write=True) as txn:
        store.append_block(txn, block, chain[1][1], tx_ids)


def test_duplicate_transaction_rejected(
    env: lmdb.Environment, store: BlockStore, chain: Chain
) -> None:
    replay = chain[1][0].transactions[0]
    block, block_id, tx_ids = make_block(4, chain[-1][1], [make_tx(D, 0), replay])
    with env.begin(write=True) as txn, pytest.raises(DuplicateTransaction) as info:
        store.append_block(txn, block, block_id, tx_ids)
    assert info.value.code == "LEDGER_DUPLICATE_TX"
    block, block_id, tx_ids = make_block(4, chain[-1][1], [make_tx(D, 0), make_tx(D, 0)])
    with pytest.raises(DuplicateTransaction), env.begin(write=True) as txn:
        store.append_block(txn, block, block_id, tx_ids)


def test_rejected_append_writes_nothing(
    env: lmdb.Environment, store: BlockStore, chain: Chain
) -> None:
    """Even if the caller commits after a rejected append, no part of the block is stored."""
    fresh = make_tx(D, 0)
    replay = chain[1][0].transactions[0]
    block, block_id, tx_ids = make_block(4, chain[-1][1], [fresh, replay])
    with env.begin(write=True) as txn, pytest.raises(DuplicateTransaction):
        store.append_block(txn, block, block_id, tx_ids)
    with env.begin() as txn:
        assert store.latest_height(txn) == 3
        with pytest.raises(BlockNotFound):
            store.height_of(txn, block_id)
        with pytest.raises(TransactionNotFound):
            store.transaction(txn, tx_ids[0])
        assert store.account_transactions(txn, D) == []


def test_tx_ids_must_match_transactions(
    env: lmdb.Environment, store: BlockStore, chain: Chain
) -> None:
    block, block_id, tx_ids = make_block(4, chain[-1][1], [make_tx(D, 0)])
    with pytest.raises(ValueError, match="transaction ids"), env.begin(write=True) as txn:
        store.append_block(txn, block, block_id, [*tx_ids, ZERO_HASH])


# --- receipts ([LEDGER-STORE.3]) -----------------------------------------------------


def test_receipts(env: lmdb.Environment, store: BlockStore, chain: Chain) -> None:
    _, _, tx_ids = chain[3]
    receipts = make_receipts(3, tx_ids)
    with env.begin() as txn:
        assert store.receipt(txn, tx_ids[0]) is None
        assert store.receipts(txn, 3) is None
    with env.begin(write=True) as txn:
        store.put_receipts(txn, 3, receipts, [[], [D], [A, D]])
    with env.begin() as txn:
        assert store.receipts(txn, 3) == receipts
        for txid, receipt in zip(tx_ids, receipts, strict=True):
            assert store.receipt(txn, txid) == receipt
        assert store.receipt(txn, chain[1][2][0]) is None
        with pytest.raises(TransactionNotFound):
            store.receipt(txn, b"\x01" * 32)


def test_empty_block_receipts(env: lmdb.Environment, store: BlockStore, chain: Chain) -> None:
    with env.begin(write=True) as txn:
        store.put_receipts(txn, 0, [], [])
    with env.begin() as txn:
        assert store.receipts(txn, 0) == []


def test_receipts_stored_once(env: lmdb.Environment, store: BlockStore, chain: Chain) -> None:
    receipts = make_receipts(2, chain[2][2])
    with env.begin(write=True) as txn:
        store.put_receipts(txn, 2, receipts, [[]])
        with pytest.raises(InvalidBlockSequence):
            store.put_receipts(txn, 2, receipts, [[]])


def test_receipts_need_block(env: lmdb.Environment, store: BlockStore, chain: Chain) -> None:
    with pytest.raises(BlockNotFound), env.begin(write=True) as txn:
        store.put_receipts(txn, 4, [], [])


@pytest.mark.parametrize("fault", ["count", "touched", "order", "height", "address"])
def test_receipts_must_match_block(
    env: lmdb.Environment, store: BlockStore, chain: Chain, fault: str
) -> None:
    tx_ids = chain[3][2]
    receipts = make_receipts(3, tx_ids)
    touched: list[list[bytes]] = [[], [], []]
    if fault == "count":
        receipts = receipts[:2]
    elif fault == "touched":
        touched = touched[:2]
    elif fault == "order":
        receipts = [receipts[1], receipts[0], receipts[2]]
    elif fault == "height":
        receipts = make_receipts(2, tx_ids)
    else:
        touched = [[], [b"\x01" * 19], []]
    with pytest.raises(ValueError), env.begin(write=True) as txn:
        store.put_receipts(txn, 3, receipts, touched)


# --- account index ([LEDGER-STORE.5]) --------------------------------------------------


def test_account_index_newest_first(env: lmdb.Environment, store: BlockStore, chain: Chain) -> None:
    ids = {h: tx_ids for h, (_, _, tx_ids) in enumerate(chain)}
    with env.begin(write=True) as txn:
        store.put_receipts(txn, 1, make_receipts(1, ids[1]), [[C], [A]])
    with env.begin() as txn:
        # A sent 1/0, 2/0, 3/1 and is touched by 1/1 (B's transfer to A).
        assert store.account_transactions(txn, A) == [ids[3][1], ids[2][0], ids[1][1], ids[1][0]]
        assert store.account_transactions(txn, B) == [ids[3][2], ids[1][1]]
        assert store.account_transactions(txn, C) == [ids[3][0], ids[1][0]]
        assert store.account_transactions(txn, D) == []
        # pages of two, each continuing strictly before the last position returned
        assert store.account_transactions(txn, A, limit=2) == [ids[3][1], ids[2][0]]
        assert store.account_transactions(txn, A, limit=2, before=(2, 0)) == [
            ids[1][1],
            ids[1][0],
        ]
        assert store.account_transactions(txn, A, before=(1, 0)) == []
        assert store.account_transactions(txn, A, before=(1, 1)) == [ids[1][0]]
        assert store.account_transactions(txn, A, before=(99, 0)) == store.account_transactions(
            txn, A
        )
        assert store.account_transactions(txn, A, limit=0) == []


def test_account_index_rejects_bad_arguments(
    env: lmdb.Environment, store: BlockStore, chain: Chain
) -> None:
    with env.begin() as txn:
        with pytest.raises(ValueError):
            store.account_transactions(txn, b"\x01" * 19)
        with pytest.raises(ValueError):
            store.account_transactions(txn, A, limit=-1)


def test_account_prefix_neighbours_do_not_leak(env: lmdb.Environment, store: BlockStore) -> None:
    """Addresses adjacent in byte order (…0a, …0b, ff…) stay separate, at both ends."""
    low, high = b"\x00" * 20, b"\xff" * 20
    block, block_id, tx_ids = make_block(0, ZERO_HASH, [make_tx(low, 0), make_tx(high, 0)])
    with env.begin(write=True) as txn:
        store.append_block(txn, block, block_id, tx_ids)
    with env.begin() as txn:
        assert store.account_transactions(txn, low) == [tx_ids[0]]
        assert store.account_transactions(txn, high) == [tx_ids[1]]
        assert store.account_transactions(txn, b"\x7f" * 20) == []


# --- certificates ([LEDGER-STORE.4]) and metadata -------------------------------------


def test_certificates(env: lmdb.Environment, store: BlockStore, chain: Chain) -> None:
    qc2, qc3 = make_qc(2, chain[2][1]), make_qc(3, chain[3][1])
    with env.begin(write=True) as txn:
        store.put_certificate(txn, qc2)
        store.put_certificate(txn, qc3)
    with env.begin() as txn:
        assert store.certificate(txn, 2) == qc2
        assert store.certificate(txn, 3) == qc3
        assert store.certificate(txn, 1) is None
        assert store.latest_certificate(txn) == qc3
    later = make_qc(3, chain[3][1], round_=9)
    with env.begin(write=True) as txn:
        store.put_certificate(txn, later)
    with env.begin() as txn:
        assert store.certificate(txn, 3) == later


def test_certificate_must_match_stored_block(
    env: lmdb.Environment, store: BlockStore, chain: Chain
) -> None:
    with env.begin(write=True) as txn:
        with pytest.raises(InvalidBlockSequence):
            store.put_certificate(txn, make_qc(2, chain[3][1]))
        with pytest.raises(BlockNotFound):
            store.put_certificate(txn, make_qc(4, chain[3][1]))


def test_meta(env: lmdb.Environment, store: BlockStore) -> None:
    with env.begin(write=True) as txn:
        store.put_meta(txn, b"executed_height", encode(7))
    with env.begin() as txn:
        assert store.get_meta(txn, b"executed_height") == encode(7)


# --- corruption, durability, atomicity -------------------------------------------------


@pytest.mark.parametrize(
    ("table", "key", "read"),
    [
        ("blocks", (2).to_bytes(8, "big"), lambda s, t, c: s.block_by_height(t, 2)),
        ("block_ids", (2).to_bytes(8, "big"), lambda s, t, c: s.block_id_at(t, 2)),
        ("heights", None, lambda s, t, c: s.height_of(t, c[2][1])),
        ("tx_index", "tx", lambda s, t, c: s.transaction(t, c[1][2][0])),
        ("accounts", "acct", lambda s, t, c: s.account_transactions(t, A)),
    ],
)
def test_corrupted_value_raises_store_corrupted(
    env: lmdb.Environment, store: BlockStore, chain: Chain, table: str, key: object, read: object
) -> None:
    db = env.open_db(f"ledger.{table}".encode())
    if key is None:
        raw_key = chain[2][1]
    elif key == "tx":
        raw_key = chain[1][2][0]
    elif key == "acct":
        with env.begin() as txn:
            cursor = txn.cursor(db=db)
            cursor.set_range(A)
            raw_key = bytes(cursor.key())
    else:
        assert isinstance(key, bytes)
        raw_key = key
    with env.begin(write=True) as txn:
        txn.put(raw_key, b"\xc1garbage", db=db)
    with env.begin() as txn, pytest.raises(StoreCorrupted) as info:
        read(store, txn, chain)  # type: ignore[operator]
    assert f"ledger.{table}" in info.value.message
    assert raw_key.hex() in info.value.message
    assert info.value.code == "LEDGER_STORE_CORRUPTED"
    assert info.value.http_status == 500


def test_non_canonical_value_is_corruption(
    env: lmdb.Environment, store: BlockStore, chain: Chain
) -> None:
    db = env.open_db(b"ledger.heights")
    with env.begin(write=True) as txn:
        txn.put(chain[1][1], b"\xcc\x01", db=db)  # 1 as uint8: valid msgpack, not canonical
    with env.begin() as txn, pytest.raises(StoreCorrupted):
        store.height_of(txn, chain[1][1])


def test_data_survives_reopen(tmp_path: Path) -> None:
    built = build_chain()
    env = open_env(tmp_path / "db")
    store = BlockStore(env)
    append_chain(env, store, built)
    with env.begin(write=True) as txn:
        store.put_receipts(txn, 1, make_receipts(1, built[1][2]), [[], [D]])
        store.put_certificate(txn, make_qc(3, built[3][1]))
        store.put_meta(txn, b"k", b"v")
    env.close()

    env = open_env(tmp_path / "db")
    store = BlockStore(env)
    with env.begin() as txn:
        assert store.latest_height(txn) == 3
        assert store.block_by_height(txn, 3) == built[3][0]
        assert store.height_of(txn, built[2][1]) == 2
        assert store.receipt(txn, built[1][2][1]) == make_receipts(1, built[1][2])[1]
        assert store.account_transactions(txn, D) == [built[1][2][1]]
        assert store.latest_certificate(txn) == make_qc(3, built[3][1])
        assert store.get_meta(txn, b"k") == b"v"
    block, block_id, tx_ids = make_block(4, built[3][1], [make_tx(D, 0)])
    with env.begin(write=True) as txn:
        store.append_block(txn, block, block_id, tx_ids)
    env.close()


def test_aborted_transaction_leaves_nothing(env: lmdb.Environment, store: BlockStore) -> None:
    built = build_chain()
    with pytest.raises(RuntimeError), env.begin(write=True) as txn:
        for block, block_id, tx_ids in built:
            store.append_block(txn, block, block_id, tx_ids)
        store.put_receipts(txn, 1, make_receipts(1, built[1][2]), [[], []])
        store.put_meta(txn, b"executed", b"\x01")
        raise RuntimeError("crash before commit")
    with env.begin() as txn:
        assert store.latest_height(txn) is None
        assert store.account_transactions(txn, A) == []
        assert store.get_meta(txn, b"executed") is None
        with pytest.raises(TransactionNotFound):
            store.transaction(txn, built[1][2][0])
        with pytest.raises(BlockNotFound):
            store.height_of(txn, built[0][1])
        for name in ("blocks", "block_ids", "heights", "tx_index", "accounts", "receipts", "meta"):
            assert txn.stat(env.open_db(f"ledger.{name}".encode(), txn=txn))["entries"] == 0


def test_failed_append_in_open_transaction_is_caller_abort(
    env: lmdb.Environment, store: BlockStore, chain: Chain
) -> None:
    """A LedgerError inside ``with env.begin(write=True)`` aborts the whole transaction."""
    good, good_id, good_ids = make_block(4, chain[-1][1], [make_tx(D, 0)])
    bad, bad_id, bad_ids = make_block(6, good_id)
    with pytest.raises(LedgerError), env.begin(write=True) as txn:
        store.append_block(txn, good, good_id, good_ids)
        store.append_block(txn, bad, bad_id, bad_ids)
    with env.begin() as txn:
        assert store.latest_height(txn) == 3
        with pytest.raises(TransactionNotFound):
            store.transaction(txn, good_ids[0])


# --- stateful: the store against a plain Python model ----------------------------------

SENDERS = [address(n) for n in range(1, 5)]


class StoreMachine(RuleBasedStateMachine):
    """Random appends and receipts; every index agrees with lists and dicts."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="consortia-store-")
        self.env = open_env(Path(self.dir))
        self.store = BlockStore(self.env)
        self.blocks: list[tuple[Block, bytes, list[bytes]]] = []
        self.nonces = dict.fromkeys(SENDERS, 0)
        self.positions: dict[bytes, tuple[int, int]] = {}
        self.account: dict[bytes, set[tuple[int, int]]] = {a: set() for a in SENDERS}
        self.executed = 0  # receipts stored for heights < executed

    def teardown(self) -> None:
        self.env.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(senders=st.lists(st.sampled_from(SENDERS), max_size=5))
    def append(self, senders: list[bytes]) -> None:
        txs: list[Transaction] = []
        for sender in senders:
            txs.append(make_tx(sender, self.nonces[sender]))
            self.nonces[sender] += 1
        height = len(self.blocks)
        parent = self.blocks[-1][1] if self.blocks else ZERO_HASH
        block, block_id, tx_ids = make_block(height, parent, txs)
        with self.env.begin(write=True) as txn:
            self.store.append_block(txn, block, block_id, tx_ids)
        self.blocks.append((block, block_id, tx_ids))
        for index, (tx, txid) in enumerate(zip(txs, tx_ids, strict=True)):
            self.positions[txid] = (height, index)
            self.account[tx.body.sender].add((height, index))

    @precondition(lambda self: self.executed < len(self.blocks))
    @rule(data=st.data())
    def execute_next(self, data: st.DataObject) -> None:
        height = self.executed
        _, _, tx_ids = self.blocks[height]
        touched = [
            data.draw(st.lists(st.sampled_from(SENDERS), max_size=2, unique=True)) for _ in tx_ids
        ]
        with self.env.begin(write=True) as txn:
            self.store.put_receipts(txn, height, make_receipts(height, tx_ids), touched)
        for index, addresses in enumerate(touched):
            for addr in addresses:
                self.account[addr].add((height, index))
        self.executed += 1

    @precondition(lambda self: self.blocks)
    @rule(parent_offset=st.integers(1, 3), height_offset=st.integers(-2, 3))
    def bad_append_changes_nothing(self, parent_offset: int, height_offset: int) -> None:
        height = len(self.blocks) + height_offset
        parent_index = len(self.blocks) - parent_offset
        parent = self.blocks[parent_index][1] if parent_index >= 0 else ZERO_HASH
        if height_offset == 0 and parent_offset == 1:
            height += 1
        block, block_id, tx_ids = make_block(max(height, 0), parent)
        with pytest.raises(InvalidBlockSequence), self.env.begin(write=True) as txn:
            self.store.append_block(txn, block, block_id, tx_ids)

    @invariant()
    def tip_and_lookups_agree(self) -> None:
        with self.env.begin() as txn:
            expected_tip = len(self.blocks) - 1 if self.blocks else None
            assert self.store.latest_height(txn) == expected_tip
            for txid, (height, index) in self.positions.items():
                _, got_height, got_index = self.store.transaction(txn, txid)
                assert (got_height, got_index) == (height, index)
                receipt = self.store.receipt(txn, txid)
                assert (receipt is not None) == (height < self.executed)

    @invariant()
    def account_pages_agree(self) -> None:
        ids = {pos: txid for txid, pos in self.positions.items()}
        with self.env.begin() as txn:
            for addr, positions in self.account.items():
                expected = [ids[p] for p in sorted(positions, reverse=True)]
                assert self.store.account_transactions(txn, addr, limit=1000) == expected
                # walk it in pages of 2 using the last position as the cursor
                walked: list[bytes] = []
                before: tuple[int, int] | None = None
                while True:
                    page = self.store.account_transactions(txn, addr, limit=2, before=before)
                    walked.extend(page)
                    if len(page) < 2:
                        break
                    _, h, i = self.store.transaction(txn, page[-1])
                    before = (h, i)
                assert walked == expected


TestStoreMachine = StoreMachine.TestCase
TestStoreMachine.settings = settings(max_examples=25, stateful_step_count=12, deadline=None)
