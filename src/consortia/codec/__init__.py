"""The one canonical encoding of Consortia (spec: docs/spec/encoding.md).

Every object that is hashed or signed is a :class:`Canonical` struct encoded
as a MessagePack array of its fields in declaration order. Decoding re-encodes
and compares, so any byte string other than the unique canonical one
(non-minimal integers, trailing bytes, wrong container types, unknown tags) is
rejected with :class:`NonCanonicalEncoding` or :class:`MalformedEncoding`.
"""

from consortia.codec.canonical import (
    U64,
    U64_MAX,
    Address,
    Canonical,
    Hash32,
    Name,
    decode,
    encode,
    signing_bytes,
)
from consortia.codec.errors import CodecError, MalformedEncoding, NonCanonicalEncoding

__all__ = [
    "U64",
    "U64_MAX",
    "Address",
    "Canonical",
    "CodecError",
    "Hash32",
    "MalformedEncoding",
    "Name",
    "NonCanonicalEncoding",
    "decode",
    "encode",
    "signing_bytes",
]
