"""The EVM world state: py-evm's Ethereum trie in the node's LMDB, its root in chain state.

py-evm keeps accounts, storage and code in a Merkle-Patricia trie over a
key-value database. Here that database is the state tree's side database,
written in the block's own LMDB transaction, so a crash never separates the
trie from the chain state; the trie's root is the chain-state entry
``evm/world_root``, so one header root commits to everything (DESIGN.md §3).
Trie nodes are content-addressed (keccak of their RLP), so old roots stay
readable for historical queries and proofs.

A block's account and storage changes reach their tries once, when the
block's root is made. py-evm inserts them one key at a time, re-reading,
re-encoding and re-hashing the path from the root for each;
:class:`BatchedAccountDB` (with :class:`BatchedStorageLookup`) applies them
in one pass over each trie instead, so each changed node is encoded and
hashed once. The tries' content, hence every root, is the same: an Ethereum
trie's root depends only on its key-value pairs
(``tests/evm/test_world_batch.py`` checks both against py-trie).

Reading an account or a slot walks its trie from the root, decoding each
node on the way, and a fresh world is opened every block.
:func:`trie_get` walks through a :class:`NodeCache` per state tree that
keeps decoded nodes by hash across blocks (the nodes a block writes
included), so a walk decodes only what it has not seen. A node's hash is
the hash of its content, so an entry can never be stale: not after an
aborted block, not for a read at another height.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any, Final, cast

import lmdb
from eth.abc import AccountStorageDatabaseAPI, AtomicDatabaseAPI
from eth.constants import BLANK_ROOT_HASH
from eth.db.accesslog import KeyAccessLoggerDB
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB
from eth.db.backends.memory import MemoryDB
from eth.db.cache import CacheDB
from eth.db.diff import DBDiff
from eth.db.hash_trie import HashTrie
from eth.db.journal import JournalDB
from eth.db.storage import CLEAR_COUNT_KEY_NAME, AccountStorageDB, StorageLookup
from eth.vm.interrupt import MissingAccountTrieNode
from eth_typing import Address, Hash32
from rlp.codec import encode_raw
from trie.constants import BLANK_NODE
from trie.exceptions import MissingTrieNode
from trie.hexary import HexaryTrie
from trie.utils.nodes import (
    decode_node,
)

from consortia.crypto import keccak256
from consortia.execution.state_view import StateView
from consortia.state import StateTree

WORLD_ROOT_KEY: Final = b"evm/world_root"
"""Chain-state key holding the EVM trie root after the last block that touched it."""


class SideDB(BaseDB):
    """py-evm's key-value interface over an LMDB database, inside one transaction."""

    def __init__(self, txn: lmdb.Transaction, db: Any) -> None:
        self._txn = txn
        self._db = db

    def __getitem__(self, key: bytes) -> bytes:
        value = self._txn.get(key, db=self._db)
        if value is None:
            raise KeyError(key)
        return bytes(value)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._txn.put(key, value, db=self._db)

    def __delitem__(self, key: bytes) -> None:
        if not self._txn.delete(key, db=self._db):
            raise KeyError(key)

    def _exists(self, key: bytes) -> bool:
        return self._txn.get(key, db=self._db) is not None


def world_db(state: StateView) -> AtomicDB:
    """The EVM trie database seen through ``state``'s LMDB transaction."""
    return AtomicDB(SideDB(state.txn, state.tree.side_db))


def world_root(state: StateView) -> bytes:
    """The EVM trie root in ``state`` (the empty trie's before any contract)."""
    return state.get(WORLD_ROOT_KEY) or BLANK_ROOT_HASH


# ------------------------------------------------------- batched storage writes

Path = str
"""A trie path as hex digits, one per nibble (``key.hex()`` for a whole key).

Hex strings compare, slice and sort as nibble sequences do, at C speed."""
Node = Any
"""A decoded trie node as py-trie has it: ``b""``, a 2-item or a 17-item list."""
Ref = Any
"""How a parent holds a child: its 32-byte hash, or the node itself if its RLP is short."""


def _common_prefix(a: Path, b: Path) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class NodeCache:
    """Decoded storage-trie nodes by hash, for one state tree (bounded; see module doc).

    Nodes handed out are shared: callers must not change them (py-trie's
    read path and :class:`_BatchWriter` never do). Entries need no
    invalidation because a hash names one content; when ``limit`` entries
    are held, the cache starts again empty. Only block execution uses it
    (the API's EVM reader opens worlds without one).
    """

    def __init__(self, limit: int = 16_384) -> None:
        self._nodes: dict[bytes, Node] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._nodes)

    def get(self, node_hash: bytes) -> Node | None:
        """The node stored under ``node_hash``, if cached."""
        return self._nodes.get(node_hash)

    def put(self, node_hash: bytes, node: Node) -> None:
        """Remember ``node`` (already decoded) under its hash."""
        if len(self._nodes) >= self._limit:
            self._nodes.clear()
        self._nodes[node_hash] = node


