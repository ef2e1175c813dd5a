"""Canonical encoding rules ([ENC-*] in docs/spec/encoding.md)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from consortia.codec import (
    U64,
    U64_MAX,
    Address,
    Canonical,
    CodecError,
    Hash32,
    MalformedEncoding,
    Name,
    NonCanonicalEncoding,
    decode,
    encode,
    signing_bytes,
)

from .strategies import address, hash32, names, u64


class Inner(Canonical, frozen=True):
    a: U64
    b: bytes


class AllKinds(Canonical, frozen=True):
    """One field of every kind a Canonical struct may hold."""

    n: U64
    raw: bytes
    text: str
    name: Name
    digest: Hash32
    addr: Address
    numbers: tuple[U64, ...]
    blobs: tuple[bytes, ...]
    pair: tuple[U64, str]
    inner: Inner
    inners: tuple[Inner, ...]


class Small(Canonical, frozen=True):
    a: U64
    b: bytes
    c: str


inners = st.builds(Inner, a=u64, b=st.binary(max_size=40))
all_kinds = st.builds(
    AllKinds,
    n=u64,
    raw=st.binary(max_size=300),
    text=st.text(max_size=300),
    name=names,
    digest=hash32,
    addr=address,
    numbers=st.lists(u64, max_size=20).map(tuple),
    blobs=st.lists(st.binary(max_size=20), max_size=20).map(tuple),
    pair=st.tuples(u64, st.text(max_size=10)),
    inner=inners,
    inners=st.lists(inners, max_size=5).map(tuple),
)

SMALL = Small(a=1, b=b"x", c="ab")
SMALL_HEX = "9301c4 01 78a2 61 62"


def hx(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def test_enc_struct_is_array_of_fields_in_order() -> None:
    """[ENC-STRUCT.1] a struct is a MessagePack array of its fields in declaration order."""
    assert encode(SMALL) == hx(SMALL_HEX)
    assert decode(hx(SMALL_HEX), Small) == SMALL


@given(all_kinds)
def test_enc_round_trip_every_field_kind(value: AllKinds) -> None:
    data = encode(value)
    assert decode(data, AllKinds) == value
    assert encode(decode(data, AllKinds)) == data


@given(all_kinds)
def test_enc_decode_accepts_any_bytes_like(value: AllKinds) -> None:
    data = encode(value)
    assert decode(bytearray(data), AllKinds) == value  # type: ignore[arg-type]
    assert decode(memoryview(data), AllKinds) == value  # type: ignore[arg-type]


def test_enc_decode_rejects_non_bytes() -> None:
    with pytest.raises(MalformedEncoding):
        decode(SMALL_HEX, Small)  # type: ignore[arg-type]


def _uint_encodings(value: int) -> list[bytes]:
    """Every MessagePack encoding of a non-negative integer (unsigned and signed forms)."""
    forms = []
    if value < 0x80:
        forms.append(bytes([value]))
    for tag, fmt, limit in [(0xCC, ">B", 2**8), (0xCD, ">H", 2**16), (0xCE, ">I", 2**32)]:
        if value < limit:
            forms.append(bytes([tag]) + struct.pack(fmt, value))
    forms.append(b"\xcf" + struct.pack(">Q", value))
    for tag, fmt, limit in [
        (0xD0, ">b", 2**7),
        (0xD1, ">h", 2**15),
        (0xD2, ">i", 2**31),
        (0xD3, ">q", 2**63),
    ]:
        if value < limit:
            forms.append(bytes([tag]) + struct.pack(fmt, value))
    return forms


@given(u64)
@example(0)
@example(127)
@example(128)
@example(255)
@example(256)
@example(U64_MAX)
def test_enc_int_only_shortest_unsigned_form(value: int) -> None:
    """[ENC-INT.1] exactly one of the integer's encodings decodes: the shortest unsigned one."""
    canonical = encode(value)
    forms = _uint_encodings(value)
    assert canonical in forms
    for form in forms:
        data = b"\x93" + form + hx("c4 01 78 a2 61 62")
        if form == canonical:
            assert decode(data, Small).a == value
        else:
            with pytest.raises(NonCanonicalEncoding) as info:
                decode(data, Small)
            assert info.value.code == "CODEC_NON_CANONICAL"


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        # [ENC-INT.1] non-minimal integer forms
        ("uint8 for fixint", "93 cc01 c40178 a26162", NonCanonicalEncoding),
        ("uint64 for fixint", "93 cf0000000000000001 c40178 a26162", NonCanonicalEncoding),
        ("int8 for fixint", "93 d001 c40178 a26162", NonCanonicalEncoding),
        ("negative int", "93 ff c40178 a26162", MalformedEncoding),
        ("float for int", "93 ca3f800000 c40178 a26162", MalformedEncoding),
        ("bool for int", "93 c3 c40178 a26162", MalformedEncoding),
        ("nil for int", "93 c0 c40178 a26162", MalformedEncoding),
        # [ENC-BYTES.1] shortest bin header; bin, never str
        ("bin16 for short bytes", "93 01 c5000178 a26162", NonCanonicalEncoding),
        ("bin32 for short bytes", "93 01 c60000000178 a26162", NonCanonicalEncoding),
        ("str for bytes", "93 01 a178 a26162", MalformedEncoding),
        ("ext for bytes", "93 01 d40178 a26162", MalformedEncoding),
        # [ENC-STR.1] shortest str header, valid UTF-8, never bin
        ("str8 for fixstr", "93 01 c40178 d9026162", NonCanonicalEncoding),
        ("str16 for fixstr", "93 01 c40178 da00026162", NonCanonicalEncoding),
        ("bin for str", "93 01 c40178 c4026162", MalformedEncoding),
        ("invalid utf-8", "93 01 c40178 a2ff61", MalformedEncoding),
        ("overlong utf-8", "93 01 c40178 a2c0af", MalformedEncoding),
        ("utf-16 surrogate", "93 01 c40178 a3eda080", MalformedEncoding),
        # [ENC-STRUCT.1] arrays with exactly the fields, shortest header, never maps
        ("array16 header", "dc0003 01 c40178 a26162", NonCanonicalEncoding),
        ("array32 header", "dd00000003 01 c40178 a26162", NonCanonicalEncoding),
        ("map instead of array", "83 a161 01 a162 c40178 a163 a26162", MalformedEncoding),
        ("extra element", "94 01 c40178 a26162 01", MalformedEncoding),
        ("extra nil element", "94 01 c40178 a26162 c0", MalformedEncoding),
        ("missing element", "92 01 c40178", MalformedEncoding),
        ("empty array", "90", MalformedEncoding),
        # [ENC-TRAIL.1] one value, nothing after it
        ("trailing byte", SMALL_HEX + "00", MalformedEncoding),
        ("trailing value", SMALL_HEX + SMALL_HEX, MalformedEncoding),
        ("truncated", SMALL_HEX[:-3], MalformedEncoding),
        ("empty input", "", MalformedEncoding),
    ],
)
def test_enc_rejects_variant(name: str, data: str, error: type[CodecError]) -> None:
    with pytest.raises(error) as info:
        decode(hx(data), Small)
    assert type(info.value) is error, name
    assert info.value.code == error.code


