"""Canonical MessagePack encoding over frozen ``msgspec`` structs.

Rules ([ENC-CANON.1] in docs/spec/encoding.md):

* a struct is an array of its fields in declaration order (``array_like``);
* integers use the shortest MessagePack form; only unsigned 64-bit integers
  appear in signed data (``U64``), never floats;
* byte strings are ``bin`` and text is UTF-8 ``str``; there are no maps;
* a byte string decodes only if re-encoding the value yields the same bytes.

Signed data is ``domain || encode(value)``, where each signed type has its own
domain tag so a signature over one type can never be replayed as another.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, TypeVar

import msgspec

from consortia.codec.errors import MalformedEncoding, NonCanonicalEncoding

U64_MAX: Final = 2**64 - 1
U64 = Annotated[int, msgspec.Meta(ge=0)]
"""Unsigned 64-bit integer (MessagePack itself caps integers at 2**64 - 1)."""
Hash32 = Annotated[bytes, msgspec.Meta(min_length=32, max_length=32)]
"""A 32-byte digest (SM3 or SHA-256, by chain suite)."""
Address = Annotated[bytes, msgspec.Meta(min_length=20, max_length=20)]
"""A 20-byte account or validator address."""
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+\Z")]
"""An identifier: module, method, asset symbol, organisation name."""


class Canonical(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    """Base of every hashed or signed structure: immutable, encoded as an array."""


_encoder: Final = msgspec.msgpack.Encoder()
T = TypeVar("T")


def encode(value: Any) -> bytes:
    """Return the canonical bytes of ``value`` (a Canonical struct or plain data)."""
    return _encoder.encode(value)


def decode(data: bytes, type_: type[T]) -> T:
    """Decode ``data`` as ``type_``, accepting only its canonical encoding.

    Raises:
        MalformedEncoding: not MessagePack of that shape, a constraint fails, or
            containers nest past the interpreter's recursion limit.
        NonCanonicalEncoding: valid, but another encoding of the same value.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedEncoding(f"expected bytes, got {type(data).__name__}")
    raw = bytes(data)
    try:
        value = msgspec.msgpack.decode(raw, type=type_)
    except (
        msgspec.DecodeError,
        msgspec.ValidationError,
        UnicodeDecodeError,
        RecursionError,
    ) as exc:
        # msgspec raises a bare UnicodeDecodeError for invalid UTF-8 in a str, and a
        # RecursionError for arrays nested past the interpreter's recursion limit.
        name = getattr(type_, "__name__", str(type_))
        raise MalformedEncoding(f"invalid {name} encoding: {exc}") from None
    if _encoder.encode(value) != raw:
        name = getattr(type_, "__name__", str(type_))
        raise NonCanonicalEncoding(f"{name} bytes are not in canonical form")
    return value


def signing_bytes(domain: bytes, value: Any) -> bytes:
    """Bytes a signature covers: a per-type domain tag, then the canonical encoding."""
    return domain + encode(value)
