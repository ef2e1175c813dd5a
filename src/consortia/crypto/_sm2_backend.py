"""The SM2 backend protocol, the ZA user-ID hash (GB/T 32918.2, 5.5) and backend selection.

A backend signs and verifies the 32-byte digest e = SM3(ZA || M) and does SM2 public-key
encryption (GB/T 32918.4, C1C3C2 in GM/T 0009 ASN.1). ZA and e are computed here, once,
so every backend sees identical inputs; a backend holds per-key objects (a parsed
``EVP_PKEY``, raw key bytes) so repeated use of one key parses nothing.

Backends, fastest first (see docs/crypto.md for the measurements):
``tongsuo`` (tongsuopy's bundled Tongsuo through cffi; releases the GIL) and
``gmssl`` (gmssl-pyx / GmSSL 3; holds the GIL). The environment variable
``CONSORTIA_SM2_BACKEND`` overrides the default.
"""

from __future__ import annotations

import os
from typing import Protocol

from consortia.crypto._curves import CURVES
from consortia.crypto.errors import UnsupportedAlgorithm
from consortia.crypto.hashing import sm3
from consortia.crypto.key_type import KeyType

__all__ = [
    "BACKEND_NAMES",
    "Sm2Backend",
    "Sm2PrivateHandle",
    "Sm2PublicHandle",
    "default_backend",
    "get_backend",
    "sm2_za",
]

_CURVE = CURVES[KeyType.SM2]
_ZA_CURVE = b"".join(v.to_bytes(32, "big") for v in (_CURVE.a, _CURVE.b, _CURVE.gx, _CURVE.gy))
BACKEND_NAMES: tuple[str, ...] = ("tongsuo", "gmssl")
"""Known backends, in order of preference."""


def sm2_za(user_id: bytes, point: bytes) -> bytes:
    """ZA = SM3(ENTL || ID || a || b || xG || yG || xA || yA) for a 65-byte uncompressed point.

    Raises:
        UnsupportedAlgorithm: the user ID is longer than 8191 bytes (ENTL is 16 bits of bits).
    """
    if len(user_id) >= 8192:
        raise UnsupportedAlgorithm("SM2 user ID must be shorter than 8192 bytes")
    entl = (len(user_id) * 8).to_bytes(2, "big")
    return sm3(entl + user_id + _ZA_CURVE + point[1:])


class Sm2PublicHandle(Protocol):
    """A backend's parsed public key."""

    def verify_digest(self, digest: bytes, signature: bytes) -> bool:
        """Verify a strict-DER signature (already range-checked) over e; never raises."""
        ...

    def encrypt(self, plaintext: bytes) -> bytes:
        """SM2-encrypt to this key; C1C3C2 ASN.1 ciphertext."""
        ...


class Sm2PrivateHandle(Protocol):
    """A backend's parsed private key."""

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign e with a fresh random nonce; DER (r, s)."""
        ...

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Decrypt C1C3C2 ASN.1 ciphertext.

        Raises:
            DecryptionFailed: the ciphertext is malformed or fails its C3 check.
        """
        ...


class Sm2Backend(Protocol):
    """An SM2 implementation: builds per-key handles."""

    name: str
    """Short name, one of ``BACKEND_NAMES``."""
    releases_gil: bool
    """Whether its C calls release the GIL (so threads verify in parallel)."""

    def public_key(self, point: bytes) -> Sm2PublicHandle:
        """Parse a validated 65-byte uncompressed point."""
        ...

    def private_key(self, secret: int, point: bytes) -> Sm2PrivateHandle:
        """Parse a validated scalar and its public point."""
        ...

    def derive_public(self, secret: int) -> bytes:
        """Return secret*G as a 65-byte uncompressed point."""
        ...


_cache: dict[str, Sm2Backend] = {}


def get_backend(name: str) -> Sm2Backend:
    """Return the backend called ``name``.

    Raises:
        UnsupportedAlgorithm: unknown name or the backend's library is not installed.
    """
    if name in _cache:
        return _cache[name]
    backend: Sm2Backend
    try:
        if name == "tongsuo":
            from consortia.crypto._sm2_tongsuo import TongsuoBackend

            backend = TongsuoBackend()
        elif name == "gmssl":
            from consortia.crypto._sm2_gmssl import GmsslBackend

            backend = GmsslBackend()
        else:
            raise UnsupportedAlgorithm(
                f"unknown SM2 backend {name!r}; known: {', '.join(BACKEND_NAMES)}"
            )
    except ImportError as exc:
        raise UnsupportedAlgorithm(f"SM2 backend {name!r} is not installed: {exc}") from None
    _cache[name] = backend
    return backend


_default: Sm2Backend | None = None


def default_backend() -> Sm2Backend:
    """The backend used by ``PrivateKey``/``PublicKey``: $CONSORTIA_SM2_BACKEND or the fastest.

    Raises:
        UnsupportedAlgorithm: no backend is available.
    """
    global _default
    if _default is None:
        wanted = os.environ.get("CONSORTIA_SM2_BACKEND")
        if wanted:
            _default = get_backend(wanted)
        else:
            for name in BACKEND_NAMES:
                try:
                    _default = get_backend(name)
                    break
                except UnsupportedAlgorithm:
                    continue
            else:
                raise UnsupportedAlgorithm("no SM2 backend is installed (tongsuopy or gmssl-pyx)")
    return _default