class Named(Canonical, frozen=True):
    name: Name
    digest: Hash32


@pytest.mark.parametrize(
    "name",
    ["evm\n", "", "a b", "é", "x" * 65, "evm\r", "\nevm"],
)
def test_enc_name_constraint(name: str) -> None:
    """[ENC-TYPES.1] Name is 1..64 of [A-Za-z0-9_.:-], with no trailing newline."""
    data = encode([name, bytes(32)])
    with pytest.raises(MalformedEncoding):
        decode(data, Named)


@pytest.mark.parametrize("size", [0, 31, 33])
def test_enc_hash32_length(size: int) -> None:
    with pytest.raises(MalformedEncoding):
        decode(encode(["evm", bytes(size)]), Named)


@pytest.mark.parametrize("depth", [100, 200_000])
def test_enc_deep_nesting_is_malformed_not_a_recursion_error(depth: int) -> None:
    """Arrays nested past the recursion limit (a peer's frame, an export) are a codec error."""
    data = b"\x91" * depth + b"\xc0"
    if depth < 1_000:
        assert decode(data, object) is not None
        return
    with pytest.raises(MalformedEncoding, match="recursion"):
        decode(data, object)


@given(st.binary(max_size=64))
def test_enc_random_bytes_raise_only_codec_errors(data: bytes) -> None:
    try:
        value = decode(data, AllKinds)
    except CodecError:
        return
    assert encode(value) == data


@given(all_kinds, st.data())
def test_enc_mutated_encodings_decode_only_if_canonical(
    value: AllKinds, data: st.DataObject
) -> None:
    """Any byte string that decodes is the unique encoding of what it decodes to."""
    raw = bytearray(encode(value))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut]), bytes(raw) + b"\x00"):
        try:
            decoded = decode(candidate, AllKinds)
        except CodecError:
            continue
        assert encode(decoded) == candidate


def test_enc_signing_bytes_prefix_domain() -> None:
    """[ENC-DOMAIN.1] signed bytes are the domain tag followed by the canonical encoding."""
    assert signing_bytes(b"TAG\x00", SMALL) == b"TAG\x00" + hx(SMALL_HEX)


class Example(Canonical, frozen=True):
    a: U64
    b: bytes
    c: str
    d: tuple[U64, ...]


@pytest.mark.parametrize(
    ("variant", "error"),
    [
        ("94d1012cc40178a2c3a99201cc80", NonCanonicalEncoding),
        ("94ce0000012cc40178a2c3a99201cc80", NonCanonicalEncoding),
        ("94cd012cc5000178a2c3a99201cc80", NonCanonicalEncoding),
        ("dc0004cd012cc40178a2c3a99201cc80", NonCanonicalEncoding),
        ("94cd012cc40178a2c3a99201cc8000", MalformedEncoding),
        ("95cd012cc40178a2c3a99201cc80c0", MalformedEncoding),
        ("93cd012cc40178a2c3a9", MalformedEncoding),
        ("84a161cd012ca162c40178a163a2c3a9a1649201cc80", MalformedEncoding),
    ],
)
def test_spec_encoding_worked_example(variant: str, error: type[CodecError]) -> None:
    """docs/spec/encoding.md §6, byte for byte, with each listed rejection."""
    value = Example(a=300, b=b"x", c="\u00e9", d=(1, 128))
    assert encode(value) == bytes.fromhex("94cd012cc40178a2c3a99201cc80")
    with pytest.raises(error):
        decode(bytes.fromhex(variant), Example)