_NODE_CACHES: Final[weakref.WeakKeyDictionary[StateTree, NodeCache]] = weakref.WeakKeyDictionary()


def node_cache(tree: StateTree) -> NodeCache:
    """The node cache of ``tree``'s EVM trie (one per tree, so per LMDB environment)."""
    cache = _NODE_CACHES.get(tree)
    if cache is None:
        cache = _NODE_CACHES[tree] = NodeCache()
    return cache


_NIBBLE: Final = {c: i for i, c in enumerate("0123456789abcdef")}


def _fetch(db: Any, ref: bytes, cache: NodeCache | None) -> Node:
    node = cache.get(ref) if cache is not None else None
    if node is None:
        node = decode_node(db[ref])
        if cache is not None:
            cache.put(ref, node)
    return node


def trie_get(db: Any, root_hash: bytes, key: bytes, cache: NodeCache | None) -> bytes:
    """The value at ``key`` in the trie ``root_hash`` over ``db`` (``b""`` if none).

    What py-trie's ``HexaryTrie.get`` answers, walking the path as hex digits
    and decoding nodes through ``cache`` (None: decode each).

    Raises:
        MissingTrieNode: a node on the path is not in ``db`` (as py-trie).
    """
    if root_hash == BLANK_ROOT_HASH:
        return b""
    path = key.hex()
    ref: Ref = root_hash
    try:
        while True:
            if isinstance(ref, list):
                node = ref
            elif ref == BLANK_NODE:
                return b""
            else:
                node = _fetch(db, ref, cache)
            if len(node) == 17:  # a branch
                if not path:
                    return bytes(node[16])
                ref = node[_NIBBLE[path[0]]]
                path = path[1:]
                continue
            # A leaf or an extension; its path hex-prefix encoded: flag 0/1
            # extension, 2/3 leaf; an odd flag has the first nibble beside it.
            encoded = node[0].hex()
            rest = encoded[1:] if encoded[0] in "13" else encoded[2:]
            if encoded[0] in "23":
                return bytes(node[1]) if rest == path else b""
            if not path.startswith(rest):
                return b""
            path = path[len(rest) :]
            ref = node[1]
    except KeyError as exc:
        raise MissingTrieNode(exc.args[0], Hash32(root_hash), key) from None


class _CachedReadTrie(HexaryTrie):
    """A py-trie trie whose ``get`` is :func:`trie_get` through a :class:`NodeCache`."""

    __slots__ = ("_cache",)

    def __init__(self, db: Any, root_hash: bytes, cache: NodeCache | None) -> None:
        super().__init__(db, root_hash)
        self._cache = cache

    def get(self, key: bytes) -> bytes:
        """The value at ``key`` (``b""`` if none)."""
        return trie_get(self.db, self.root_hash, key, self._cache)


class _AccountReader(BaseDB):
    """Accounts by address in py-evm's account trie: reads by :func:`trie_get`.

    Stands where py-evm's ``HashTrie`` over the trie stands for reads;
    writes (which py-evm does not route here) go to the trie as there.
    """

    def __init__(self, trie: HexaryTrie, cache: NodeCache | None) -> None:
        self._trie: Any = trie
        self._cache = cache

    def __getitem__(self, address: bytes) -> bytes:
        return trie_get(self._trie.db, self._trie.root_hash, keccak256(address), self._cache)

    def __setitem__(self, address: bytes, value: bytes) -> None:
        self._trie[keccak256(address)] = value

    def __delitem__(self, address: bytes) -> None:
        del self._trie[keccak256(address)]

    def _exists(self, address: bytes) -> bool:
        return self[address] != b""


def _hp_decode(encoded: bytes) -> tuple[Path, bool]:
    """The path of a leaf or extension node, hex-prefix encoded, and whether it is a leaf.

    The first nibble is a flag: 0/1 extension, 2/3 leaf; an odd flag has the
    path's first nibble beside it, an even one a padding nibble.
    """
    digits = encoded.hex()
    flag = digits[0]
    return (digits[1:] if flag in "13" else digits[2:]), flag in "23"


def _hp_encode(path: Path, leaf: bool) -> bytes:
    """The hex-prefix encoding of ``path`` for a leaf or an extension node."""
    if len(path) % 2:
        return bytes.fromhex(("3" if leaf else "1") + path)
    return bytes.fromhex(("20" if leaf else "00") + path)


