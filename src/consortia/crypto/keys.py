"""Private and public keys of the three key types: PEM, SEC1 bytes, sign, verify, addresses.

Signatures are DER ``SEQUENCE { r, s }``:

* ``sm2``: SM2 over e = SM3(ZA(user_id) || M) (GB/T 32918.2), through the default SM2 backend;
* ``p256``: ECDSA-SHA256 (FIPS 186-4) through ``cryptography``;
* ``secp256k1``: ECDSA-SHA256 with low s through ``coincurve``.

Verification checks the encoding first (strict DER, no trailing bytes, 1 <= r, s < n, and
low s for secp256k1) and only then calls a backend; it returns ``False`` and never raises on
a bad signature. Parsed backend objects and ZA values are cached on the key objects, and
:meth:`PublicKey.from_bytes` returns the same object for the same bytes while they are among
the most recently parsed, so a sender's key is parsed, loaded into the backend and given its
ZA once, not once per transaction.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Any, NoReturn

from consortia.crypto import _der, _pem
from consortia.crypto._curves import CURVES, Curve
from consortia.crypto._ecdsa import K1Private, K1Public, P256Private, P256Public
from consortia.crypto._sm2_backend import (
    Sm2PrivateHandle,
    Sm2PublicHandle,
    default_backend,
    sm2_za,
)
from consortia.crypto.errors import InvalidKey, InvalidSignatureEncoding, UnsupportedAlgorithm
from consortia.crypto.hashing import keccak256, sha256, sm3
from consortia.crypto.key_type import DEFAULT_SM2_ID, KeyType

__all__ = ["PrivateKey", "PublicKey"]

_ZA_CACHE_MAX = 8
_PARSED_KEYS_MAX = 32_768
"""Most recently parsed public keys kept (each holds its backend object, ~1 KiB)."""


def _key_type(value: str) -> KeyType:
    try:
        return KeyType(value)
    except ValueError:
        known = ", ".join(k.value for k in KeyType)
        raise UnsupportedAlgorithm(f"unknown key type {value!r}; known: {known}") from None


class PublicKey:
    """An elliptic-curve public key; immutable, hashable, equal by (key_type, point)."""

    __slots__ = ("_handle", "_key_type", "_point", "_za")

    _key_type: KeyType
    _point: bytes
    _handle: Any
    _za: dict[bytes, bytes]

    def __init__(self, key_type: KeyType, point: bytes) -> None:
        """Use ``from_bytes``/``from_pem``; this takes an already validated uncompressed point."""
        object.__setattr__(self, "_key_type", key_type)
        object.__setattr__(self, "_point", point)
        object.__setattr__(self, "_handle", None)
        object.__setattr__(self, "_za", {})

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("PublicKey is immutable")

    @property
    def key_type(self) -> KeyType:
        """The key type."""
        return self._key_type

    @classmethod
    def from_bytes(cls, key_type: KeyType, data: bytes) -> PublicKey:
        """Parse a SEC1 point: 65-byte uncompressed (04||x||y) or 33-byte compressed.

        Raises:
            InvalidKey: wrong length or prefix, or not a point on the curve.
            UnsupportedAlgorithm: unknown key type.
        """
        return _parse_public(_key_type(key_type), bytes(data))

    @classmethod
    def from_pem(cls, data: bytes) -> PublicKey:
        """Parse a SubjectPublicKeyInfo ``PUBLIC KEY`` PEM; the curve OID gives the key type.

        Raises:
            InvalidKey: not a valid EC public key PEM of a supported curve.
        """
        curve, point = _pem.decode_public_pem(bytes(data))
        return cls.from_bytes(curve.key_type, point)

    def to_bytes(self) -> bytes:
        """The 65-byte uncompressed SEC1 point 04||x||y."""
        return self._point

    def to_pem(self) -> bytes:
        """SubjectPublicKeyInfo ``PUBLIC KEY`` PEM."""
        return _pem.encode_public_pem(CURVES[self._key_type], self._point)

    def address(self) -> bytes:
        """20-byte account address: the last 20 bytes of H(x||y).

        H is SM3 for sm2, SHA-256 for p256 and Keccak-256 for secp256k1 (Ethereum's rule).
        """
        xy = self._point[1:]
        if self._key_type is KeyType.SM2:
            return sm3(xy)[12:]
        if self._key_type is KeyType.P256:
            return sha256(xy)[12:]
        return keccak256(xy)[12:]

    def verify(self, message: bytes, signature: bytes, *, user_id: bytes = DEFAULT_SM2_ID) -> bool:
        """Return whether ``signature`` is this key's valid signature over ``message``.

        ``user_id`` is used for sm2 only. Never raises on a bad or garbage signature.
        """
        curve = CURVES[self._key_type]
        try:
            _r, s = _der.decode_signature(signature, curve.n)
        except (InvalidSignatureEncoding, TypeError):
            return False
        if self._key_type is KeyType.SM2:
            try:
                digest = sm3(self._sm2_za(user_id) + message)
            except UnsupportedAlgorithm:
                return False
            return self._sm2_handle().verify_digest(digest, signature)
        if self._key_type is KeyType.SECP256K1 and s > curve.n // 2:
            return False
        handle: P256Public | K1Public = self._ecdsa_handle()
        return handle.verify(message, signature)

    def _sm2_za(self, user_id: bytes) -> bytes:
        za = self._za.get(user_id)
        if za is None:
            za = sm2_za(user_id, self._point)
            if len(self._za) >= _ZA_CACHE_MAX:
                self._za.clear()
            self._za[user_id] = za
        return za

    def _sm2_handle(self) -> Sm2PublicHandle:
        handle: Sm2PublicHandle | None = self._handle
        if handle is None:
            handle = default_backend().public_key(self._point)
            object.__setattr__(self, "_handle", handle)
        return handle

    def _ecdsa_handle(self) -> P256Public | K1Public:
        handle: P256Public | K1Public | None = self._handle
        if handle is None:
            handle = (
                P256Public(self._point) if self._key_type is KeyType.P256 else K1Public(self._point)
            )
            object.__setattr__(self, "_handle", handle)
        return handle

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return self._key_type is other._key_type and self._point == other._point

    def __hash__(self) -> int:
        return hash((self._key_type, self._point))

    def __repr__(self) -> str:
        return f"PublicKey({self._key_type.value}, {self._point.hex()})"


@lru_cache(maxsize=_PARSED_KEYS_MAX)
def _parse_public(key_type: KeyType, data: bytes) -> PublicKey:
    """The validated key for a SEC1 encoding (shared: keys are immutable, thread-safe to use)."""
    curve = CURVES[key_type]
    x, y = curve.decode_point(data)
    return PublicKey(curve.key_type, b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big"))


class PrivateKey:
    """An elliptic-curve private key; immutable; its repr never shows the secret."""

    __slots__ = ("_d", "_handle", "_key_type", "_public")

    _key_type: KeyType
    _d: int
    _public: PublicKey
    _handle: Any

    def __init__(self, key_type: KeyType, d: int) -> None:
        """Use ``generate``/``from_secret``/``from_pem``; this takes a range-checked scalar."""
        handle: Sm2PrivateHandle | P256Private | K1Private
        if key_type is KeyType.SM2:
            point = default_backend().derive_public(d)
            handle = default_backend().private_key(d, point)
        elif key_type is KeyType.P256:
            handle = P256Private(d)
            point = handle.public_point()
        else:
            handle = K1Private(d)
            point = handle.public_point()
        object.__setattr__(self, "_key_type", key_type)
        object.__setattr__(self, "_d", d)
        object.__setattr__(self, "_public", PublicKey(key_type, point))
        object.__setattr__(self, "_handle", handle)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("PrivateKey is immutable")

    @property
    def key_type(self) -> KeyType:
        """The key type."""
        return self._key_type

    @classmethod
    def generate(cls, key_type: KeyType) -> PrivateKey:
        """A fresh key from the operating system's CSPRNG (``secrets``).

        Raises:
            UnsupportedAlgorithm: unknown key type.
        """
        curve = CURVES[_key_type(key_type)]
        upper = curve.n - 1 if curve.key_type is KeyType.SM2 else curve.n
        return cls(curve.key_type, 1 + secrets.randbelow(upper - 1))

    @classmethod
    def from_secret(cls, key_type: KeyType, secret: bytes) -> PrivateKey:
        """A key from a 32-byte big-endian scalar (tests, deterministic devnets).

        Raises:
            InvalidKey: not 32 bytes, or the scalar is 0 or >= n (>= n - 1 for sm2).
            UnsupportedAlgorithm: unknown key type.
        """
        curve = CURVES[_key_type(key_type)]
        if len(secret) != 32:
            raise InvalidKey(f"private key secret must be 32 bytes, got {len(secret)}")
        d = int.from_bytes(secret, "big")
        curve.check_scalar(d)
        return cls(curve.key_type, d)

    @classmethod
    def from_pem(cls, data: bytes) -> PrivateKey:
        """Parse PKCS#8 ``PRIVATE KEY`` or SEC1 ``EC PRIVATE KEY`` PEM (unencrypted).

        Raises:
            InvalidKey: not a valid EC private key PEM of a supported curve.
        """
        curve, d = _pem.decode_private_pem(bytes(data))
        return cls(curve.key_type, d)

    def to_pem(self) -> bytes:
        """PKCS#8 ``PRIVATE KEY`` PEM, as OpenSSL 3 writes it."""
        curve: Curve = CURVES[self._key_type]
        return _pem.encode_private_pem(curve, self._d, self._public.to_bytes())

    def public_key(self) -> PublicKey:
        """The matching public key."""
        return self._public

    def sign(self, message: bytes, *, user_id: bytes = DEFAULT_SM2_ID) -> bytes:
        """Sign ``message``; DER (r, s). ``user_id`` is used for sm2 only.

        Raises:
            UnsupportedAlgorithm: sm2 user ID of 8192 bytes or more.
        """
        if self._key_type is KeyType.SM2:
            digest = sm3(self._public._sm2_za(user_id) + message)
            sm2_handle: Sm2PrivateHandle = self._handle
            return sm2_handle.sign_digest(digest)
        ecdsa_handle: P256Private | K1Private = self._handle
        return ecdsa_handle.sign(message)

    def _sm2_handle(self) -> Sm2PrivateHandle:
        if self._key_type is not KeyType.SM2:
            raise UnsupportedAlgorithm(f"{self._key_type} keys do not do SM2 encryption")
        handle: Sm2PrivateHandle = self._handle
        return handle

    def __repr__(self) -> str:
        return f"PrivateKey({self._key_type.value}, address={self._public.address().hex()})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("PrivateKey is not picklable; use to_pem()")
