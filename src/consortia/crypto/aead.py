"""Authenticated encryption: SM4-GCM (GB/T 32907 cipher, GCM mode) and AES-GCM via ``cryptography``.

Wire form of every AEAD ciphertext: ``nonce (12 bytes) || ciphertext || tag (16 bytes)``,
with a fresh random nonce per message (NIST SP 800-38D, 8.2.2: at most 2^32 messages per key).
"""

from __future__ import annotations

import os
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from consortia.crypto.errors import DecryptionFailed, InvalidKey

__all__ = ["AES_GCM", "NONCE_SIZE", "SM4_GCM", "TAG_SIZE", "Aead"]

NONCE_SIZE = 12
"""Bytes of random nonce prefixed to each ciphertext."""
TAG_SIZE = 16
"""Bytes of GCM tag suffixed to each ciphertext."""


class Aead(Protocol):
    """An authenticated cipher with a random 12-byte nonce carried in the ciphertext."""

    name: str
    """Algorithm name, e.g. ``"sm4-gcm"``."""
    key_size: int
    """Default (and for SM4 the only) key length in bytes."""

    def encrypt(self, key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
        """Return nonce || ciphertext || tag.

        Raises:
            InvalidKey: wrong key length.
        """
        ...

    def decrypt(self, key: bytes, data: bytes, aad: bytes = b"") -> bytes:
        """Return the plaintext.

        Raises:
            InvalidKey: wrong key length.
            DecryptionFailed: too short, or the tag does not authenticate.
        """
        ...


def _split(data: bytes) -> tuple[bytes, bytes]:
    if len(data) < NONCE_SIZE + TAG_SIZE:
        raise DecryptionFailed("ciphertext is shorter than nonce and tag")
    return data[:NONCE_SIZE], data[NONCE_SIZE:]


class _Sm4Gcm:
    """SM4 in GCM mode (RFC 8998 names it TLS_SM4_GCM_SM3's cipher)."""

    name = "sm4-gcm"
    key_size = 16

    def _check(self, key: bytes) -> None:
        if len(key) != 16:
            raise InvalidKey(f"sm4-gcm key must be 16 bytes, got {len(key)}")

    def encrypt(self, key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
        """Return nonce || ciphertext || tag."""
        self._check(key)
        nonce = os.urandom(NONCE_SIZE)
        enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        body = enc.update(plaintext) + enc.finalize()
        return nonce + body + enc.tag

    def decrypt(self, key: bytes, data: bytes, aad: bytes = b"") -> bytes:
        """Return the plaintext, or raise ``DecryptionFailed``."""
        self._check(key)
        nonce, rest = _split(data)
        body, tag = rest[:-TAG_SIZE], rest[-TAG_SIZE:]
        dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
        dec.authenticate_additional_data(aad)
        try:
            return dec.update(body) + dec.finalize()
        except InvalidTag:
            raise DecryptionFailed("sm4-gcm: authentication tag mismatch") from None


class _AesGcm:
    """AES in GCM mode with a 128-, 192- or 256-bit key."""

    name = "aes-gcm"
    key_size = 32

    def _cipher(self, key: bytes) -> AESGCM:
        if len(key) not in (16, 24, 32):
            raise InvalidKey(f"aes-gcm key must be 16, 24 or 32 bytes, got {len(key)}")
        return AESGCM(key)

    def encrypt(self, key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
        """Return nonce || ciphertext || tag."""
        cipher = self._cipher(key)
        nonce = os.urandom(NONCE_SIZE)
        return nonce + cipher.encrypt(nonce, plaintext, aad)

    def decrypt(self, key: bytes, data: bytes, aad: bytes = b"") -> bytes:
        """Return the plaintext, or raise ``DecryptionFailed``."""
        cipher = self._cipher(key)
        nonce, rest = _split(data)
        try:
            return cipher.decrypt(nonce, rest, aad)
        except InvalidTag:
            raise DecryptionFailed("aes-gcm: authentication tag mismatch") from None


SM4_GCM: Aead = _Sm4Gcm()
"""SM4-GCM with a 16-byte key."""
AES_GCM: Aead = _AesGcm()
"""AES-GCM with a 16-, 24- or 32-byte key."""
