"""Filler accounts: a large authenticated state for ``consortia bench run --state-accounts N``.

Filler ``i`` is an account with one real public key of the run's native key
type: its secret scalar is derived from the index alone,

    d_i = 1 + (SHA-256(b"bench-filler" || u64_be(i)) mod (u - 1))

where ``u`` is the first scalar the key type refuses (``n - 1`` for sm2,
GB/T 32918.1 6.1, and ``n`` otherwise), so ``1 <= d_i < u`` and
``PrivateKey.from_secret`` accepts it. Its address is the key's address. Reruns
therefore put the same fillers in the genesis, and :func:`filler_key` gives
anyone the key of filler ``i``.

Deriving a public key is one scalar multiplication d_i * G, done by the
libraries the node itself uses, in chunks in worker processes: Tongsuo for sm2
(about 300 µs a key), ``cryptography`` for P-256 and ``coincurve`` for secp256k1
(20 - 30 µs a key). Every point is then parsed and checked to lie on its curve by
``PublicKey.from_bytes``, which also gives the address.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Final

import coincurve
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from consortia.crypto import KeyType, PrivateKey, PublicKey, sha256
from consortia.crypto._curves import CURVES
from consortia.crypto._sm2_backend import default_backend
from consortia.modules.accounts.types import AccountKey, GenesisAccount

__all__ = ["FILLER_TAG", "filler_accounts", "filler_key", "filler_points", "filler_secret"]

FILLER_TAG: Final = b"bench-filler"
"""Domain tag of the filler secrets."""
CHUNK: Final = 20_000
"""Most fillers one worker task derives."""
_RECORD: Final = 20 + 65
"""A derived filler as a worker returns it: address || uncompressed point."""


def filler_secret(key_type: KeyType, index: int) -> int:
    """The secret scalar of filler ``index`` (see the module docstring).

    Raises:
        ValueError: ``index`` is negative or does not fit in 64 bits.
    """
    if not 0 <= index < 1 << 64:
        raise ValueError(f"filler index must be in [0, 2^64), got {index}")
    curve = CURVES[key_type]
    upper = curve.n - 1 if key_type is KeyType.SM2 else curve.n
    digest = sha256(FILLER_TAG + index.to_bytes(8, "big"))
    return 1 + int.from_bytes(digest, "big") % (upper - 1)


def filler_key(key_type: KeyType, index: int) -> PrivateKey:
    """The private key of filler ``index`` (slow for sm2: one key at a time)."""
    return PrivateKey.from_secret(key_type, filler_secret(key_type, index).to_bytes(32, "big"))


# ------------------------------------------------------------------ every key type

_P256 = ec.SECP256R1()


def filler_points(key_type: KeyType, start: int, stop: int) -> list[bytes]:
    """Uncompressed public points of fillers ``start`` .. ``stop - 1``, in order."""
    secrets = [filler_secret(key_type, i) for i in range(start, stop)]
    if key_type is KeyType.SM2:
        backend = default_backend()
        return [backend.derive_public(d) for d in secrets]
    if key_type is KeyType.P256:
        return [
            ec.derive_private_key(d, _P256)
            .public_key()
            .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
            for d in secrets
        ]
    return [
        bytes(coincurve.PublicKey.from_secret(d.to_bytes(32, "big")).format(compressed=False))
        for d in secrets
    ]


def _chunk(key_type: str, start: int, stop: int) -> bytes:
    """Worker task: address || point of fillers ``start`` .. ``stop - 1``, each point checked."""
    kind = KeyType(key_type)
    records: list[bytes] = []
    for point in filler_points(kind, start, stop):
        public = PublicKey.from_bytes(kind, point)
        records.append(public.address() + public.to_bytes())
    return b"".join(records)


def filler_accounts(
    key_type: KeyType, count: int, *, workers: int | None = None
) -> tuple[GenesisAccount, ...]:
    """Genesis accounts of fillers 0 .. ``count - 1``, derived in ``workers`` processes.

    Parameters:
        workers: worker processes (default: one per CPU); 1 derives in this process.

    Raises:
        ValueError: ``count`` is negative.
    """
    if count < 0:
        raise ValueError(f"filler count must be >= 0, got {count}")
    if count == 0:
        return ()
    workers = max(1, os.cpu_count() or 1) if workers is None else max(1, workers)
    size = min(CHUNK, math.ceil(count / workers))
    spans = [(start, min(start + size, count)) for start in range(0, count, size)]
    if workers == 1 or len(spans) == 1:
        blobs = [_chunk(key_type.value, start, stop) for start, stop in spans]
    else:
        with ProcessPoolExecutor(min(workers, len(spans))) as pool:
            futures = [pool.submit(_chunk, key_type.value, start, stop) for start, stop in spans]
            blobs = [f.result() for f in futures]
    name = key_type.value
    accounts: list[GenesisAccount] = []
    for blob in blobs:
        for at in range(0, len(blob), _RECORD):
            accounts.append(
                GenesisAccount(
                    address=blob[at : at + 20],
                    keys=(AccountKey(key_type=name, public_key=blob[at + 20 : at + _RECORD]),),
                )
            )
    return tuple(accounts)
