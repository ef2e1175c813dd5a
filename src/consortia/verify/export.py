"""Chain export files: the genesis and every committed block with its certificate.

Format ([VERIFY-EXPORT.1]): a sequence of frames, each a 4-byte big-endian
length and the canonical bytes of one record. The first record is an
:class:`ExportHeader`; every following one an :class:`ExportedBlock`, in
height order from 0.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

import lmdb

from consortia.codec import U64, Canonical, decode, encode
from consortia.genesis import Genesis
from consortia.ledger.store import BlockStore
from consortia.ledger.types import Block, EpochStart, QuorumCert

MAGIC: Final = "consortia-export/v1"
_LEN: Final = struct.Struct(">I")
MAX_RECORD: Final = 64 * 1024 * 1024


class ExportHeader(Canonical, frozen=True):
    """First record: format name, genesis and block count."""

    format: str
    genesis: Genesis
    blocks: U64
    epochs: tuple[EpochStart, ...] = ()
    """Every epoch after the first, with the commit proof of its root."""


class ExportedBlock(Canonical, frozen=True):
    """A committed block and the QC that certifies it."""

    block: Block
    certificate: QuorumCert | None


def _write(out: BinaryIO, record: object) -> None:
    data = encode(record)
    out.write(_LEN.pack(len(data)) + data)


def write_export(ledger_dir: Path, genesis: Genesis, out_path: Path) -> int:
    """Export the committed chain of a node's ledger; returns the number of blocks."""
    env = lmdb.open(str(ledger_dir), max_dbs=32, readonly=True)
    try:
        store = BlockStore(env)
        with env.begin() as txn:
            top = store.latest_height(txn)
            assert top is not None
            latest = store.latest_epoch(txn).epoch
            epochs = tuple(
                start for n in range(1, latest + 1) if (start := store.epoch(txn, n)) is not None
            )
            with out_path.open("wb") as out:
                _write(
                    out,
                    ExportHeader(format=MAGIC, genesis=genesis, blocks=top + 1, epochs=epochs),
                )
                for height in range(top + 1):
                    _write(
                        out,
                        ExportedBlock(
                            block=store.block_by_height(txn, height),
                            certificate=store.certificate(txn, height),
                        ),
                    )
        return top + 1
    finally:
        env.close()


def _frames(stream: BinaryIO) -> Iterator[bytes]:
    while True:
        head = stream.read(_LEN.size)
        if not head:
            return
        if len(head) != _LEN.size:
            raise ValueError("export file ends inside a record length")
        (length,) = _LEN.unpack(head)
        if length > MAX_RECORD:
            raise ValueError(f"export record of {length} bytes exceeds {MAX_RECORD}")
        data = stream.read(length)
        if len(data) != length:
            raise ValueError("export file ends inside a record")
        yield data


def read_export(path: Path) -> tuple[ExportHeader, Iterator[ExportedBlock]]:
    """Open an export file: its header and a lazy iterator of blocks.

    Raises:
        ValueError: truncated file or wrong format.
        CodecError: a record is not canonical.
    """
    stream = path.open("rb")
    frames = _frames(stream)
    first = next(frames, None)
    if first is None:
        raise ValueError(f"{path} is empty")
    header = decode(first, ExportHeader)
    if header.format != MAGIC:
        raise ValueError(f"{path} is not a Consortia export ({header.format!r})")

    def blocks() -> Iterator[ExportedBlock]:
        with stream:
            for data in frames:
                yield decode(data, ExportedBlock)

    return header, blocks()
