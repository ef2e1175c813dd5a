"""A block's working view of state: buffered writes with per-transaction rollback.

Reads see the block's own writes first, then the authenticated tree at the
previous version. Each transaction runs inside a checkpoint
(``with view.transaction():``); a failure rolls back its writes only. At the
end of the block :meth:`StateView.changes` is the update set the tree applies
as the next version.

The tree at the previous version never changes while the view lives, so
values read from it are kept for the block, and a struct decoded from
bytes that have not changed since is returned again (structs are
immutable): a block of transfers reads the same sender, asset and
permission entries many times.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar

import lmdb

from consortia.codec import Canonical, decode, encode
from consortia.execution import gas
from consortia.execution.gas import GasMeter
from consortia.state import StateTree

T = TypeVar("T")


class StateView:
    """Buffered key-value state for executing one block."""

    def __init__(self, tree: StateTree, txn: lmdb.Transaction, version: int | None) -> None:
        self._tree = tree
        self._txn = txn
        self._version = version
        self._read = None if version is None else tree.reader(txn, version)
        self._read_cache: dict[bytes, bytes | None] = {}
        self._decoded: dict[bytes, tuple[bytes, type, Any]] = {}
        self._block: dict[bytes, bytes | None] = {}
        self._layers: list[dict[bytes, bytes | None]] = []
        self.meter: GasMeter | None = None
        self.block_scratch: dict[str, Any] = {}
        """Per-block working objects of modules (e.g. the EVM's open world state),
        dropped with the view; state itself only ever goes through get/set."""

    @property
    def tree(self) -> StateTree:
        """The authenticated tree this view reads (for side databases)."""
        return self._tree

    @property
    def txn(self) -> lmdb.Transaction:
        """The LMDB transaction this view reads and, for a block, writes in."""
        return self._txn

    # reads ------------------------------------------------------------------
    def get(self, key: bytes) -> bytes | None:
        """Current value of ``key`` (None if absent)."""
        if self.meter is not None:
            self.meter.charge(gas.STATE_READ, "state read")
        for layer in reversed(self._layers):
            if key in layer:
                return layer[key]
        if key in self._block:
            return self._block[key]
        if self._read is None:
            return None
        try:
            return self._read_cache[key]
        except KeyError:
            value = self._read_cache[key] = self._read(key)
            return value

    def get_struct(self, key: bytes, type_: type[T]) -> T | None:
        """Decode the value at ``key`` as ``type_`` (None if absent)."""
        raw = self.get(key)
        if raw is None:
            return None
        cached = self._decoded.get(key)
        if cached is not None and cached[0] is raw and cached[1] is type_:
            value: T = cached[2]
            return value
        value = decode(raw, type_)
        if isinstance(type_, type) and issubclass(type_, Canonical):
            self._decoded[key] = (raw, type_, value)
        return value

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Keys with ``prefix`` and their current values, in key order."""
        merged: dict[bytes, bytes | None] = {}
        if self._version is not None:
            merged.update(self._tree.iterate(self._txn, self._version, prefix))
        for layer in (self._block, *self._layers):
            merged.update({k: v for k, v in layer.items() if k.startswith(prefix)})
        for key in sorted(merged):
            value = merged[key]
            if value is not None:
                yield key, value

    # writes -----------------------------------------------------------------
    def set(self, key: bytes, value: bytes) -> None:
        """Write ``value`` at ``key``."""
        if self.meter is not None:
            self.meter.charge(gas.STATE_WRITE + gas.PER_WRITTEN_BYTE * len(value), "state write")
        self._top()[key] = value

    def put_struct(self, key: bytes, value: object) -> None:
        """Write the canonical encoding of ``value`` at ``key``."""
        self.set(key, encode(value))

    def delete(self, key: bytes) -> None:
        """Remove ``key``."""
        if self.meter is not None:
            self.meter.charge(gas.STATE_WRITE, "state delete")
        self._top()[key] = None

    def _top(self) -> dict[bytes, bytes | None]:
        return self._layers[-1] if self._layers else self._block

    # transactions -----------------------------------------------------------
    def transaction(self) -> Checkpoint:
        """A checkpoint as a context manager: kept on success, rolled back on any exception.

        ``with view.transaction(): ...`` opens a layer; leaving the block
        normally merges it into the layer below (:meth:`release`), leaving it by
        an exception discards it (:meth:`rollback`) and lets the exception
        propagate. Checkpoints nest.
        """
        return Checkpoint(self)

    def checkpoint(self) -> None:
        """Start a transaction's layer."""
        self._layers.append({})

    def rollback(self) -> None:
        """Discard the innermost layer."""
        self._layers.pop()

    def release(self) -> None:
        """Merge the innermost layer into the one below."""
        layer = self._layers.pop()
        self._top().update(layer)

    def changes(self) -> dict[bytes, bytes | None]:
        """All writes of the block (None = delete); only valid outside checkpoints."""
        assert not self._layers, "changes() inside an open checkpoint"
        return dict(self._block)


class Checkpoint:
    """One open layer of a :class:`StateView`, released or rolled back on exit.

    A plain class rather than ``contextlib.contextmanager``: it runs once per
    transaction on the execution hot path, where a generator costs more.
    """

    __slots__ = ("_depth", "_view")

    def __init__(self, view: StateView) -> None:
        self._view = view
        self._depth = -1

    def __enter__(self) -> StateView:
        self._view.checkpoint()
        self._depth = len(self._view._layers)
        return self._view

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A layer opened inside this one and left open would be merged or
        # dropped in our place: that is a bug in the caller, not a state.
        assert len(self._view._layers) == self._depth, "checkpoint closed out of order"
        if exc_type is None:
            self._view.release()
        else:
            self._view.rollback()
