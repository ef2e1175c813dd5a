"""SM2 backend over tongsuopy: cffi calls into its bundled Tongsuo (OpenSSL 1.1.1 core).

Signing and verification use ``EVP_PKEY_sign``/``EVP_PKEY_verify`` on an ``EVP_PKEY``
aliased to ``EVP_PKEY_SM2``, which sign the digest e as given (GB/T 32918.2 steps A3-A7);
ZA and e are computed by the caller. cffi releases the GIL for the duration of each call,
so threads verify in parallel. One ``EVP_PKEY`` is kept per key; each operation gets its
own short-lived ``EVP_PKEY_CTX`` so handles are safe to share between threads.
"""

from __future__ import annotations

from typing import Any

from tongsuopy.backends.tongsuo.backend import backend as _ts
from tongsuopy.crypto.asymciphers import ec as _ts_ec
from tongsuopy.crypto.serialization import Encoding, PublicFormat

from consortia.crypto.errors import DecryptionFailed, InvalidKey

__all__ = ["TongsuoBackend"]

_lib: Any = _ts._lib
_ffi: Any = _ts._ffi
_SIG_MAX = 72


def _as_sm2(evp_pkey: Any) -> Any:
    if (
        _lib.EVP_PKEY_id(evp_pkey) != _lib.EVP_PKEY_SM2
        and _lib.EVP_PKEY_set_alias_type(evp_pkey, _lib.EVP_PKEY_SM2) != 1
    ):
        _lib.ERR_clear_error()
        raise InvalidKey("tongsuo: cannot use key as SM2")
    return evp_pkey


def _ctx(evp_pkey: Any) -> Any:
    ctx = _lib.EVP_PKEY_CTX_new(evp_pkey, _ffi.NULL)
    if ctx == _ffi.NULL:
        _lib.ERR_clear_error()
        raise MemoryError("EVP_PKEY_CTX_new failed")
    return _ffi.gc(ctx, _lib.EVP_PKEY_CTX_free)


class _PublicHandle:
    __slots__ = ("_key", "_pkey")

    def __init__(self, point: bytes) -> None:
        try:
            self._key = _ts_ec.EllipticCurvePublicKey.from_encoded_point(_ts_ec.SM2(), point)
        except ValueError as exc:
            raise InvalidKey(f"tongsuo rejected the SM2 public key: {exc}") from None
        self._pkey = _as_sm2(self._key._evp_pkey)

    def verify_digest(self, digest: bytes, signature: bytes) -> bool:
        ctx = _ctx(self._pkey)
        ok: bool = (
            _lib.EVP_PKEY_verify_init(ctx) == 1
            and _lib.EVP_PKEY_verify(ctx, signature, len(signature), digest, len(digest)) == 1
        )
        if not ok:
            _lib.ERR_clear_error()
        return ok

    def encrypt(self, plaintext: bytes) -> bytes:
        ctx = _ctx(self._pkey)
        outlen = _ffi.new("size_t *")
        if (
            _lib.EVP_PKEY_encrypt_init(ctx) != 1
            or _lib.EVP_PKEY_encrypt(ctx, _ffi.NULL, outlen, plaintext, len(plaintext)) != 1
        ):
            _lib.ERR_clear_error()
            raise RuntimeError("tongsuo: SM2 encryption setup failed")
        buf = _ffi.new("unsigned char[]", outlen[0])
        if _lib.EVP_PKEY_encrypt(ctx, buf, outlen, plaintext, len(plaintext)) != 1:
            _lib.ERR_clear_error()
            raise RuntimeError("tongsuo: SM2 encryption failed")
        return bytes(_ffi.buffer(buf, outlen[0]))


class _PrivateHandle:
    __slots__ = ("_key", "_pkey")

    def __init__(self, secret: int) -> None:
        try:
            self._key = _ts_ec.derive_private_key(secret, _ts_ec.SM2())
        except ValueError as exc:
            raise InvalidKey(f"tongsuo rejected the SM2 private key: {exc}") from None
        self._pkey = _as_sm2(self._key._evp_pkey)

    def sign_digest(self, digest: bytes) -> bytes:
        ctx = _ctx(self._pkey)
        siglen = _ffi.new("size_t *", _SIG_MAX)
        buf = _ffi.new("unsigned char[]", _SIG_MAX)
        if (
            _lib.EVP_PKEY_sign_init(ctx) != 1
            or _lib.EVP_PKEY_sign(ctx, buf, siglen, digest, len(digest)) != 1
        ):
            _lib.ERR_clear_error()
            raise RuntimeError("tongsuo: SM2 signing failed")
        return bytes(_ffi.buffer(buf, siglen[0]))

    def decrypt(self, ciphertext: bytes) -> bytes:
        ctx = _ctx(self._pkey)
        outlen = _ffi.new("size_t *")
        if (
            _lib.EVP_PKEY_decrypt_init(ctx) != 1
            or _lib.EVP_PKEY_decrypt(ctx, _ffi.NULL, outlen, ciphertext, len(ciphertext)) != 1
        ):
            _lib.ERR_clear_error()
            raise DecryptionFailed("SM2 ciphertext is malformed")
        buf = _ffi.new("unsigned char[]", max(outlen[0], 1))
        if _lib.EVP_PKEY_decrypt(ctx, buf, outlen, ciphertext, len(ciphertext)) != 1:
            _lib.ERR_clear_error()
            raise DecryptionFailed("SM2 decryption failed (C3 mismatch or bad ciphertext)")
        return bytes(_ffi.buffer(buf, outlen[0]))


class TongsuoBackend:
    """SM2 through tongsuopy's Tongsuo; the default (fastest verify, releases the GIL)."""

    name = "tongsuo"
    releases_gil = True

    def public_key(self, point: bytes) -> _PublicHandle:
        """Parse a validated 65-byte uncompressed point into an ``EVP_PKEY``."""
        return _PublicHandle(point)

    def private_key(self, secret: int, point: bytes) -> _PrivateHandle:
        """Build an ``EVP_PKEY`` from the scalar (the point is implied)."""
        del point
        return _PrivateHandle(secret)

    def derive_public(self, secret: int) -> bytes:
        """Return secret*G, uncompressed."""
        key = _ts_ec.derive_private_key(secret, _ts_ec.SM2())
        out: bytes = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return out
