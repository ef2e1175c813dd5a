"""Chain export files: the genesis, every committed block with its certificate, a trailer.

Format ([VERIFY-EXPORT.2]): a sequence of frames, each a 4-byte big-endian
length and the canonical bytes of one record:

1. an :class:`ExportHeader` (format ``consortia-export/v2``, the genesis, the
   block count ``n`` >= 1 and the epoch starts);
2. ``n`` :class:`ExportedBlock` records, in height order from 0;
3. one :class:`ExportTrailer`: the block count again and the id of the last
   block;

and nothing after it. Blocks and the trailer are tagged records (the tag is
the first array element), so a trailer where a block was due, or a block
where the trailer was due, is named as such. A file that ends anywhere before
the trailer (at a frame boundary or inside one), whose counts disagree, or
whose trailer names another last block is refused: an export verifies whole
or not at all. Frame lengths are bounded per record kind
(:data:`MAX_HEADER_RECORD`, :data:`MAX_BLOCK_RECORD`,
:data:`MAX_TRAILER_RECORD`) and a frame is read in chunks, so a forged length
costs no more memory than the bytes actually present.

The ``consortia-export/v1`` format had no trailer and is refused with
:class:`ExportVersionUnsupported`.

:func:`load_export` is the reader's whole-input entry point (for tests and
fuzzers): it takes bytes or a binary file and raises only
:class:`~consortia.verify.errors.ExportError`.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

import lmdb
import msgspec

from consortia.codec import U64, Canonical, CodecError, Hash32, decode, encode
from consortia.crypto import CryptoError, get_suite
from consortia.genesis import Genesis
from consortia.ledger.errors import BlockNotFound
from consortia.ledger.store import BlockStore
from consortia.ledger.types import Block, EpochStart, Hasher, QuorumCert, block_id
from consortia.verify.errors import (
    ExportError,
    ExportIncomplete,
    ExportMalformed,
    ExportTrailerMismatch,
    ExportVersionUnsupported,
)

MAGIC: Final = "consortia-export/v2"
"""Format name in the header of every export this version writes and reads."""
FORMAT_PREFIX: Final = "consortia-export/"
_LEN: Final = struct.Struct(">I")
MAX_HEADER_RECORD: Final = 256 * 1024 * 1024
"""Largest header frame (the genesis, with its accounts, and every epoch start)."""
MAX_BLOCK_RECORD: Final = 64 * 1024 * 1024
"""Largest block frame: a block (policy cap 8 MiB by default) and its certificate."""
MAX_TRAILER_RECORD: Final = 1024
"""Largest trailer frame (it holds a count and one id)."""
_CHUNK: Final = 1024 * 1024


class ExportHeader(Canonical, frozen=True):
    """First record: format name, genesis and block count."""

    format: str
    """:data:`MAGIC`; an older name is refused with a precise message."""
    genesis: Genesis
    blocks: U64
    """How many block records follow (at least 1: the genesis block)."""
    epochs: tuple[EpochStart, ...] = ()
    """Every epoch after the first, with the commit proof of its root."""


class ExportedBlock(Canonical, frozen=True, tag="block"):
    """A committed block and the QC that certifies it (None only for the genesis block)."""

    block: Block
    certificate: QuorumCert | None


class ExportTrailer(Canonical, frozen=True, tag="end"):
    """Last record: proves the file was written to its end."""

    blocks: U64
    """The number of block records, equal to the header's."""
    last_id: Hash32
    """The id of the last block record."""


class _FormatProbe(msgspec.Struct, array_like=True):
    """Only the first field of a header of any version."""

    format: str


_RECORD: Final = msgspec.msgpack.Decoder(ExportedBlock | ExportTrailer)
_UNDECODABLE: Final = (
    msgspec.DecodeError,
    msgspec.ValidationError,
    UnicodeDecodeError,  # msgspec raises it bare for invalid UTF-8 in a str
    RecursionError,  # msgspec's depth limit, hit when skipping deeply nested arrays
)


@dataclass(frozen=True)
class Export:
    """A whole export, read and checked to its trailer."""

    header: ExportHeader
    blocks: tuple[ExportedBlock, ...]
    trailer: ExportTrailer


def _frame(record: object) -> bytes:
    data = encode(record)
    return _LEN.pack(len(data)) + data