class _BatchWriter:
    """Sets many keys in a py-trie :class:`HexaryTrie` with one pass over each changed node.

    Nodes are written through the trie's own ``_set_db_value`` (so its
    pruning reference counts stay right) and never modified in place: a
    decoded node may be shared with the :class:`NodeCache`.
    """

    def __init__(self, trie: Any, cache: NodeCache | None) -> None:
        self._trie = trie  # a trie.HexaryTrie (untyped)
        self._cache = cache

    def set_many(self, items: Sequence[tuple[bytes, bytes]]) -> None:
        """Set ``(key, value)`` pairs (distinct keys, non-empty values); move the root."""
        paths = sorted((key.hex(), value) for key, value in items)
        root = self._update(self._resolve(self._trie.root_hash), paths)
        # The root is stored under its hash even when its RLP is short (as py-trie does).
        encoded = encode_raw(root)
        root_hash = keccak256(encoded)
        self._trie._set_db_value(root_hash, encoded)
        self._trie.root_hash = root_hash

    def _ref(self, node: Node) -> Ref:
        encoded = encode_raw(node)
        if len(encoded) < 32:
            return node
        node_hash = keccak256(encoded)
        self._trie._set_db_value(node_hash, encoded)
        if self._cache is not None:
            self._cache.put(node_hash, node)
        return node_hash

    def _resolve(self, ref: Ref) -> Node:
        if isinstance(ref, list) or ref == BLANK_NODE:
            return ref
        if ref == BLANK_ROOT_HASH:
            return BLANK_NODE
        return _fetch(self._trie.db, ref, self._cache)

    def _update(self, node: Node, items: list[tuple[Path, bytes]]) -> Node:
        """``node``'s subtree with ``items`` (paths relative to it, sorted) set."""
        if node == BLANK_NODE:
            return self._build(items)
        if len(node) == 17:
            return self._update_branch(list(node), items)
        path, leaf = _hp_decode(node[0])
        if leaf:
            merged = dict(items)
            merged.setdefault(path, node[1])
            return self._build(sorted(merged.items()))
        # An extension: descend if every item shares its whole path, else split it.
        shared = min(_common_prefix(path, p) for p, _ in items)
        if shared == len(path):
            child = self._update(self._resolve(node[1]), [(p[shared:], v) for p, v in items])
            return [_hp_encode(path, False), self._ref(child)]
        branch: list[Ref] = [BLANK_NODE] * 17
        rest = path[shared + 1 :]
        branch[_NIBBLE[path[shared]]] = (
            self._ref([_hp_encode(rest, False), node[1]]) if rest else node[1]
        )
        below = self._update_branch(branch, [(p[shared:], v) for p, v in items])
        return self._wrap(path[:shared], below)

    def _update_branch(self, branch: list[Ref], items: list[tuple[Path, bytes]]) -> Node:
        """``branch`` (a fresh list, changed here) with ``items`` set below it."""
        start = 0
        while start < len(items):
            path = items[start][0]
            if not path:
                branch[16] = items[start][1]
                start += 1
                continue
            digit = path[0]
            end = start + 1
            while end < len(items) and items[end][0][:1] == digit:
                end += 1
            group = [(p[1:], v) for p, v in items[start:end]]
            index = _NIBBLE[digit]
            branch[index] = self._ref(self._update(self._resolve(branch[index]), group))
            start = end
        return branch

    def _build(self, items: list[tuple[Path, bytes]]) -> Node:
        """A new subtree holding exactly ``items`` (sorted, at least one)."""
        if len(items) == 1:
            path, value = items[0]
            return [_hp_encode(path, True), value]
        shared = _common_prefix(items[0][0], items[-1][0])
        branch = self._update_branch([BLANK_NODE] * 17, [(p[shared:], v) for p, v in items])
        return self._wrap(items[0][0][:shared], branch)

    def _wrap(self, prefix: Path, branch: Node) -> Node:
        """``branch`` under an extension for ``prefix`` (the branch itself if empty)."""
        if not prefix:
            return branch
        return [_hp_encode(prefix, False), self._ref(branch)]


