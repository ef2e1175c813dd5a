"""The admission journal: client transactions a node acknowledged, kept across a crash.

[MEMPOOL-JOURNAL.1] in docs/spec/mempool.md. Before a node answers 202 it
appends each client transaction it admitted to a file (a 4-byte big-endian
length, then the canonical transaction). On start it reads the file and
offers every record to the pool again, as a client submission: still-valid
ones are admitted and gossiped, committed ones are refused as stale. The
file is rewritten with only the transactions still pending whenever it grows
past twice their size, so committed ones leave it.

The append is one ``write`` to the operating system, not an ``fsync``: it
survives the node's process being killed (SIGKILL, a crash), not the machine
losing power.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType

_LENGTH = 4
Pending = Callable[[Iterable[bytes]], Iterable[tuple[bytes, bytes]]]
"""Maps journaled ids to ``(tx_id, raw)`` of those still pending."""
COMPACT_FLOOR_BYTES = 4 * 1024 * 1024
"""The file is not rewritten below this size (a rewrite is then cheaper than it saves)."""


class JournalState(enum.Enum):
    """Lifetime of a :class:`MempoolJournal`."""

    OPEN = "open"
    CLOSED = "closed"


class MempoolJournal:
    """An append-only file of admitted client transactions, compacted against the pool."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size
        self._compact_at = max(COMPACT_FLOOR_BYTES, 2 * self._size)
        self._ids: set[bytes] = set()
        """Ids appended since the last rewrite (those the file may hold)."""
        self.state = JournalState.OPEN

    def __enter__(self) -> MempoolJournal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def size_bytes(self) -> int:
        """Bytes in the file."""
        return self._size

    def records(self) -> list[bytes]:
        """Every complete record in the file (a record cut short by a crash is skipped)."""
        data = self.path.read_bytes()
        return list(_split(data))

    def append(self, items: Iterable[tuple[bytes, bytes]], pending: Pending) -> None:
        """Append ``(tx_id, raw)`` items in one write; rewrite the file if it grew too large.

        ``pending`` maps the journaled ids to the ``(tx_id, raw)`` of those still in
        the pool (called only for a rewrite).
        """
        assert self.state is JournalState.OPEN, "journal is closed"
        chunks: list[bytes] = []
        for identifier, raw in items:
            self._ids.add(identifier)
            chunks += (len(raw).to_bytes(_LENGTH, "big"), raw)
        data = b"".join(chunks)
        if not data:
            return
        _write_all(self._fd, data)
        self._size += len(data)
        if self._size > self._compact_at:
            self.rewrite(pending(self._ids))

    def journaled(self) -> frozenset[bytes]:
        """Ids of the records written since the node started (the file may hold them)."""
        return frozenset(self._ids)

    def rewrite(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        """Replace the file by these ``(tx_id, raw)`` records (a new file renamed over it)."""
        assert self.state is JournalState.OPEN, "journal is closed"
        kept = list(items)
        data = b"".join(len(raw).to_bytes(_LENGTH, "big") + raw for _, raw in kept)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_bytes(data)
        os.replace(temporary, self.path)
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._size = len(data)
        self._compact_at = max(COMPACT_FLOOR_BYTES, 2 * self._size)
        self._ids = {identifier for identifier, _ in kept}

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self.state is JournalState.CLOSED:
            return
        self.state = JournalState.CLOSED
        os.close(self._fd)


def _split(data: bytes) -> Iterator[bytes]:
    offset = 0
    while offset + _LENGTH <= len(data):
        length = int.from_bytes(data[offset : offset + _LENGTH], "big")
        end = offset + _LENGTH + length
        if end > len(data):
            return
        yield data[offset + _LENGTH : end]
        offset = end


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


__all__ = ["COMPACT_FLOOR_BYTES", "JournalState", "MempoolJournal"]
