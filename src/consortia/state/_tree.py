"""Versioned, authenticated key-value state stored in LMDB (``StateTree``).

Implements the Jellyfish Merkle Tree of Diem (Gao et al., "Jellyfish Merkle
Tree", 2021): a sparse Merkle tree over ``H(key)`` whose *stored* nodes are
16-ary (one per nibble of the key hash) while its *hash* is that of the
canonical binary tree (``_hashing``), so proofs carry binary siblings only.
Nodes are immutable and keyed by ``(version, nibble path)``; a write at
version ``v`` stores only the nodes on the updated paths and records every
node it replaced in a stale-node index, which ``prune`` uses to drop what only
older versions can reach (JMT §3.3).

``StateTree`` is the public surface: it checks its inputs and composes one
module per concept:

* ``_node_codec``: the stored node, its child slots and its storage key;
* ``_node_hash``: a node's hash, the binary tree over its 16 slots;
* ``_node_cache``: nodes kept decoded and hashed between versions;
* ``_writer``: one version's new nodes;
* ``_raw``: the raw ``key -> value`` tables beside the tree, so ``get`` never
  walks it, with a history of superseded values for reads at older versions;
* ``_prune``: the stale index and pruning;
* ``_prover``: proofs from the stored nodes (``_proof`` verifies them);
* ``_store``: the LMDB tables and how they are read and appended to.

Every write goes through a caller-owned LMDB write transaction, so a block's
ledger and state commit (or abort) together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import lmdb

from consortia.state import _raw
from consortia.state._hashing import PLACEHOLDER, HashFn, check_hash_fn
from consortia.state._node_cache import NODE_CACHE_SIZE, NodeCache
from consortia.state._node_codec import Child, decode_root
from consortia.state._proof import StateProof
from consortia.state._prover import prove
from consortia.state._prune import prune, stale_records
from consortia.state._store import MAX_VERSION, Batches, Tables, append, get, version_bytes
from consortia.state._writer import TreeWriter
from consortia.state.errors import InvalidVersion, StateError, VersionNotFound

__all__ = ["MAX_KEY_SIZE", "MAX_VALUE_SIZE", "NODE_CACHE_SIZE", "StateTree"]

MAX_KEY_SIZE: Final = 256
"""Longest raw key accepted, in bytes."""

MAX_VALUE_SIZE: Final = 1 << 20
"""Longest value accepted, in bytes (1 MiB)."""

_LOAD_BATCH: Final = 16_384
"""Key records or tree nodes a first version writes at a time (see ``StateTree._load``)."""


def _check_key(key: object) -> bytes:
    if not isinstance(key, bytes):
        raise StateError(f"state keys must be bytes, not {type(key).__name__}")
    if len(key) > MAX_KEY_SIZE:
        raise StateError(f"state key of {len(key)} bytes exceeds {MAX_KEY_SIZE}")
    return key


def _check_version(version: object) -> int:
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise InvalidVersion(f"version must be a non-negative int, got {version!r}")
    if version > MAX_VERSION - 1:
        raise InvalidVersion(f"version {version} does not fit in 64 bits")
    return version


def _check_updates(updates: Mapping[bytes, bytes | None]) -> None:
    for key, value in updates.items():
        _check_key(key)
        if value is not None:
            if not isinstance(value, bytes):
                raise StateError(f"state values must be bytes, not {type(value).__name__}")
            if len(value) > MAX_VALUE_SIZE:
                raise StateError(f"state value of {len(value)} bytes exceeds 1 MiB")


class StateTree:
    """Versioned authenticated map ``bytes -> bytes`` in one LMDB environment.

    Versions are block heights: ``apply`` writes version 0 first, then each
    next integer. Reads at any version from the oldest kept (see ``prune``) to
    the latest are supported: ``root``, ``get``, ``prove`` and ``iterate``.

    Named databases (``name`` + suffix) in the caller's environment:

    ``.nodes``   ``version(8) || depth(1) || path`` -> 16-slot internal node
    ``.roots``   ``version(8)`` -> root record
    ``.stale``   ``stale_since(8) || kind(1) || target`` -> empty (pruning index)
    ``.keys``    ``b"k" || key`` -> ``live(1) || version(8) || value`` (latest values)
    ``.history`` ``H(key) || ~version(8)`` -> ``live(1) || value`` (superseded values)
    """

    def __init__(
        self,
        env: lmdb.Environment,
        hash_fn: HashFn,
        *,
        name: bytes = b"state",
        txn: lmdb.Transaction | None = None,
        node_cache: int = NODE_CACHE_SIZE,
    ) -> None:
        """Open (creating if needed) the tree's named databases in ``env``.

        Parameters:
            env: the node's environment, opened with ``max_dbs >= 16``.
            hash_fn: 32-byte hash (SM3 or SHA-256), used for keys, values and nodes.
            name: prefix of the named databases, so several trees can share ``env``.
            txn: a write transaction to create the databases in; without one, a
                short write transaction of its own is used (so do not hold another
                write transaction in this thread). If ``txn`` aborts, the handles die.
            node_cache: most nodes kept decoded between versions (0: none); see
                ``NodeCache``. The default holds the top four levels of a
                million-key tree.

        Raises:
            StateError: ``hash_fn`` does not return 32 bytes or the databases cannot open.
        """
        check_hash_fn(hash_fn)
        self._env = env
        self._hash = hash_fn
        self._node_cache = NodeCache(node_cache) if node_cache > 0 else None
        try:
            if txn is None:
                with env.begin(write=True) as own:
                    self._tables = Tables(env, own, name)
            else:
                self._tables = Tables(env, txn, name)
        except lmdb.Error as exc:
            raise StateError(f"cannot open state databases {name!r}: {exc}") from None

    @property
    def side_db(self) -> Any:
        """A plain key-value database beside the tree, written in the same transactions.

        For content-addressed data whose root is kept *in* the tree, so the tree's
        root still commits to it: the EVM's Ethereum trie nodes (DESIGN.md §3).
        Keys must be collision-free by construction (e.g. node hashes).
        """
        return self._tables.side

    # ----------------------------------------------------------------- versions

    def latest_version(self, txn: lmdb.Transaction) -> int | None:
        """The newest committed version, or ``None`` before the first ``apply``."""
        cursor = txn.cursor(db=self._tables.roots)
        if not cursor.last():
            return None
        return int.from_bytes(cursor.key(), "big")

    def oldest_version(self, txn: lmdb.Transaction) -> int | None:
        """The oldest version still readable (raised by ``prune``), or ``None`` if empty."""
        cursor = txn.cursor(db=self._tables.roots)
        if not cursor.first():
            return None
        return int.from_bytes(cursor.key(), "big")

    def _root_entry(self, txn: lmdb.Transaction, version: int) -> Child | None:
        _check_version(version)
        data = get(txn, version_bytes(version), self._tables.roots)
        if data is None:
            raise VersionNotFound(
                f"state version {version} is not stored (never written or pruned)"
            )
        return decode_root(data)

    def root(self, txn: lmdb.Transaction, version: int) -> bytes:
        """Root hash at ``version`` (``PLACEHOLDER``, 32 zero bytes, for an empty state).

        Raises:
            VersionNotFound: ``version`` was never written or has been pruned.
        """
        entry = self._root_entry(txn, version)
        return PLACEHOLDER if entry is None else entry[:32]

    def _resolve(self, txn: lmdb.Transaction, version: int | None) -> int | None:
        if version is None:
            return self.latest_version(txn)
        _check_version(version)
        if txn.get(version_bytes(version), db=self._tables.roots) is None:
            raise VersionNotFound(
                f"state version {version} is not stored (never written or pruned)"
            )
        return version

    # -------------------------------------------------------------------- reads

    def get(self, txn: lmdb.Transaction, key: bytes, version: int | None = None) -> bytes | None:
        """Value of ``key`` at ``version`` (latest if ``None``), or ``None`` if absent.

        Raises:
            VersionNotFound: ``version`` was never written or has been pruned.
            StateError: ``key`` is not bytes of at most 256 bytes.
        """
        _check_key(key)
        resolved = self._resolve(txn, version)
        if resolved is None:
            return None
        return _raw.read(txn, self._tables, self._hash, key, resolved)

    def reader(self, txn: lmdb.Transaction, version: int) -> Callable[[bytes], bytes | None]:
        """``get`` at ``version`` with the version checked once, for a block's many reads.

        Raises:
            VersionNotFound: ``version`` was never written or has been pruned.
        """
        resolved = self._resolve(txn, version)
        assert resolved is not None, "an explicit version resolves to itself"
        tables = self._tables
        hash_fn = self._hash
        raw_read = _raw.read

        def read(key: bytes) -> bytes | None:
            _check_key(key)
            return raw_read(txn, tables, hash_fn, key, resolved)

        return read

    def iterate(
        self,
        txn: lmdb.Transaction,
        version: int | None,
        prefix: bytes = b"",
        *,
        start: bytes = b"",
    ) -> Iterator[tuple[bytes, bytes]]:
        """All ``(key, value)`` present at ``version`` whose key starts with ``prefix``.

        Yields in raw-key byte order from ``max(prefix, start)`` on, streaming
        from a cursor (keep ``txn`` open while iterating). At the latest version
        this is a plain range scan; at an older one each key changed since is
        looked up in the history. ``start`` lets a caller resume a long scan
        (state snapshots are served in chunks).

        Raises:
            VersionNotFound: ``version`` was never written or has been pruned.
        """
        if not isinstance(prefix, bytes) or not isinstance(start, bytes):
            raise StateError("prefix and start must be bytes")
        resolved = self._resolve(txn, version)
        if resolved is None:
            return iter(())
        return _raw.iterate(txn, self._tables, self._hash, resolved, prefix, max(prefix, start))

    # ------------------------------------------------------------------- writes

    def apply(
        self, txn: lmdb.Transaction, version: int, updates: Mapping[bytes, bytes | None]
    ) -> bytes:
        """Write ``updates`` (``None`` deletes) as ``version`` and return its root.

        ``version`` must be 0 for the first write and ``latest + 1`` after. Keys
        are processed in sorted order, so the result depends only on the
        contents of ``updates``. Deleting an absent key or rewriting a key with
        its current value changes nothing.

        Raises:
            InvalidVersion: ``version`` is not the next version.
            StateError: a key or value has the wrong type or size, or storage is corrupt.
        """
        _check_version(version)
        latest = self.latest_version(txn)
        expected = 0 if latest is None else latest + 1
        if version != expected:
            raise InvalidVersion(f"state version {version} applied; expected {expected}")
        return self._apply(txn, version, updates, latest)

    def restore(self, txn: lmdb.Transaction, version: int, items: Mapping[bytes, bytes]) -> bytes:
        """Write a complete state snapshot as the first version ``version``; return its root.

        For a node that starts from a verified snapshot instead of replaying
        from genesis: the tree must be empty, and the caller compares the
        returned root with a certified one before committing ``txn``.

        Raises:
            InvalidVersion: the tree already holds a version.
        """
        _check_version(version)
        latest = self.latest_version(txn)
        if latest is not None:
            raise InvalidVersion(f"restore needs an empty tree; it holds version {latest}")
        return self._apply(txn, version, items, None)

    def load(
        self, env: lmdb.Environment, version: int, updates: Mapping[bytes, bytes | None]
    ) -> bytes:
        """Write ``updates`` as version ``version`` of an empty tree over several
        write transactions of ``env``; return its root.

        For a first version too large for one transaction: a million-account
        genesis would hold 300 MiB of dirty pages in one. Records are committed
        in batches and the root record last, so the tree holds no version until
        this returns. If it does not return, ``env`` holds partial records and
        must be discarded (the node installs a genesis into a staging directory).
        The root is the one :meth:`apply` computes for the same ``updates``.

        Raises:
            InvalidVersion: the tree already holds a version.
            StateError: as for :meth:`apply`.
        """
        _check_version(version)
        _check_updates(updates)
        with env.begin() as txn:
            latest = self.latest_version(txn)
        if latest is not None:
            raise InvalidVersion(f"load needs an empty tree; it holds version {latest}")
        batches = Batches(env.begin(write=True), env)
        try:
            root = self._load(batches, version, updates)
        except BaseException:
            batches.txn.abort()
            raise
        batches.txn.commit()
        return root

    def _apply(
        self,
        txn: lmdb.Transaction,
        version: int,
        updates: Mapping[bytes, bytes | None],
        latest: int | None,
    ) -> bytes:
        _check_updates(updates)
        if latest is None:
            return self._load(Batches(txn), version, updates)
        root_entry = self._root_entry(txn, latest)
        tables = self._tables
        vb = version_bytes(version)
        staged = _raw.stage(txn, tables, self._hash, vb, updates)
        new_root = root_entry
        replaced: list[bytes] = []
        items = staged.items
        if items:
            items.sort(key=lambda item: item[0])
            key_hashes = [item[0] for item in items]
            writer = TreeWriter(txn, tables.nodes, self._hash, version, cache=self._node_cache)
            new_root = writer.update(root_entry, items, key_hashes, 0, len(items), 0)
            writer.new_nodes.sort()
            append(txn, tables.nodes, writer.new_nodes)
            replaced = writer.stale
        if replaced or staged.superseded or staged.tombstones:
            append(
                txn,
                tables.stale,
                stale_records(vb, replaced, staged.superseded, staged.tombstones),
            )
        _raw.write(txn, tables, staged)
        txn.put(vb, b"" if new_root is None else new_root, db=tables.roots)
        return PLACEHOLDER if new_root is None else new_root[:32]

    def _load(self, batches: Batches, version: int, updates: Mapping[bytes, bytes | None]) -> bytes:
        """:meth:`_apply` for an empty tree, in memory a large first version can afford.

        An empty tree has no old values, history or stale nodes: key records
        are written in batches as they are made, the tree is built from the
        96-byte leaves alone, and its nodes are written as they are built.
        This holds about a third of what the general path does per key (a
        million-account genesis; a snapshot restore). The result is the same.
        """
        tables = self._tables
        vb = version_bytes(version)
        leaves = _raw.load(batches, tables, self._hash, vb, updates, _LOAD_BATCH)

        def write_nodes(nodes: list[tuple[bytes, bytes]]) -> None:
            nodes.sort()
            _, added = batches.txn.cursor(db=tables.nodes).putmulti(nodes, overwrite=False)
            if added != len(nodes):
                raise StateError("state nodes for this version already exist")
            batches.next()

        root: Child | None = None
        if len(leaves) == 1:
            root = leaves[0]
        elif leaves:
            writer = TreeWriter(
                batches.txn,
                tables.nodes,
                self._hash,
                version,
                spill=write_nodes,
                spill_every=_LOAD_BATCH,
            )
            root = writer.build(leaves, 0)
            write_nodes(writer.new_nodes)
        batches.txn.put(vb, b"" if root is None else root, db=tables.roots)
        return PLACEHOLDER if root is None else root[:32]

    def prune(self, txn: lmdb.Transaction, keep_from_version: int) -> int:
        """Drop what only versions below ``keep_from_version`` can reach.

        Afterwards versions ``< keep_from_version`` raise ``VersionNotFound``
        and every later version is still fully readable and provable.

        Returns:
            The number of tree nodes deleted (superseded values and tombstones
            are deleted too, but not counted).

        Raises:
            InvalidVersion: ``keep_from_version`` is negative or past the latest version.
        """
        _check_version(keep_from_version)
        latest = self.latest_version(txn)
        if latest is None or keep_from_version > latest:
            raise InvalidVersion(
                f"cannot prune below {keep_from_version}: latest state version is {latest}"
            )
        return prune(txn, self._tables, keep_from_version)

    # ------------------------------------------------------------------- proofs

    def prove(self, txn: lmdb.Transaction, key: bytes, version: int) -> StateProof:
        """Inclusion proof of ``key`` at ``version`` if present, exclusion proof otherwise.

        Raises:
            VersionNotFound: ``version`` was never written or has been pruned.
            StateError: a node the version needs is missing (storage damaged).
        """
        _check_key(key)
        entry = self._root_entry(txn, version)
        return prove(txn, self._tables.nodes, self._hash, entry, self._hash(key))
