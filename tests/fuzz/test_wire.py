"""Fuzzing the P2P frame reader and wire-message decoder ([NET-FRAME.1], [NET-MSG.1]).

Anything a peer (or anyone who reaches the P2P port after TLS) sends passes
through :func:`read_frame` and then :func:`decode_message`. Properties:

* ``read_frame`` on arbitrary bytes returns exactly the announced payload, or
  raises ``FrameTooLarge`` (announced length above the limit, before reading
  it) or ``asyncio.IncompleteReadError`` (the stream ended): nothing else, and
  its memory stays in proportion to the bytes actually sent, never to the
  length a peer announces.
* ``decode_message`` on arbitrary bytes, and on mutations of real messages,
  returns a message whose canonical encoding is exactly those bytes, or raises
  a ``CodecError``: nothing else, and no allocation beyond a small multiple of
  the input.
"""

from __future__ import annotations

import asyncio
import struct
import tracemalloc

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz.conftest import fuzz_settings

from consortia.codec import CodecError, encode
from consortia.network.errors import FrameTooLarge
from consortia.network.framing import MAX_FRAME, encode_frame, read_frame
from consortia.network.messages import (
    BlockRequest,
    SnapshotChunk,
    SnapshotChunkRequest,
    SnapshotOfferRequest,
    TxGossip,
    WireMessage,
    decode_message,
    encode_message,
)

SEED_MESSAGES: list[WireMessage] = [
    TxGossip(txs=(b"\x01\x02", b"")),
    BlockRequest(request_id=7, from_height=1, to_block_id=b"\x11" * 32),
    SnapshotOfferRequest(request_id=2**64 - 1),
    SnapshotChunkRequest(request_id=1, version=3, start=b"k", limit=4096),
    SnapshotChunk(request_id=1, version=3, entries=((b"k", b"v"),), next_start=None),
]
"""Real messages whose bytes the mutation fuzzer starts from (every tag below is tried too)."""

ALLOCATION_SLACK = 256 * 1024
"""Fixed allowance on top of the input size for the decoder's own bookkeeping."""


def _run_read_frame(stream: bytes, limit: int) -> bytes:
    async def read() -> bytes:
        reader = asyncio.StreamReader()
        reader.feed_data(stream)
        reader.feed_eof()
        return await read_frame(reader, limit)

    return asyncio.run(read())


# Headers are drawn on their own so announced lengths near the limits, and far
# beyond what follows them, come up often.
_announced = st.one_of(
    st.integers(0, 64),
    st.integers(0, 2**32 - 1),
    st.sampled_from([MAX_FRAME - 1, MAX_FRAME, MAX_FRAME + 1, 2**32 - 1, 4095, 4096, 4097]),
)


@fuzz_settings(300)
@given(
    announced=_announced,
    body=st.binary(max_size=512),
    limit=st.sampled_from([4096, MAX_FRAME]),
    raw_header=st.booleans(),
    garbage=st.binary(max_size=8),
)
def test_read_frame_on_arbitrary_streams(
    announced: int, body: bytes, limit: int, raw_header: bool, garbage: bytes
) -> None:
    """A frame is the announced bytes, or one of the two documented errors, in bounded memory."""
    stream = garbage if raw_header else struct.pack(">I", announced) + body
    tracemalloc.start()
    try:
        payload = _run_read_frame(stream, limit)
    except FrameTooLarge:
        assert struct.unpack(">I", stream[:4])[0] > limit
        return
    except asyncio.IncompleteReadError:
        return
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak <= ALLOCATION_SLACK + 4 * len(stream), f"peak {peak} for {len(stream)} bytes"
    assert len(stream) >= 4
    (length,) = struct.unpack(">I", stream[:4])
    assert length <= limit and payload == stream[4 : 4 + length]


@fuzz_settings(100)
@given(payload=st.binary(max_size=2048))
def test_frames_round_trip(payload: bytes) -> None:
    """What ``encode_frame`` writes, ``read_frame`` gives back, whatever follows it."""
    assert _run_read_frame(encode_frame(payload) + b"\x00\x00", MAX_FRAME) == payload


def _check_decode(data: bytes) -> None:
    """The decoder's contract on one input: a canonical message or a CodecError, bounded memory."""
    tracemalloc.start()
    try:
        message = decode_message(data)
    except CodecError:
        return
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak <= ALLOCATION_SLACK + 16 * len(data), f"peak {peak} for {len(data)} bytes"
    assert encode_message(message) == data


@fuzz_settings(400)
@given(data=st.binary(max_size=4096))
def test_decode_message_on_arbitrary_bytes(data: bytes) -> None:
    _check_decode(data)


_msgpack_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.binary(max_size=64),
    st.text(max_size=16),
    st.floats(allow_nan=False),
)


def _containers(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    # A named function, not a lambda: hypothesis checks that ``extend`` uses its
    # argument by reading its source, which for lambdas fails now and then.
    return st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=4), inner)


_msgpack_value = st.recursive(_msgpack_leaf, _containers, max_leaves=10)


@fuzz_settings(150)
@given(tag=st.integers(0, 14), fields=st.lists(_msgpack_value, max_size=6))
def test_decode_message_on_tagged_arrays(tag: int, fields: list[object]) -> None:
    """Well-formed MessagePack with a (mostly) known tag and arbitrary fields gets deep into
    each message's shape checks, where random bytes rarely reach."""
    _check_decode(msgspec.msgpack.encode([tag, *fields]))


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(encode(draw(st.sampled_from(SEED_MESSAGES))))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "set"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[at : at + draw(st.integers(1, 8))]
        elif kind == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xC0, 0xC4, 0xCF, 0xDC, 0xDD, 0xFF]))
    return bytes(data)


@fuzz_settings(400)
@given(data=_mutated())
def test_decode_message_on_mutated_messages(data: bytes) -> None:
    _check_decode(data)


@fuzz_settings(50)
@given(count=st.sampled_from([2**16, 2**31, 2**32 - 1]), prefix=st.sampled_from([0xDD, 0xC6]))
def test_decode_message_does_not_trust_announced_lengths(count: int, prefix: int) -> None:
    """An array or bin header announcing billions of items, followed by almost nothing, is
    refused without allocating for the announced size."""
    _check_decode(bytes([0x92, 0x08, prefix]) + count.to_bytes(4, "big"))


def test_seed_messages_round_trip() -> None:
    """The mutation fuzzer's seeds are real, decodable messages (else it fuzzes nothing)."""
    for message in SEED_MESSAGES:
        assert decode_message(encode_message(message)) == message


def _nested(depth: int, kind: str) -> bytes:
    """``depth`` levels of one-element arrays or one-key maps around nil."""
    return (b"\x91" if kind == "array" else b"\x81\xa1a") * depth + b"\xc0"


@pytest.mark.parametrize("kind", ["array", "map"])
@pytest.mark.parametrize(
    "template",
    [
        b"%s",  # the whole message
        b"\x92%s",  # where the tag belongs
        b"\x92\x08\x91%s",  # inside TxGossip's tuple of bytes
        b"\x93\x08\x90%s",  # one field too many, which a decoder might skip over
        b"\x94\x01\x90\x90%s",  # the same after a Hello's first fields
        b"\x95\x0c\x01\x02\x90%s",  # SnapshotChunk's next_start
    ],
)
def test_decode_message_on_deep_nesting(template: bytes, kind: str) -> None:
    """Nesting far beyond the recursion limit (a decoder skipping unknown content recurses
    too) is a CodecError, not a RecursionError or a crash."""
    _check_decode(template % _nested(100_000, kind))
