"""Fuzzing the export reader ([VERIFY-EXPORT.2]): whole or not at all, and nothing but its errors.

The input is a real export of a small certified chain (written by
``write_export``) and arbitrary bytes. Properties of ``load_export``, the
reader's whole-input entry point:

* any input gives an :class:`Export` or raises :class:`ExportError`, never
  another exception, and memory stays in proportion to the input, whatever
  lengths its frames announce;
* every proper prefix of a real export (a truncation anywhere, at a frame
  boundary or not) and every export with a frame dropped is refused;
* a mutated export that still reads must decode to records whose canonical
  bytes are exactly the input (the reader adds or drops nothing).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz.conftest import fuzz_settings
from tests.verify.chain import FRAME_LENGTH, ChainBuilder, export_frames

from consortia.codec import encode
from consortia.verify.errors import ExportError
from consortia.verify.export import Export, load_export, write_export
from consortia.verify.verifier import verify_export

ALLOCATION_SLACK = 512 * 1024
"""Fixed allowance on top of the input size for the reader's own bookkeeping."""


@pytest.fixture(scope="module")
def export_bytes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bytes]:
    """A real three-block export of a one-validator chain."""
    tmp = tmp_path_factory.mktemp("export")
    chain = ChainBuilder(tmp, validators=1)
    chain.add()
    chain.add()
    ledger = Path(chain.env.path())
    chain.close()
    path = tmp / "chain.export"
    write_export(ledger, chain.genesis, path)
    yield path.read_bytes()


def _load(data: bytes) -> Export | None:
    """``load_export`` under its contract: an Export or an ExportError (None), bounded memory."""
    tracemalloc.start()
    try:
        return load_export(data)
    except ExportError:
        return None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak <= ALLOCATION_SLACK + 8 * len(data), f"peak {peak} for {len(data)} bytes"


def _reencode(export: Export) -> bytes:
    records = [export.header, *export.blocks, export.trailer]
    return b"".join(FRAME_LENGTH.pack(len(e)) + e for e in map(encode, records))


def test_the_real_export_loads(export_bytes: bytes) -> None:
    """The seed is a whole export (else the mutation fuzzers below test nothing)."""
    export = load_export(export_bytes)
    assert len(export.blocks) == export.header.blocks == export.trailer.blocks == 3
    assert _reencode(export) == export_bytes
    assert len(export_frames(export_bytes)) == 5


def test_every_prefix_is_refused(export_bytes: bytes) -> None:
    """Issue #16, Found 5: an export cut at a frame boundary verified. Every cut is refused."""
    for cut in range(len(export_bytes)):
        assert _load(export_bytes[:cut]) is None, f"a prefix of {cut} bytes loaded"


def test_every_dropped_frame_is_refused(export_bytes: bytes) -> None:
    frames = export_frames(export_bytes)
    for i in range(len(frames)):
        assert _load(b"".join(frames[:i] + frames[i + 1 :])) is None, f"frame {i} dropped"


@fuzz_settings(300)
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes(data: bytes) -> None:
    _load(data)


@fuzz_settings(100)
@given(
    announced=st.one_of(st.integers(0, 2**32 - 1), st.sampled_from([2**32 - 1, 2**26, 2**24])),
    rest=st.binary(max_size=64),
    frames_before=st.integers(0, 4),
)
def test_announced_lengths_cost_no_memory(
    export_bytes: bytes, announced: int, rest: bytes, frames_before: int
) -> None:
    """A frame that announces up to 4 GiB after a few real frames costs only the bytes present."""
    head = b"".join(export_frames(export_bytes)[:frames_before])
    _load(head + FRAME_LENGTH.pack(announced) + rest)


@st.composite
def _mutations(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data) - 1)) if data else 0
        kind = draw(st.sampled_from(["flip", "insert", "delete", "set", "swap_frames"]))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "swap_frames":
            frames = export_frames(seed)
            i, j = draw(st.integers(1, len(frames) - 1)), draw(st.integers(1, len(frames) - 1))
            frames[i], frames[j] = frames[j], frames[i]
            data = bytearray(b"".join(frames))
    return bytes(data)


@fuzz_settings(300)
@given(data=st.data())
def test_mutated_exports(export_bytes: bytes, data: st.DataObject) -> None:
    mutated = data.draw(_mutations(export_bytes))
    export = _load(mutated)
    if export is not None:
        assert _reencode(export) == mutated, "the reader accepted bytes it does not account for"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("verify") / "candidate.export"


def test_the_real_export_verifies(export_bytes: bytes, scratch: Path) -> None:
    scratch.write_bytes(export_bytes)
    report = verify_export(scratch)
    assert report.ok, report.problem


@fuzz_settings(80)
@given(data=st.data())
def test_no_mutated_export_verifies(
    export_bytes: bytes, scratch: Path, data: st.DataObject
) -> None:
    """End to end through ``verify_export``: any change to the file makes it fail, with a
    report (never an exception)."""
    mutated = data.draw(_mutations(export_bytes))
    scratch.write_bytes(mutated)
    report = verify_export(scratch)
    assert report.ok == (mutated == export_bytes), (report.problem, mutated.hex())


@pytest.mark.parametrize("position", [0, 1, 4])
@pytest.mark.parametrize("prefix", [b"\x91", b"\x92\xb3consortia-export/v2", b"\x93\xa3end"])
def test_deeply_nested_records(export_bytes: bytes, position: int, prefix: bytes) -> None:
    """A record nested 100,000 deep, as the header, a block or the trailer, is an ExportError
    (msgspec recurses while skipping what a probe does not read)."""
    frames = export_frames(export_bytes)
    record = prefix + b"\x91" * 100_000 + b"\xc0"
    frames[position] = FRAME_LENGTH.pack(len(record)) + record
    assert _load(b"".join(frames)) is None