def write_export(ledger_dir: Path, genesis: Genesis, out_path: Path) -> int:
    """Export the committed chain of a node's ledger; returns the number of blocks.

    The file is written beside ``out_path`` and renamed into place once the
    trailer is on disk, so a crash never leaves a half-written export under
    that name.

    Raises:
        BlockNotFound: the ledger holds no block.
    """
    env = lmdb.open(str(ledger_dir), max_dbs=32, readonly=True)
    hash_fn = get_suite(genesis.suite).hash
    partial = out_path.with_name(out_path.name + ".partial")
    try:
        store = BlockStore(env)
        with env.begin() as txn:
            top = store.latest_height(txn)
            if top is None:
                raise BlockNotFound(f"the ledger in {ledger_dir} holds no block to export")
            latest = store.latest_epoch(txn).epoch
            epochs = tuple(
                start for n in range(1, latest + 1) if (start := store.epoch(txn, n)) is not None
            )
            header = ExportHeader(format=MAGIC, genesis=genesis, blocks=top + 1, epochs=epochs)
            last_id = b""
            with partial.open("wb") as out:
                out.write(_frame(header))
                for height in range(top + 1):
                    block = store.block_by_height(txn, height)
                    certificate = store.certificate(txn, height)
                    out.write(_frame(ExportedBlock(block=block, certificate=certificate)))
                    last_id = block_id(hash_fn, block.header)
                out.write(_frame(ExportTrailer(blocks=top + 1, last_id=last_id)))
                out.flush()
                os.fsync(out.fileno())
        partial.replace(out_path)
        return top + 1
    finally:
        partial.unlink(missing_ok=True)
        env.close()


class ExportReader:
    """Streams one export: the header on construction, then blocks, then the trailer.

    Blocks are yielded one at a time (an export may be larger than memory);
    the trailer is checked when the last block has been consumed, so an
    iteration that ends without an exception has seen the whole file.
    """

    def __init__(self, stream: BinaryIO) -> None:
        """Read and check the header.

        Raises:
            ExportIncomplete: the stream is empty or the header declares no block.
            ExportVersionUnsupported: another export format (e.g. v1).
            ExportMalformed: not a Consortia export, or a header that does not decode.
        """
        self._stream = stream
        self._offset = 0
        self.trailer: ExportTrailer | None = None
        """The trailer, once :meth:`blocks` has run to its end."""
        first = self._read_frame(MAX_HEADER_RECORD, "header", None)
        if first is None:
            raise ExportIncomplete("the export is empty: no header")
        self.header = _decode_header(first)
        if self.header.blocks == 0:
            raise ExportIncomplete(
                "the header declares 0 blocks; an export holds at least the genesis block"
            )
        try:
            self._hash: Hasher = get_suite(self.header.genesis.suite).hash
        except CryptoError as exc:
            raise ExportMalformed(f"the header's genesis: {exc.message}") from None

    def _read_exact(self, length: int) -> bytes:
        """Up to ``length`` bytes, read in chunks so memory follows the bytes present."""
        if length <= _CHUNK:
            return self._stream.read(length)
        parts: list[bytes] = []
        remaining = length
        while remaining:
            part = self._stream.read(min(remaining, _CHUNK))
            if not part:
                break
            parts.append(part)
            remaining -= len(part)
        return b"".join(parts)

    def _read_frame(self, limit: int, what: str, height: int | None) -> bytes | None:
        """The next frame's payload, or None at a clean end of the stream."""
        start = self._offset
        head = self._read_exact(_LEN.size)
        if not head:
            return None
        if len(head) != _LEN.size:
            raise ExportIncomplete(
                f"the export ends inside the length of the {what} record (byte {start})", height
            )
        (length,) = _LEN.unpack(head)
        if length > limit:
            raise ExportMalformed(
                f"the {what} record at byte {start} claims {length} bytes; the limit is {limit}",
                height,
            )
        data = self._read_exact(length)
        self._offset = start + _LEN.size + len(data)
        if len(data) != length:
            raise ExportIncomplete(
                f"the export ends inside the {what} record at byte {start} "
                f"({len(data)} of {length} bytes)",
                height,
            )
        return data

    def _read_record(self, height: int) -> ExportedBlock | ExportTrailer | None:
        data = self._read_frame(MAX_BLOCK_RECORD, f"height {height}", height)
        if data is None:
            return None
        try:
            record: ExportedBlock | ExportTrailer = _RECORD.decode(data)
        except _UNDECODABLE as exc:
            raise ExportMalformed(
                f"the record for height {height} does not decode: {exc}", height
            ) from None
        if encode(record) != data:
            raise ExportMalformed(f"the record for height {height} is not canonical", height)
        return record

    def blocks(self) -> Generator[ExportedBlock, None, None]:
        """Every block record in order; at the end, the trailer and the end of file are checked.

        Raises:
            ExportIncomplete: the file ends before the trailer, or the header,
                the block records and the trailer disagree on the count.
            ExportTrailerMismatch: the trailer names another last block.
            ExportMalformed: a record is too large, does not decode, or bytes
                follow the trailer.
        """
        declared = self.header.blocks
        last_id = b""
        for height in range(declared):
            record = self._read_record(height)
            if record is None:
                raise ExportIncomplete(
                    f"the export ends after {height} of the {declared} blocks its header "
                    "declares, without a trailer (truncated)",
                    height,
                )
            if isinstance(record, ExportTrailer):
                raise ExportIncomplete(
                    f"trailer after {height} blocks, where the header declares {declared}",
                    height,
                )
            last_id = block_id(self._hash, record.block.header)
            yield record
        record = self._read_record(declared)
        if record is None:
            raise ExportIncomplete(
                f"the export ends after its {declared} blocks without a trailer (truncated)",
                declared,
            )
        if isinstance(record, ExportedBlock):
            raise ExportIncomplete(
                f"more block records than the {declared} the header declares", declared
            )
        if record.blocks != declared:
            raise ExportIncomplete(
                f"the trailer counts {record.blocks} blocks; the header and the file hold "
                f"{declared}",
                declared,
            )
        if record.last_id != last_id:
            raise ExportTrailerMismatch(
                f"the trailer names 0x{record.last_id.hex()} as the last block, but block "
                f"{declared - 1} is 0x{last_id.hex()}",
                declared - 1,
            )
        if self._stream.read(1):
            raise ExportMalformed(f"bytes follow the trailer at byte {self._offset}", declared)
        self.trailer = record


