"""Codec errors: bytes that are not the canonical encoding of the expected type."""

from __future__ import annotations

from consortia.errors import NodeError


class CodecError(NodeError):
    """Bytes could not be decoded into the expected canonical type."""

    code = "CODEC_ERROR"


class MalformedEncoding(CodecError):
    """Bytes are not valid MessagePack for the expected type (wrong shape, truncated)."""

    code = "CODEC_MALFORMED"


class NonCanonicalEncoding(CodecError):
    """Bytes decode, but are not the unique canonical encoding of the value."""

    code = "CODEC_NON_CANONICAL"
