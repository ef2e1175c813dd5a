"""SM2 public-key encryption (GB/T 32918.4 / GM/T 0003.4), C1C3C2 in GM/T 0009 ASN.1.

Ciphertext ::= SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING (32, C3 = SM3),
ciphertext OCTET STRING (C2) }, as OpenSSL, Tongsuo and GmSSL produce it.
"""

from __future__ import annotations

from consortia.crypto import _der
from consortia.crypto.errors import DecryptionFailed, UnsupportedAlgorithm
from consortia.crypto.key_type import KeyType
from consortia.crypto.keys import PrivateKey, PublicKey

__all__ = ["sm2_decrypt", "sm2_encrypt"]


def sm2_encrypt(public_key: PublicKey, plaintext: bytes) -> bytes:
    """Encrypt ``plaintext`` (at least one byte) to an sm2 ``public_key``.

    Raises:
        UnsupportedAlgorithm: the key is not sm2, or the plaintext is empty.
    """
    if public_key.key_type is not KeyType.SM2:
        raise UnsupportedAlgorithm(f"SM2 encryption needs an sm2 key, not {public_key.key_type}")
    if not plaintext:
        raise UnsupportedAlgorithm("SM2 encryption of an empty plaintext is not defined")
    return public_key._sm2_handle().encrypt(bytes(plaintext))


def _check_shape(ciphertext: bytes) -> None:
    try:
        tag, body, end = _der.read_tlv(ciphertext)
        if tag != _der.SEQUENCE or end != len(ciphertext):
            raise _der.DerError("not one SEQUENCE")
        parts = _der.read_all(body)
        tags = [t for t, _ in parts]
        if tags != [_der.INTEGER, _der.INTEGER, _der.OCTET_STRING, _der.OCTET_STRING]:
            raise _der.DerError("not SEQUENCE { INTEGER, INTEGER, OCTET STRING, OCTET STRING }")
        if len(parts[2][1]) != 32 or not parts[3][1]:
            raise _der.DerError("C3 must be 32 bytes and C2 non-empty")
    except _der.DerError as exc:
        raise DecryptionFailed(f"SM2 ciphertext is malformed: {exc}") from None


def sm2_decrypt(private_key: PrivateKey, ciphertext: bytes) -> bytes:
    """Decrypt a C1C3C2 ASN.1 ciphertext with an sm2 ``private_key``.

    Raises:
        UnsupportedAlgorithm: the key is not sm2.
        DecryptionFailed: malformed ciphertext, C1 not on the curve, or C3 mismatch.
    """
    handle = private_key._sm2_handle()
    _check_shape(bytes(ciphertext))
    return handle.decrypt(bytes(ciphertext))
