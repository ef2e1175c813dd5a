"""A minimal strict DER reader and writer (ITU-T X.690) for keys, signatures and SM2 ciphertext.

Only definite, minimal lengths are accepted; INTEGERs must be minimally encoded.
``decode_signature`` implements the strict ECDSA-Sig-Value rule we apply to every
signature before any backend sees it: one ``SEQUENCE { INTEGER r, INTEGER s }``,
canonical DER, no trailing bytes, 1 <= r, s < n.
"""

from __future__ import annotations

from consortia.crypto.errors import InvalidSignatureEncoding

__all__ = [
    "BIT_STRING",
    "INTEGER",
    "OCTET_STRING",
    "OID",
    "SEQUENCE",
    "DerError",
    "decode_oid",
    "decode_signature",
    "decode_uint",
    "encode_oid",
    "encode_signature",
    "encode_tlv",
    "encode_uint",
    "read_all",
    "read_tlv",
]

INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
OID = 0x06
SEQUENCE = 0x30


class DerError(ValueError):
    """Bytes are not strict DER of the expected shape (internal; converted at the boundary)."""


def read_tlv(data: bytes, pos: int = 0) -> tuple[int, bytes, int]:
    """Read one TLV at ``pos``; return (tag, value, position after it).

    Raises:
        DerError: truncated, indefinite or non-minimal length, or multi-byte tag.
    """
    if pos + 2 > len(data):
        raise DerError("truncated")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("multi-byte tags are not supported")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise DerError("indefinite or oversized length")
        if pos + count > len(data):
            raise DerError("truncated length")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80 or data[pos] == 0:
            raise DerError("non-minimal length")
        pos += count
    end = pos + length
    if end > len(data):
        raise DerError("truncated value")
    return tag, data[pos:end], end


def read_all(data: bytes) -> list[tuple[int, bytes]]:
    """Split ``data`` into its consecutive TLVs (the contents of a constructed value)."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        tag, value, pos = read_tlv(data, pos)
        out.append((tag, value))
    return out


def encode_tlv(tag: int, value: bytes) -> bytes:
    """Encode one TLV with a minimal definite length."""
    n = len(value)
    if n < 0x80:
        return bytes((tag, n)) + value
    lb = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(lb))) + lb + value


def decode_uint(value: bytes) -> int:
    """Decode the contents of a non-negative, minimally encoded INTEGER.

    Raises:
        DerError: empty, negative or with a redundant leading zero.
    """
    if not value:
        raise DerError("empty INTEGER")
    if value[0] & 0x80:
        raise DerError("negative INTEGER")
    if len(value) > 1 and value[0] == 0 and not value[1] & 0x80:
        raise DerError("non-minimal INTEGER")
    return int.from_bytes(value, "big")


def encode_uint(v: int) -> bytes:
    """Encode a non-negative integer as a DER INTEGER TLV."""
    body = v.to_bytes(v.bit_length() // 8 + 1, "big")
    return encode_tlv(INTEGER, body)


def encode_oid(dotted: str) -> bytes:
    """Encode a dotted OID string as a DER OBJECT IDENTIFIER TLV."""
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body.extend(reversed(chunk))
    return encode_tlv(OID, bytes(body))


def decode_oid(value: bytes) -> str:
    """Decode the contents of an OBJECT IDENTIFIER into dotted form."""
    if not value or value[-1] & 0x80:
        raise DerError("bad OID")
    first = value[0]
    arcs = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    acc = 0
    for byte in value[1:]:
        if acc == 0 and byte == 0x80:
            raise DerError("non-minimal OID arc")
        acc = (acc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(acc)
            acc = 0
    return ".".join(str(a) for a in arcs)


def decode_signature(signature: bytes, n: int) -> tuple[int, int]:
    """Decode a strict DER ECDSA/SM2 signature and check 1 <= r, s < n.

    Raises:
        InvalidSignatureEncoding: not canonical DER, trailing bytes, or r/s out of range.
    """
    try:
        tag, body, end = read_tlv(signature)
        if tag != SEQUENCE or end != len(signature):
            raise DerError("not a single SEQUENCE")
        parts = read_all(body)
        if len(parts) != 2 or parts[0][0] != INTEGER or parts[1][0] != INTEGER:
            raise DerError("not SEQUENCE { INTEGER, INTEGER }")
        r, s = decode_uint(parts[0][1]), decode_uint(parts[1][1])
    except DerError as exc:
        raise InvalidSignatureEncoding(f"signature is not strict DER: {exc}") from None
    if not (0 < r < n and 0 < s < n):
        raise InvalidSignatureEncoding("signature r or s is out of range [1, n-1]")
    return r, s


def encode_signature(r: int, s: int) -> bytes:
    """Encode (r, s) as a DER ECDSA-Sig-Value."""
    return encode_tlv(SEQUENCE, encode_uint(r) + encode_uint(s))
