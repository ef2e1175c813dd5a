"""Errors of the crypto layer, each with a stable ``code``.

Tree::

    NodeError                          (consortia/errors.py)
     └── CryptoError                    CRYPTO_ERROR
          ├── InvalidKey                 CRYPTO_INVALID_KEY: bad PEM, point, scalar, key length
          ├── InvalidSignatureEncoding   CRYPTO_BAD_SIGNATURE_ENCODING: not strict DER (r, s)
          ├── DecryptionFailed           CRYPTO_DECRYPTION_FAILED: AEAD tag or SM2 ciphertext
          └── UnsupportedAlgorithm       CRYPTO_UNSUPPORTED: unknown suite, key type, backend

``PublicKey.verify`` never raises for a bad signature; it returns ``False``.
"""

from __future__ import annotations

from typing import ClassVar

from consortia.errors import NodeError

__all__ = [
    "CryptoError",
    "DecryptionFailed",
    "InvalidKey",
    "InvalidSignatureEncoding",
    "UnsupportedAlgorithm",
]


class CryptoError(NodeError):
    """Root of all crypto failures."""

    code: ClassVar[str] = "CRYPTO_ERROR"


class InvalidKey(CryptoError):
    """A key could not be parsed or is not a valid key of its type."""

    code: ClassVar[str] = "CRYPTO_INVALID_KEY"


class InvalidSignatureEncoding(CryptoError):
    """A signature is not a strict, canonical DER ``SEQUENCE { r, s }`` in range."""

    code: ClassVar[str] = "CRYPTO_BAD_SIGNATURE_ENCODING"


class DecryptionFailed(CryptoError):
    """A ciphertext failed authentication or could not be decrypted."""

    code: ClassVar[str] = "CRYPTO_DECRYPTION_FAILED"


class UnsupportedAlgorithm(CryptoError):
    """The requested suite, key type, algorithm or backend is not available."""

    code: ClassVar[str] = "CRYPTO_UNSUPPORTED"
