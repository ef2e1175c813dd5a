"""Read-only queries over the ledger and state (each in its own LMDB read transaction).

LMDB readers never block the execution thread's writer, so the API and the
block proposer read concurrently with execution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import lmdb

from consortia.codec import decode
from consortia.execution.epochs import VALIDATORS_NEXT_KEY
from consortia.execution.executor import SenderAuthority
from consortia.execution.policy import POLICY_KEY, ChainPolicy
from consortia.execution.state_view import StateView
from consortia.execution.transition import ExecutionRoots, read_certifying_height, read_roots
from consortia.ledger.errors import BlockNotFound, EpochNotFound
from consortia.ledger.store import BlockStore
from consortia.ledger.types import (
    Block,
    EpochStart,
    Receipt,
    Transaction,
    ValidatorSet,
    tx_signer_keys,
)
from consortia.modules.accounts import AUTHORITY
from consortia.modules.accounts.types import account_key, decode_account
from consortia.modules.assets.types import (
    BAL_PREFIX,
    DEF_PREFIX,
    Asset,
    Balance,
    balance_key,
    definition_key,
)
from consortia.node.event_log import EventPage, EventPosition, read_event_log
from consortia.node.events import Event, stored_block_events
from consortia.node.views import (
    AccountRecord,
    AssetPage,
    BlockRecord,
    HolderPage,
    StateRecord,
    TxRecord,
)
from consortia.state import StateTree

T = TypeVar("T")


class LedgerReader:
    """Queries of committed, executed data."""

    def __init__(self, env: lmdb.Environment, store: BlockStore, tree: StateTree) -> None:
        self._env = env
        self._store = store
        self._tree = tree

    @property
    def env(self) -> lmdb.Environment:
        """The ledger's LMDB environment (for readers of side data, e.g. the EVM world)."""
        return self._env

    @property
    def tree(self) -> StateTree:
        """The authenticated state tree."""
        return self._tree

    def _read(self, fn: Callable[[lmdb.Transaction], T]) -> T:
        with self._env.begin() as txn:
            return fn(txn)

    def height(self) -> int:
        """Latest executed height."""
        latest = self._read(self._store.latest_height)
        assert latest is not None, "genesis is written before the node starts"
        return latest

    def next_nonce(self, address: bytes) -> int:
        """Executed next nonce of ``address`` (0 for a new account)."""
        return self._read(lambda txn: self.nonce_lookup(txn)(address))

    def nonce_lookup(self, txn: lmdb.Transaction) -> Callable[[bytes], int]:
        """A nonce lookup bound to one read transaction (for batches).

        The transaction is a snapshot, so each address is read and decoded once.
        """
        known: dict[bytes, int] = {}

        def lookup(address: bytes) -> int:
            nonce = known.get(address)
            if nonce is None:
                raw = self._tree.get(txn, account_key(address))
                nonce = known[address] = 0 if raw is None else decode_account(raw).nonce
            return nonce

        return lookup

    def sender_lookup(
        self, txn: lmdb.Transaction, authority: SenderAuthority = AUTHORITY
    ) -> Callable[[Transaction], int]:
        """The pool's admission lookup ([MEMPOOL-ADMIT.4]) bound to one read transaction.

        Per transaction: its sender's executed next nonce, once ``authority`` (the
        executor's own rule, ``runtime.authority``) finds that the transaction's key
        may sign for the sender; raises Unauthorized or AccountFrozen otherwise. The
        view reads each account once per batch.
        """
        view = self.view(txn)

        def lookup(tx: Transaction) -> int:
            return authority.next_nonce(view, tx.body.sender, tx_signer_keys(tx))

        return lookup

    def view(self, txn: lmdb.Transaction) -> StateView:
        """A read-only state view at the latest executed height, inside ``txn``."""
        return StateView(self._tree, txn, self._store.latest_height(txn))

    def begin(self) -> lmdb.Transaction:
        """A read transaction the caller must close (``with reader.begin() as txn``)."""
        return self._env.begin()

    def repeated_positions(self, tx_ids: list[bytes]) -> frozenset[int]:
        """Positions of ids already committed or repeated earlier in the list."""
        return self._read(lambda txn: self._store.repeated_positions(txn, tx_ids))

    def roots(self, height: int) -> ExecutionRoots | None:
        """State and receipts roots of an executed height."""
        return self._read(lambda txn: read_roots(self._store, txn, height))

    def receipts(self, height: int) -> list[Receipt]:
        """Receipts of an executed block (empty for a block without transactions)."""
        return self._read(lambda txn: self._store.receipts(txn, height) or [])

    def pending_set(self, version: int) -> ValidatorSet | None:
        """The next epoch's validator set requested in the state of ``version``, if any."""
        raw = self._read(lambda txn: self._tree.get(txn, VALIDATORS_NEXT_KEY, version))
        return None if raw is None else decode(raw, ValidatorSet)

    def epoch(self, epoch: int | None = None) -> EpochStart:
        """Where ``epoch`` (default: the one in force at the tip) began.

        Raises:
            EpochNotFound: that epoch has not begun.
        """

        def read(txn: lmdb.Transaction) -> EpochStart:
            if epoch is None:
                return self._store.latest_epoch(txn)
            start = self._store.epoch(txn, epoch)
            if start is None:
                raise EpochNotFound(f"epoch {epoch} has not begun")
            return start

        return self._read(read)

    def policy(self) -> ChainPolicy:
        """Chain policy in force at the latest executed height."""
        raw = self._read(lambda txn: self._tree.get(txn, POLICY_KEY))
        assert raw is not None, "genesis writes the chain policy"
        return decode(raw, ChainPolicy)

    def block(self, height: int) -> BlockRecord:
        """Block at ``height``; raises BlockNotFound."""

        def read(txn: lmdb.Transaction) -> BlockRecord:
            block = self._store.block_by_height(txn, height)
            return BlockRecord(
                block=block,
                block_id=self._store.block_id_at(txn, height),
                certificate=self._store.certificate(txn, height),
            )

        return self._read(read)

    def block_by_id(self, block_id: bytes) -> BlockRecord:
        """Block with ``block_id``; raises BlockNotFound."""
        return self.block(self._read(lambda txn: self._store.height_of(txn, block_id)))

    def latest_block(self) -> Block:
        """The latest executed block."""
        return self.block(self.height()).block

    def transaction(self, tx_id: bytes) -> TxRecord:
        """A committed transaction and its receipt; raises TransactionNotFound."""

        def read(txn: lmdb.Transaction) -> TxRecord:
            tx, height, index = self._store.transaction(txn, tx_id)
            return TxRecord(
                tx=tx,
                tx_id=tx_id,
                height=height,
                index=index,
                receipt=self._store.receipt(txn, tx_id),
            )

        return self._read(read)

    def account_transactions(self, address: bytes, limit: int) -> list[bytes]:
        """Newest transaction ids that involve ``address``."""
        return self._read(lambda txn: self._store.account_transactions(txn, address, limit=limit))

    def account(self, address: bytes) -> AccountRecord:
        """An account and its balances at the latest executed height."""

        def read(txn: lmdb.Transaction) -> AccountRecord:
            height = self._store.latest_height(txn)
            assert height is not None
            raw = self._tree.get(txn, account_key(address))
            prefix = BAL_PREFIX + address + b"/"
            balances = tuple(
                (key[len(prefix) :].decode(), decode(value, Balance).amount)
                for key, value in self._tree.iterate(txn, height, prefix)
            )
            return AccountRecord(
                address=address,
                account=None if raw is None else decode_account(raw),
                balances=balances,
                height=height,
            )

        return self._read(read)

    def asset(self, symbol: str) -> Asset | None:
        """An asset definition, if it exists."""
        raw = self._read(lambda txn: self._tree.get(txn, definition_key(symbol)))
        return None if raw is None else decode(raw, Asset)

    def assets(self, after: str, limit: int) -> AssetPage:
        """Up to ``limit`` asset definitions with symbols after ``after`` ('': from the first).

        Symbols are ASCII, so state-key order is symbol order.
        """

        def read(txn: lmdb.Transaction) -> AssetPage:
            height = self._store.latest_height(txn)
            assert height is not None
            start = definition_key(after) + b"\x00" if after else DEF_PREFIX
            found: list[Asset] = []
            for _, value in self._tree.iterate(txn, height, DEF_PREFIX, start=start):
                if len(found) == limit:
                    return AssetPage(height, tuple(found), found[-1].symbol)
                found.append(decode(value, Asset))
            return AssetPage(height, tuple(found), None)

        return self._read(read)

    def holders(self, symbol: str, after: bytes | None, limit: int, max_scan: int) -> HolderPage:
        """Holders of ``symbol`` above address ``after``, reading at most ``max_scan`` balances.

        Balances are keyed holder first (``assets/bal/<address>/<symbol>``),
        so this walks every holder's balances; an address whose entries the
        bound cuts short is settled with one direct lookup, so ``next`` is
        always an address whose balance of ``symbol`` has been decided.
        """
        skip = len(BAL_PREFIX)
        wanted = symbol.encode()

        def read(txn: lmdb.Transaction) -> HolderPage:
            height = self._store.latest_height(txn)
            assert height is not None
            # b"0" follows b"/": the first key after every balance of `after`.
            start = BAL_PREFIX if after is None else BAL_PREFIX + after + b"0"
            found: list[tuple[bytes, int]] = []
            scanned = 0
            for key, value in self._tree.iterate(txn, height, BAL_PREFIX, start=start):
                scanned += 1
                address, held = key[skip : skip + 20], key[skip + 21 :]
                if held == wanted:
                    amount = decode(value, Balance).amount
                    if amount > 0:
                        found.append((address, amount))
                elif scanned == max_scan and held < wanted:
                    raw = self._tree.get(txn, balance_key(address, symbol))
                    amount = 0 if raw is None else decode(raw, Balance).amount
                    if amount > 0:
                        found.append((address, amount))
                if len(found) == limit or scanned == max_scan:
                    return HolderPage(height, symbol, tuple(found), scanned, address)
            return HolderPage(height, symbol, tuple(found), scanned, None)

        return self._read(read)

    def event_log(
        self,
        *,
        before: EventPosition | None,
        limit: int,
        max_blocks: int,
        module: str | None = None,
        name: str | None = None,
    ) -> EventPage:
        """A page of module events, newest first (see :func:`read_event_log`)."""
        return self._read(
            lambda txn: read_event_log(
                self._store,
                txn,
                before=before,
                limit=limit,
                max_blocks=max_blocks,
                module=module,
                name=name,
            )
        )

    def block_events(self, first: int, last: int) -> list[list[Event]]:
        """The stream events of executed blocks ``first``..``last``, one list per block.

        Raises:
            BlockNotFound: a height in the range is not stored (see :func:`stored_block_events`).
        """
        return self._read(
            lambda txn: [
                stored_block_events(self._store, txn, height) for height in range(first, last + 1)
            ]
        )

    def structs(self, prefix: bytes, type_: type[T]) -> tuple[int, list[tuple[bytes, T]]]:
        """Latest executed height and each ``(key, value)`` under ``prefix``, decoded, in order."""

        def read(txn: lmdb.Transaction) -> tuple[int, list[tuple[bytes, T]]]:
            height = self._store.latest_height(txn)
            assert height is not None
            found = [(k, decode(v, type_)) for k, v in self._tree.iterate(txn, height, prefix)]
            return height, found

        return self._read(read)

    def struct(self, key: bytes, type_: type[T]) -> tuple[int, T | None]:
        """Latest executed height and the value at ``key`` decoded as ``type_``."""

        def read(txn: lmdb.Transaction) -> tuple[int, T | None]:
            height = self._store.latest_height(txn)
            assert height is not None
            raw = self._tree.get(txn, key)
            return height, None if raw is None else decode(raw, type_)

        return self._read(read)

    def state_entries(
        self, version: int, start: bytes, limit: int
    ) -> tuple[list[tuple[bytes, bytes]], bytes | None]:
        """Up to ``limit`` state entries of ``version`` from key ``start``, and where to resume."""

        def read(txn: lmdb.Transaction) -> tuple[list[tuple[bytes, bytes]], bytes | None]:
            entries: list[tuple[bytes, bytes]] = []
            for key, value in self._tree.iterate(txn, version, start=start):
                if len(entries) == limit:
                    return entries, key
                entries.append((key, value))
            return entries, None

        return self._read(read)

    def state(self, key: bytes, version: int | None = None) -> StateRecord:
        """A state value with its proof at ``version`` (default: newest certified one)."""

        def read(txn: lmdb.Transaction) -> StateRecord:
            latest = self._store.latest_height(txn)
            assert latest is not None
            chosen = version
            if chosen is None:
                chosen = self._store.block_by_height(txn, latest).header.state_height
            if chosen > latest:
                raise BlockNotFound(f"state version {chosen} is above executed height {latest}")
            return StateRecord(
                key=key,
                value=self._tree.get(txn, key, chosen),
                version=chosen,
                root=self._tree.root(txn, chosen),
                proof=self._tree.prove(txn, key, chosen),
                header_height=read_certifying_height(self._store, txn, chosen),
            )

        return self._read(read)
