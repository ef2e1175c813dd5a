"""Durable consensus data: safety data, pending blocks and the highest certificates.

Kept in its own LMDB environment (``consensus.lmdb`` in the node home) so the
event loop never waits on the executor's long ledger transactions, and synced
on every write: a validator restarted at any instant keeps its safety data and
the uncommitted blocks and QCs it voted on ([CONS-STORE.1]).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import lmdb

from consortia.codec import decode, encode
from consortia.consensus.safety import SafetyData
from consortia.consensus.types import TimeoutCert
from consortia.ledger.types import Block, QuorumCert

_SAFETY: Final = b"safety"
_HIGHEST_QC: Final = b"highest_qc"
_HIGHEST_TC: Final = b"highest_tc"


class ConsensusStorage:
    """Consensus data in a dedicated, always-synced LMDB environment."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._env = lmdb.open(str(path), max_dbs=4, map_size=1 << 32, sync=True, metasync=True)
        self._meta = self._env.open_db(b"consensus.meta")
        self._blocks = self._env.open_db(b"consensus.blocks")

    def close(self) -> None:
        """Close the environment (idempotent)."""
        self._env.close()

    def _get(self, key: bytes) -> bytes | None:
        with self._env.begin(db=self._meta) as txn:
            value = txn.get(key)
        return None if value is None else bytes(value)

    def _put(self, key: bytes, value: bytes) -> None:
        with self._env.begin(write=True, db=self._meta) as txn:
            txn.put(key, value)

    def load_safety(self) -> SafetyData | None:
        """Stored safety data, if any."""
        raw = self._get(_SAFETY)
        return None if raw is None else decode(raw, SafetyData)

    def save_safety(self, data: SafetyData) -> None:
        """Persist safety data (synced)."""
        self._put(_SAFETY, encode(data))

    def save_block(self, block_id: bytes, block: Block, qc: QuorumCert) -> None:
        """Persist a pending block and the highest QC in one synced transaction."""
        with self._env.begin(write=True) as txn:
            txn.put(block_id, encode(block), db=self._blocks)
            txn.put(_HIGHEST_QC, encode(qc), db=self._meta)

    def save_highest_qc(self, qc: QuorumCert) -> None:
        """Persist the highest QC seen."""
        self._put(_HIGHEST_QC, encode(qc))

    def save_highest_tc(self, tc: TimeoutCert) -> None:
        """Persist the highest TC seen."""
        self._put(_HIGHEST_TC, encode(tc))

    def load(self) -> tuple[list[Block], QuorumCert | None, TimeoutCert | None]:
        """Pending blocks (any order) and the highest QC and TC."""
        with self._env.begin() as txn:
            blocks = [decode(bytes(v), Block) for _, v in txn.cursor(db=self._blocks)]
            qc_raw = txn.get(_HIGHEST_QC, db=self._meta)
            tc_raw = txn.get(_HIGHEST_TC, db=self._meta)
        qc = None if qc_raw is None else decode(bytes(qc_raw), QuorumCert)
        tc = None if tc_raw is None else decode(bytes(tc_raw), TimeoutCert)
        return blocks, qc, tc

    def reset(self) -> None:
        """Forget pending blocks and certificates (a new epoch starts); keep safety data."""
        with self._env.begin(write=True) as txn:
            txn.drop(self._env.open_db(b"consensus.blocks", txn=txn), delete=False)
            txn.delete(_HIGHEST_QC, db=self._meta)
            txn.delete(_HIGHEST_TC, db=self._meta)

    def prune_blocks(self, block_ids: list[bytes]) -> None:
        """Forget pending blocks that are now committed in the ledger or abandoned."""
        if not block_ids:
            return
        with self._env.begin(write=True, db=self._blocks) as txn:
            for block_id in block_ids:
                txn.delete(block_id)
