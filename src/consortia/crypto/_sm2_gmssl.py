"""SM2 backend over gmssl-pyx (GmSSL 3): the independent cross-check of the default backend.

Uses the digest API (``sm2_sign_sm3_digest``/``sm2_verify_sm3_digest``) with e computed by
the caller, so ZA is hashed once per key rather than per call. GmSSL prints C source
locations to stderr when a verification or decryption fails; those calls run with file
descriptor 2 pointed at /dev/null under a lock (the extension holds the GIL anyway, so
this costs no parallelism). Public keys are derived with the pure-Python curve code,
since GmSSL has no "scalar to key" call; gmssl-pyx encrypts at most 255 bytes.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

import gmssl_pyx

from consortia.crypto._curves import CURVES
from consortia.crypto.errors import DecryptionFailed, UnsupportedAlgorithm
from consortia.crypto.key_type import KeyType

__all__ = ["GmsslBackend"]

_MAX_PLAINTEXT = 255
_stderr_lock = threading.Lock()


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Point fd 2 at /dev/null for the duration (GmSSL writes diagnostics there)."""
    with _stderr_lock:
        with contextlib.suppress(ValueError, OSError):
            sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


class _PublicHandle:
    __slots__ = ("_raw",)

    def __init__(self, point: bytes) -> None:
        self._raw = point[1:]

    def verify_digest(self, digest: bytes, signature: bytes) -> bool:
        with _quiet_stderr():
            try:
                return bool(gmssl_pyx.sm2_verify_sm3_digest(self._raw, digest, signature))
            except gmssl_pyx.GmsslInnerError:
                return False

    def encrypt(self, plaintext: bytes) -> bytes:
        if not 1 <= len(plaintext) <= _MAX_PLAINTEXT:
            raise UnsupportedAlgorithm("gmssl backend encrypts 1 to 255 bytes only")
        out: bytes = gmssl_pyx.sm2_encrypt(self._raw, plaintext)
        return out


class _PrivateHandle:
    __slots__ = ("_secret",)

    def __init__(self, secret: int) -> None:
        self._secret = secret.to_bytes(32, "big")

    def sign_digest(self, digest: bytes) -> bytes:
        out: bytes = gmssl_pyx.sm2_sign_sm3_digest(self._secret, digest)
        return out

    def decrypt(self, ciphertext: bytes) -> bytes:
        with _quiet_stderr():
            try:
                out: bytes = gmssl_pyx.sm2_decrypt(self._secret, ciphertext)
            except gmssl_pyx.GmsslInnerError:
                raise DecryptionFailed("SM2 decryption failed") from None
        return out


class GmsslBackend:
    """SM2 through gmssl-pyx (GmSSL 3); holds the GIL."""

    name = "gmssl"
    releases_gil = False

    def public_key(self, point: bytes) -> _PublicHandle:
        """Keep the raw 64-byte x||y that GmSSL takes."""
        return _PublicHandle(point)

    def private_key(self, secret: int, point: bytes) -> _PrivateHandle:
        """Keep the 32-byte scalar that GmSSL takes."""
        del point
        return _PrivateHandle(secret)

    def derive_public(self, secret: int) -> bytes:
        """Return secret*G, uncompressed (pure Python)."""
        return CURVES[KeyType.SM2].multiply_base(secret)
