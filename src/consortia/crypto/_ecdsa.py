"""ECDSA with SHA-256 on P-256 (``cryptography``) and secp256k1 (``coincurve``): per-key handles.

Both libraries release the GIL during verification. coincurve signs deterministically
(RFC 6979) with low s; libsecp256k1 also rejects high-s signatures on verification.
"""

from __future__ import annotations

import coincurve
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from consortia.crypto.errors import InvalidKey

__all__ = ["K1Private", "K1Public", "P256Private", "P256Public", "ecrecover"]

_P256 = ec.SECP256R1()
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


class P256Public:
    """A parsed P-256 public key."""

    __slots__ = ("_key",)

    def __init__(self, point: bytes) -> None:
        try:
            self._key = ec.EllipticCurvePublicKey.from_encoded_point(_P256, point)
        except ValueError as exc:
            raise InvalidKey(f"invalid P-256 public key: {exc}") from None

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Verify a strict-DER ECDSA-SHA256 signature; never raises on a bad one."""
        try:
            self._key.verify(signature, message, _ECDSA_SHA256)
        except InvalidSignature:
            return False
        return True


class P256Private:
    """A parsed P-256 private key."""

    __slots__ = ("_key",)

    def __init__(self, secret: int) -> None:
        self._key = ec.derive_private_key(secret, _P256)

    def public_point(self) -> bytes:
        """The uncompressed public point."""
        nums = self._key.public_key().public_numbers()
        return b"\x04" + nums.x.to_bytes(32, "big") + nums.y.to_bytes(32, "big")

    def sign(self, message: bytes) -> bytes:
        """ECDSA-SHA256, DER (r, s)."""
        return self._key.sign(message, _ECDSA_SHA256)


class K1Public:
    """A parsed secp256k1 public key."""

    __slots__ = ("_key",)

    def __init__(self, point: bytes) -> None:
        try:
            self._key = coincurve.PublicKey(point)
        except ValueError as exc:
            raise InvalidKey(f"invalid secp256k1 public key: {exc}") from None

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Verify a strict-DER low-s ECDSA-SHA256 signature; never raises on a bad one."""
        try:
            return bool(self._key.verify(signature, message))
        except (ValueError, TypeError):
            return False


class K1Private:
    """A parsed secp256k1 private key."""

    __slots__ = ("_key",)

    def __init__(self, secret: int) -> None:
        self._key = coincurve.PrivateKey(secret.to_bytes(32, "big"))

    def public_point(self) -> bytes:
        """The uncompressed public point."""
        out: bytes = self._key.public_key.format(compressed=False)
        return out

    def sign(self, message: bytes) -> bytes:
        """ECDSA-SHA256 (RFC 6979 nonce, low s), DER (r, s)."""
        out: bytes = self._key.sign(message)
        return out


def ecrecover(digest: bytes, signature: bytes) -> bytes | None:
    """The uncompressed secp256k1 key that made ``signature`` over the 32-byte ``digest``.

    ``signature`` is r (32 bytes) || s (32 bytes) || recovery id (0 or 1), as Ethereum
    signs a Keccak-256 digest (any s; EIP-2's low-s rule is the caller's). None if no key
    recovers. libsecp256k1 releases the GIL, so callers can recover in parallel threads.
    """
    try:
        key = coincurve.PublicKey.from_signature_and_message(signature, digest, hasher=None)
    except (ValueError, TypeError):
        return None
    out: bytes = key.format(compressed=False)
    return out