def _decode_header(data: bytes) -> ExportHeader:
    try:
        name = msgspec.msgpack.decode(data, type=_FormatProbe).format
    except RecursionError:
        raise ExportMalformed(
            "not a Consortia export: the first record is nested too deeply"
        ) from None
    except _UNDECODABLE:
        raise ExportMalformed("not a Consortia export: the first record names no format") from None
    if name != MAGIC:
        if name.startswith(FORMAT_PREFIX):
            raise ExportVersionUnsupported(
                f"export format {name!r} is not supported; this verifier reads {MAGIC!r} only "
                "(v1 files have no trailer, so a truncated one cannot be told from a whole one): "
                "write a new export with `consortia export`"
            )
        raise ExportMalformed(f"not a Consortia export (format {name[:64]!r})")
    try:
        return decode(data, ExportHeader)
    except RecursionError:
        raise ExportMalformed("the export header is nested too deeply") from None
    except CodecError as exc:
        raise ExportMalformed(f"the export header does not decode: {exc.message}") from None


class ExportBlocks(Iterator[ExportedBlock]):
    """The blocks of an opened export file; closes the file at the end, on error or on close()."""

    def __init__(self, stream: BinaryIO, reader: ExportReader) -> None:
        self._stream = stream
        self._blocks = reader.blocks()

    def __next__(self) -> ExportedBlock:
        try:
            return next(self._blocks)
        except BaseException:  # StopIteration included: the file is done with
            self.close()
            raise

    def close(self) -> None:
        """Stop reading and close the file (idempotent)."""
        self._blocks.close()
        self._stream.close()


def read_export(path: Path) -> tuple[ExportHeader, ExportBlocks]:
    """Open an export file: its header and a lazy iterator of blocks.

    Raises:
        OSError: the file cannot be opened.
        ExportError: from the header now, from the iterator for blocks and the trailer.
    """
    stream = path.open("rb")
    try:
        reader = ExportReader(stream)
    except BaseException:
        stream.close()
        raise
    return reader.header, ExportBlocks(stream, reader)


def load_export(source: bytes | BinaryIO) -> Export:
    """Read a whole export from bytes or a binary file, checked to its trailer and end.

    This is the reader's entry point for fuzzing: for any input it returns an
    :class:`Export` or raises :class:`ExportError`, and its memory is bounded
    by the input's size (frame lengths are capped and read in chunks).

    Raises:
        ExportError: the input is not one whole, well-formed export.
    """
    stream: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else source
    reader = ExportReader(stream)
    blocks = tuple(reader.blocks())
    assert reader.trailer is not None
    return Export(header=reader.header, blocks=blocks, trailer=reader.trailer)


__all__ = [
    "MAGIC",
    "Export",
    "ExportBlocks",
    "ExportError",
    "ExportHeader",
    "ExportReader",
    "ExportTrailer",
    "ExportedBlock",
    "load_export",
    "read_export",
    "write_export",
]