class BatchedStorageLookup(StorageLookup):
    """py-evm's storage trie access, with slot writes kept until the trie is next used.

    Writes and deletes are buffered by hashed slot (the last one per slot
    wins, as applied in order); any read, root query, commit or trie switch
    first applies them: the sets in one :class:`_BatchWriter` pass, the
    deletes through py-trie. Distinct keys commute, so the trie ends as it
    would have written one at a time.
    """

    def __init__(
        self, db: Any, storage_root: Hash32, address: Address, cache: NodeCache | None
    ) -> None:
        self._pending: dict[bytes, bytes] = {}
        self._cache = cache
        super().__init__(db, storage_root, address)

    def _get_read_trie(self) -> HexaryTrie:
        if self._write_trie is not None:
            return self._write_trie
        return _CachedReadTrie(self._db, self._starting_root_hash, self._cache)

    def _flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        trie: Any = self._get_write_trie()
        sets = [(key, value) for key, value in pending.items() if value != b""]
        if sets:
            _BatchWriter(trie, self._cache).set_many(sets)
        for key, value in pending.items():
            if value == b"":
                del trie[key]

    def __getitem__(self, key: bytes) -> bytes:
        self._flush()
        return super().__getitem__(key)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[self._decode_key(key)] = value

    def __delitem__(self, key: bytes) -> None:
        self._pending[self._decode_key(key)] = b""

    def _exists(self, key: bytes) -> bool:
        self._flush()
        return super()._exists(key)

    @property
    def has_changed_root(self) -> bool:
        self._flush()
        return super().has_changed_root

    def get_changed_root(self) -> Hash32:
        self._flush()
        return super().get_changed_root()

    def commit_to(self, db: Any) -> None:
        self._flush()
        super().commit_to(db)

    def new_trie(self) -> int:
        self._flush()
        return super().new_trie()

    def rollback_trie(self, trie_index: int) -> None:
        self._flush()
        super().rollback_trie(trie_index)


class BatchedAccountStorageDB(AccountStorageDB):
    """py-evm's account storage over a :class:`BatchedStorageLookup` (pipes as upstream)."""

    def __init__(
        self,
        db: AtomicDatabaseAPI,
        storage_root: Hash32,
        address: Address,
        cache: NodeCache | None,
    ) -> None:
        # AccountStorageDB.__init__ of py-evm 0.12.1b1 (pinned), with the lookup swapped.
        self._address = address
        self._storage_lookup = BatchedStorageLookup(db, storage_root, address, cache)
        self._storage_cache = CacheDB(self._storage_lookup)
        self._locked_changes = JournalDB(self._storage_cache)
        self._journal_storage = JournalDB(self._locked_changes)
        self._accessed_slots: set[int] = set()
        self._clear_count = JournalDB(MemoryDB({CLEAR_COUNT_KEY_NAME: b"\x00"}))


class BatchedAccountDB(AccountDB):
    """py-evm's account database whose contract storage writes are batched per block.

    ``cache``: the state tree's :class:`NodeCache` (None: decode every node read).
    """

    def __init__(
        self,
        db: AtomicDatabaseAPI,
        state_root: Hash32 = BLANK_ROOT_HASH,
        cache: NodeCache | None = None,
    ) -> None:
        super().__init__(db, state_root)
        self._node_cache = cache
        # AccountDB.__init__ of py-evm 0.12.1b1 (pinned) wires account reads
        # _journaltrie -> _trie_cache -> _trie_logger -> _trie; here the last
        # step reads through the node cache (writes still go through _trie).
        trie = HexaryTrie(self._batchtrie, state_root, prune=True)
        self._trie = HashTrie(cast(Any, trie))
        self._trie_logger = KeyAccessLoggerDB(_AccountReader(trie, cache), log_missing_keys=False)
        self._trie_cache = CacheDB(self._trie_logger)
        self._journaltrie = JournalDB(self._trie_cache)

    def _apply_account_diff_without_proof(self, diff: DBDiff, trie: Any) -> None:
        """Apply the block's account changes to ``trie``: deletes one by one, sets in one pass.

        ``trie`` is py-evm's ``HashTrie`` over the squashing py-trie trie.
        """
        for address in diff.deleted_keys():
            try:
                del trie[address]
            except MissingTrieNode as exc:
                raise MissingAccountTrieNode(
                    Hash32(exc.missing_node_hash),
                    self._root_hash_at_last_persist,
                    exc.requested_key,
                ) from exc
        sets = [(keccak256(a), value) for a, value in diff.pending_items() if value != b""]
        for address, value in diff.pending_items():
            if value == b"":
                trie[address] = value  # py-trie deletes a key set to b""
        if sets:
            _BatchWriter(trie._db, self._node_cache).set_many(sets)

    def _get_address_store(self, address: Address) -> AccountStorageDatabaseAPI:
        store = self._account_stores.get(address)
        if store is None:
            storage_root = self._get_storage_root(address)
            store = BatchedAccountStorageDB(
                self._raw_store_db, storage_root, address, self._node_cache
            )
            self._account_stores[address] = store
        return store
