"""Nodes a state tree keeps decoded and hashed between versions (``NodeCache``).

Consecutive blocks mostly rewrite the same hot paths of the Jellyfish Merkle
Tree (Gao et al. 2021, §3): senders, hot contracts. Keeping what one version
wrote saves the next a read, a decode and most of a node's hashes.
"""

from __future__ import annotations

from typing import Final

from consortia.state._node_codec import Slots
from consortia.state._node_hash import Levels

__all__ = ["NODE_CACHE_SIZE", "NodeCache"]

NODE_CACHE_SIZE: Final = 16_384
"""Decoded nodes a tree keeps between versions by default (about 3 KiB each)."""


class NodeCache:
    """Decoded nodes and their binary trees by child pointer (``node_hash || version``).

    Kept by a tree between versions, so the nodes a block rewrote are neither
    read nor hashed again in full by the next block that updates them: the
    hot paths of a large state stay decoded, and a changed slot rehashes 4
    entries of its node instead of up to 15. A pointer names one content (its
    hash), so no entry is ever stale: not after an aborted write transaction,
    and not after ``prune`` (updates start from the latest root, whose nodes
    pruning keeps). Entries are dropped oldest first past ``limit``, and as
    soon as the node they hold is replaced.
    """

    __slots__ = ("_entries", "_limit")

    def __init__(self, limit: int) -> None:
        self._entries: dict[bytes, tuple[Slots, Levels]] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, pointer: bytes) -> tuple[Slots, Levels] | None:
        """The node under ``pointer``; callers must not change its slots."""
        return self._entries.get(pointer)

    def put(self, pointer: bytes, slots: Slots, levels: Levels) -> None:
        """Remember a node just written (its slots are no longer changed)."""
        entries = self._entries
        if len(entries) >= self._limit:
            del entries[next(iter(entries))]
        entries[pointer] = (slots, levels)

    def drop(self, pointer: bytes) -> None:
        """Forget a node the latest version replaced."""
        self._entries.pop(pointer, None)
