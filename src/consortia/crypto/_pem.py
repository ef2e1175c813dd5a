"""PEM forms of EC keys: PKCS#8 (RFC 5208/5915), SEC1 ``EC PRIVATE KEY``, SPKI (RFC 5480).

Our own small codec serves all three curves the same way, so SM2 keys do not depend on a
particular SM2 backend for parsing. The output matches what OpenSSL 3 writes: PKCS#8 with
algorithm id-ecPublicKey and the named-curve OID, the inner ECPrivateKey carrying the
public key; SPKI with the uncompressed point.
"""

from __future__ import annotations

import base64
import binascii
import re

from consortia.crypto import _der
from consortia.crypto._curves import Curve, curve_for_oid
from consortia.crypto.errors import InvalidKey

__all__ = [
    "decode_private_pem",
    "decode_public_pem",
    "encode_private_pem",
    "encode_public_pem",
]

_ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
_ID_SM2 = "1.2.156.10197.1.301"  # some tools put the SM2 OID in the algorithm field
_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.DOTALL)


def _armor(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    head = f"-----BEGIN {label}-----\n".encode()
    tail = f"-----END {label}-----\n".encode()
    return head + b"\n".join(lines) + b"\n" + tail


def _unarmor(data: bytes) -> tuple[str, bytes]:
    match = _PEM_RE.search(data)
    if match is None:
        raise InvalidKey("not a PEM document (no BEGIN/END lines)")
    label = match.group(1).decode()
    try:
        der = base64.b64decode(b"".join(match.group(2).split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKey(f"PEM {label} body is not valid base64") from None
    return label, der


def _algorithm(value: bytes) -> Curve:
    parts = _der.read_all(value)
    if not parts or parts[0][0] != _der.OID:
        raise _der.DerError("bad AlgorithmIdentifier")
    alg = _der.decode_oid(parts[0][1])
    if alg not in (_ID_EC_PUBLIC_KEY, _ID_SM2):
        raise InvalidKey(f"not an elliptic-curve key (algorithm {alg})")
    if len(parts) != 2 or parts[1][0] != _der.OID:
        if alg == _ID_SM2 and len(parts) == 1:
            return curve_for_oid(_ID_SM2)
        raise InvalidKey("EC key without a named curve (explicit parameters are not supported)")
    return curve_for_oid(_der.decode_oid(parts[1][1]))


def _ec_private_key(value: bytes, curve: Curve | None) -> tuple[Curve, int]:
    """Parse a SEC1 ECPrivateKey; its [0] parameters name the curve if ``curve`` is None."""
    tag, body, end = _der.read_tlv(value)
    if tag != _der.SEQUENCE or end != len(value):
        raise _der.DerError("ECPrivateKey is not one SEQUENCE")
    parts = _der.read_all(body)
    if len(parts) < 2 or parts[0] != (_der.INTEGER, b"\x01") or parts[1][0] != _der.OCTET_STRING:
        raise _der.DerError("bad ECPrivateKey version or key")
    secret = parts[1][1]
    for tag, inner in parts[2:]:
        if tag == 0xA0:  # [0] ECParameters
            ptag, pval, _ = _der.read_tlv(inner)
            if ptag != _der.OID:
                raise InvalidKey("EC key with explicit parameters is not supported")
            named = curve_for_oid(_der.decode_oid(pval))
            if curve is not None and named is not curve:
                raise InvalidKey("PKCS#8 and ECPrivateKey name different curves")
            curve = named
    if curve is None:
        raise InvalidKey("EC private key does not name its curve")
    if len(secret) > 32:
        raise InvalidKey("EC private key is longer than 32 bytes")
    return curve, int.from_bytes(secret, "big")


def decode_private_pem(data: bytes) -> tuple[Curve, int]:
    """Parse a PKCS#8 ``PRIVATE KEY`` or SEC1 ``EC PRIVATE KEY`` PEM; return (curve, scalar).

    Raises:
        InvalidKey: not PEM, encrypted, not an EC key, unknown curve or malformed DER.
    """
    label, der = _unarmor(data)
    try:
        if label == "PRIVATE KEY":
            tag, body, end = _der.read_tlv(der)
            if tag != _der.SEQUENCE or end != len(der):
                raise _der.DerError("PrivateKeyInfo is not one SEQUENCE")
            parts = _der.read_all(body)
            if (
                len(parts) < 3
                or parts[0][0] != _der.INTEGER
                or parts[0][1] not in (b"\x00", b"\x01")
            ):
                raise _der.DerError("bad PrivateKeyInfo version")
            if parts[1][0] != _der.SEQUENCE or parts[2][0] != _der.OCTET_STRING:
                raise _der.DerError("bad PrivateKeyInfo fields")
            curve, d = _ec_private_key(parts[2][1], _algorithm(parts[1][1]))
        elif label == "EC PRIVATE KEY":
            curve, d = _ec_private_key(der, None)
        elif label == "ENCRYPTED PRIVATE KEY":
            raise InvalidKey("encrypted private keys are not supported; decrypt it first")
        else:
            raise InvalidKey(f"expected a PRIVATE KEY or EC PRIVATE KEY PEM, got {label}")
    except _der.DerError as exc:
        raise InvalidKey(f"malformed private key DER: {exc}") from None
    curve.check_scalar(d)
    return curve, d


def decode_public_pem(data: bytes) -> tuple[Curve, bytes]:
    """Parse a SubjectPublicKeyInfo ``PUBLIC KEY`` PEM; return (curve, SEC1 point bytes).

    Raises:
        InvalidKey: not PEM, not an EC key, unknown curve or malformed DER.
    """
    label, der = _unarmor(data)
    if label != "PUBLIC KEY":
        raise InvalidKey(f"expected a PUBLIC KEY PEM, got {label}")
    try:
        tag, body, end = _der.read_tlv(der)
        if tag != _der.SEQUENCE or end != len(der):
            raise _der.DerError("SubjectPublicKeyInfo is not one SEQUENCE")
        parts = _der.read_all(body)
        if len(parts) != 2 or parts[0][0] != _der.SEQUENCE or parts[1][0] != _der.BIT_STRING:
            raise _der.DerError("bad SubjectPublicKeyInfo fields")
        curve = _algorithm(parts[0][1])
        bits = parts[1][1]
        if not bits or bits[0] != 0:
            raise _der.DerError("public key BIT STRING has unused bits")
    except _der.DerError as exc:
        raise InvalidKey(f"malformed public key DER: {exc}") from None
    return curve, bits[1:]


def _alg_id(curve: Curve) -> bytes:
    return _der.encode_tlv(
        _der.SEQUENCE, _der.encode_oid(_ID_EC_PUBLIC_KEY) + _der.encode_oid(curve.oid)
    )


def encode_private_pem(curve: Curve, d: int, point: bytes) -> bytes:
    """Encode a PKCS#8 ``PRIVATE KEY`` PEM (the inner ECPrivateKey includes the public key)."""
    ec_key = _der.encode_tlv(
        _der.SEQUENCE,
        _der.encode_uint(1)
        + _der.encode_tlv(_der.OCTET_STRING, d.to_bytes(32, "big"))
        + _der.encode_tlv(0xA1, _der.encode_tlv(_der.BIT_STRING, b"\x00" + point)),
    )
    info = _der.encode_tlv(
        _der.SEQUENCE,
        _der.encode_uint(0) + _alg_id(curve) + _der.encode_tlv(_der.OCTET_STRING, ec_key),
    )
    return _armor("PRIVATE KEY", info)


def encode_public_pem(curve: Curve, point: bytes) -> bytes:
    """Encode a SubjectPublicKeyInfo ``PUBLIC KEY`` PEM with the uncompressed point."""
    spki = _der.encode_tlv(
        _der.SEQUENCE, _alg_id(curve) + _der.encode_tlv(_der.BIT_STRING, b"\x00" + point)
    )
    return _armor("PUBLIC KEY", spki)
